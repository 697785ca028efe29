/**
 * What ROME and MEMIT share: subject key k*, target value v*, context templates.
 *
 * <p>May import: java.base, engine, llama, editing.request, editing.hparams.
 */
package io.nanscope.editing.keys;
