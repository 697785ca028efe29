/**
 * ROME (Meng et al. 2022): rank-one update of W_down in the paper's notation.
 *
 * <p>May import: java.base, engine, llama, editing.keys, editing.stats, editing.hparams,
 * editing.request, editing.session (RomeEditor is a session Editor).
 */
package io.nanscope.editing.rome;
