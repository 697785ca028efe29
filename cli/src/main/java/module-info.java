/**
 * nanscope cli: the command line. The only code that reads flags, environment variables and default
 * paths.
 */
module io.nanscope.cli {
  requires io.nanscope.editing;
  requires io.nanscope.report;
  requires info.picocli;
  requires me.tongfei.progressbar;
  requires tools.jackson.databind;

  opens io.nanscope.cli to
      info.picocli;
}
