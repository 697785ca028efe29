/**
 * AlphaEdit (Fang et al., ICLR 2025): MEMIT's edit projected onto the null space of the preserved
 * keys, with the keys of earlier edits kept for sequential editing.
 *
 * <p>May import: java.base, engine, llama, editing.keys, editing.hparams, editing.request,
 * editing.stats, editing.session (not other algorithms).
 */
package io.nanscope.editing.alphaedit;
