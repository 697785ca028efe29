/**
 * SentencePiece-style BPE tokenizers read from tokenizer.json, tokenizer.model (protobuf) and
 * llama2.c tokenizer.bin.
 *
 * <p>May import: java.base, tools.jackson, engine.io (the atomic file writer).
 */
package io.nanscope.llama.tokenizer;
