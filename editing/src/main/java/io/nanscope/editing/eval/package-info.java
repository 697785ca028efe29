/**
 * Rewrite, rephrase, portability, locality and fluency metrics, EasyEdit-shaped results.
 *
 * <p>May import: java.base, engine, llama, editing.request.
 */
package io.nanscope.editing.eval;
