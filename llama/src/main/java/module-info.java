/** nanscope llama: the Llama-2 model, its loaders, tokenizers and generation. */
module io.nanscope.llama {
  requires transitive io.nanscope.engine;
  requires tools.jackson.databind;

  exports io.nanscope.llama.config;
  exports io.nanscope.llama.weights;
  exports io.nanscope.llama.tokenizer;
  exports io.nanscope.llama.model;
  exports io.nanscope.llama.generate;
  exports io.nanscope.llama.trace;
}
