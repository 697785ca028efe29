/**
 * Tape (Wengert list), gradients where asked, optimisers (Adam, SGD) with their own state format,
 * dynamic loss scaling.
 *
 * <p>May import: java.base, engine.format, engine.tensor, engine.trace.
 */
package io.nanscope.engine.autograd;
