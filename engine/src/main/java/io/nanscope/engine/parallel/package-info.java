/**
 * Deterministic work splitting over independent rows and heads; never splits one reduction across
 * threads. Not exported.
 *
 * <p>May import: java.base.
 */
package io.nanscope.engine.parallel;
