/**
 * Saving a model as a Hugging Face directory ({@link io.nanscope.editing.save.HfDirectory}, shared
 * by {@code convert} and {@code edit --save}) and an edited model with its edit manifest, so that
 * {@link io.nanscope.editing.save.SavedEdit#revert} can restore the original bit for bit.
 *
 * <p>May import: java.base, tools.jackson, engine, llama, editing.request, editing.session.
 */
package io.nanscope.editing.save;
