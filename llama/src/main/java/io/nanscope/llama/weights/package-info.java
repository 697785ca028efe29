/**
 * LlamaWeights records, readers (safetensors with mmap and sharded index, llama2.c .bin), writer
 * (safetensors) and WeightNames, the single HF-to-ours name table.
 *
 * <p>May import: java.base, tools.jackson, engine, llama.config.
 */
package io.nanscope.llama.weights;
