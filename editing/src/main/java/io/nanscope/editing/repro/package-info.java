/**
 * The fp16 NaN reproduction scenarios, the transactional precision fallback and reports.
 *
 * <p>May import: java.base, tools.jackson, engine, llama, every editing package.
 */
package io.nanscope.editing.repro;
