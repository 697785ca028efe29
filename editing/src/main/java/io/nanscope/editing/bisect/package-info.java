/**
 * Precision bisection: the smallest set of named sites that must run in a wider format for an edit
 * run to finish finite and close to its FP32 run (delta debugging over sites, seeded by headroom),
 * emitted as a precision policy, with Polygraphy's first-N-layers search beside it for comparison.
 * It returns data (trials, sets, policy text); printing and drawing live in the report module.
 *
 * <p>May import: java.base, engine, llama, every editing package.
 */
package io.nanscope.editing.bisect;
