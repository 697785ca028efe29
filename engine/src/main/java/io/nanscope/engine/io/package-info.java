/**
 * Writing files so that readers never see half of one: {@link io.nanscope.engine.io.AtomicFile} is
 * the one writer of every file nanscope produces.
 *
 * <p>May import: java.base.
 */
package io.nanscope.engine.io;
