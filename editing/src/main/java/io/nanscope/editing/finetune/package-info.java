/**
 * Fine-tuning one weight per edited layer (FT-L and FT-M, EasyEdit's {@code models/ft}): Adam on
 * the whole {@code down_proj} weight with EasyEdit's losses and norm constraint.
 *
 * <p>May import: java.base, engine, llama, editing.hparams, editing.request, editing.keys,
 * editing.session.
 */
package io.nanscope.editing.finetune;
