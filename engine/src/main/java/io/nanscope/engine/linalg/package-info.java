/**
 * FP64 dense linear algebra for editing (Cholesky solve, SVD) or thin adapters.
 *
 * <p>May import: java.base, EJML (org.ejml: ejml-core, ejml-ddense).
 */
package io.nanscope.engine.linalg;
