/**
 * LlamaModel forward (sequence mode on the tape, decode mode with KV cache), named sites and the
 * hooks editing needs. The FP32 decode step (Fp32Decoder) uses the ops' row kernels (engine.op's
 * Fp32Rows), not the engine's internal kernel packages.
 *
 * <p>May import: java.base, engine, llama.config, llama.weights.
 */
package io.nanscope.llama.model;
