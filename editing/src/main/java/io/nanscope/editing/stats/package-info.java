/**
 * Second moment C = E[k kT] with provenance; EasyEdit-compatible .npz read and write.
 *
 * <p>May import: java.base, engine, llama, editing.keys, editing.hparams (the mom2 settings),
 * tools.jackson (provenance JSON, JSONL corpora).
 */
package io.nanscope.editing.stats;
