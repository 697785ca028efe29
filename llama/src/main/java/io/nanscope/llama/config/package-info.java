/**
 * LlamaConfig from a HF config.json or a llama2.c header.
 *
 * <p>May import: java.base, tools.jackson, engine.
 */
package io.nanscope.llama.config;
