/**
 * Typed hyperparameter records per algorithm, read from EasyEdit's YAML files as they are.
 *
 * <p>May import: java.base, tools.jackson, engine (Policies resolves precision policies).
 */
package io.nanscope.editing.hparams;
