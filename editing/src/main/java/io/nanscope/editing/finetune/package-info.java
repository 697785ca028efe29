/**
 * Fine-tuning one weight per edited layer (FT-L and FT-M, EasyEdit's {@code models/ft}): Adam on
 * the whole {@code down_proj} weight with EasyEdit's losses and norm constraint. May import {@code
 * engine}, {@code llama}, and {@code editing.hparams}, {@code request}, {@code keys} (the log);
 * never another algorithm's package.
 */
package io.nanscope.editing.finetune;
