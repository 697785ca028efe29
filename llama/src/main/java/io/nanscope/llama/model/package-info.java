/**
 * LlamaModel forward (sequence mode on the tape, decode mode with KV cache), named sites and the
 * hooks editing needs.
 *
 * <p>May import: java.base, engine, llama.config, llama.weights.
 */
package io.nanscope.llama.model;
