/**
 * MEMIT (Meng et al. 2023): many edits at once, spread over several layers by least squares with
 * the key second moment as a prior.
 *
 * <p>May import: java.base, engine, llama, editing.keys, editing.hparams, editing.request,
 * editing.stats, editing.session (not other algorithms).
 */
package io.nanscope.editing.memit;
