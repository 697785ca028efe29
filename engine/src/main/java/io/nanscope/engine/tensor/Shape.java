package io.nanscope.engine.tensor;

import java.util.Arrays;

/**
 * The dimensions of a contiguous row-major tensor. Sizes are {@code long} and computed with {@link
 * Math#multiplyExact} so that a 7B model's tensors cannot overflow silently (llm.c#700).
 */
public final class Shape {

  private final long[] dims;
  private final long size;

  private Shape(long[] dims) {
    long n = 1;
    for (int i = 0; i < dims.length; i++) {
      if (dims[i] < 0) {
        throw new IllegalArgumentException(
            "dimension " + i + " of shape " + Arrays.toString(dims) + " is negative");
      }
      try {
        n = Math.multiplyExact(n, dims[i]);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(dims) + " has more than 2^63 elements", e);
      }
    }
    this.dims = dims;
    this.size = n;
  }

  public static Shape of(long... dims) {
    return new Shape(dims.clone());
  }

  public int rank() {
    return dims.length;
  }

  public long dim(int axis) {
    return dims[axis < 0 ? dims.length + axis : axis];
  }

  /** The dimension as an int, for loops over one axis; fails if it does not fit. */
  public int intDim(int axis) {
    return Math.toIntExact(dim(axis));
  }

  /** Number of elements (1 for a scalar of rank 0). */
  public long size() {
    return size;
  }

  public long[] dims() {
    return dims.clone();
  }

  /** Row-major stride of each axis, in elements. */
  public long[] strides() {
    long[] s = new long[dims.length];
    long acc = 1;
    for (int i = dims.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc = Math.multiplyExact(acc, dims[i]);
    }
    return s;
  }

  /** Product of all dimensions but the last: the number of rows of a row-major matrix view. */
  public long rows() {
    return dims.length == 0 ? 1 : size / Math.max(1, dims[dims.length - 1]);
  }

  /** The last dimension (1 for a scalar). */
  public long cols() {
    return dims.length == 0 ? 1 : dims[dims.length - 1];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Shape s && Arrays.equals(dims, s.dims);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(dims);
  }

  /** Like PyTorch: {@code (2, 3)}. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("(");
    for (int i = 0; i < dims.length; i++) {
      b.append(i == 0 ? "" : ", ").append(dims[i]);
    }
    return b.append(dims.length == 1 ? ",)" : ")").toString();
  }
}
