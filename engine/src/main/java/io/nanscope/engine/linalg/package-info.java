/**
 * FP64 dense linear algebra for editing (Cholesky and LU solves, symmetric eigendecomposition),
 * thin adapters over EJML.
 *
 * <p>May import: java.base, EJML (org.ejml: ejml-core, ejml-ddense).
 */
package io.nanscope.engine.linalg;
