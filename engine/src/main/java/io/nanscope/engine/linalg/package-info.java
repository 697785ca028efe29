/**
 * FP64 dense linear algebra for editing (Cholesky solve, SVD) or thin adapters.
 *
 * <p>May import: java.base.
 */
package io.nanscope.engine.linalg;
