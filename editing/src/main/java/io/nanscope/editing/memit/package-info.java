/**
 * MEMIT (Meng et al. 2023): many edits at once, spread over several layers by least squares with
 * the key second moment as a prior.
 *
 * <p>May import: engine, llama, editing.keys/hparams/request/stats. Not other algorithms.
 */
package io.nanscope.editing.memit;
