/**
 * Samplers (greedy, temperature, top-k, top-p, multinomial with PyTorch's validation), the
 * generator and scoring.
 *
 * <p>May import: java.base, engine, llama.config, llama.model, llama.tokenizer.
 */
package io.nanscope.llama.generate;
