/**
 * Second moment C = E[k kT] with provenance; EasyEdit-compatible .npz read and write.
 *
 * <p>May import: java.base, engine, llama, editing.keys, tools.jackson (provenance JSON, JSONL corpora).
 */
package io.nanscope.editing.stats;
