/**
 * nanscope editing: knowledge editing on the Llama model, evaluation, and the fp16 NaN
 * reproduction.
 */
module io.nanscope.editing {
  requires transitive io.nanscope.llama;
  requires tools.jackson.databind;
  requires tools.jackson.dataformat.yaml;

  exports io.nanscope.editing.request;
  exports io.nanscope.editing.hparams;
  exports io.nanscope.editing.keys;
  exports io.nanscope.editing.stats;
  exports io.nanscope.editing.rome;
  exports io.nanscope.editing.memit;
  exports io.nanscope.editing.alphaedit;
  exports io.nanscope.editing.finetune;
  exports io.nanscope.editing.eval;
  exports io.nanscope.editing.session;
  exports io.nanscope.editing.repro;
}
