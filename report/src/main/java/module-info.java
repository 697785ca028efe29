/**
 * nanscope report: the presentation. Draws what the library measured (trace rows, ROME step logs,
 * edit summaries) as self-contained HTML pages with inline SVG and PNG copies of the plots.
 */
module io.nanscope.report {
  requires transitive io.nanscope.editing;
  requires tools.jackson.databind;
  requires java.desktop;
  requires xchart;

  exports io.nanscope.report;
  exports io.nanscope.report.run;
}
