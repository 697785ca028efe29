package io.nanscope.engine.simd;

/**
 * Which GEMM micro-kernel this JVM runs: 512-bit vectors holding the 8 lanes of two outputs ({@link
 * GemmKernel#kernelPairs}) or 256-bit vectors holding one ({@link GemmKernel#kernel4x4}). Both give
 * the same bits (the reduction order is defined on 8 lanes per output, {@link Lanes}); only the
 * speed differs, so the choice is made once, at class initialisation ({@code static final}: C2
 * folds the branch).
 *
 * <p>The default is 256: on the machines measured so far the pair kernel was no faster in the
 * blocked GEMM (Zen 4, whose 512-bit FMA is two 256-bit halves; an Intel Xeon with AVX-512 under
 * KVM, where it is bound by the L2 bandwidth of its B panel: docs/kernels.md). {@code
 * -Dnanscope.simd.width=512} selects it where the CPU has AVX-512 (on a CPU without, the 512-bit
 * species is emulated: correct, slow); {@code 256} forces the default.
 */
final class Width {

  /** The system property that selects the width: {@code 256} or {@code 512}. */
  static final String PROPERTY = "nanscope.simd.width";

  /** True when the GEMM runs the 512-bit pair kernel. */
  static final boolean WIDE = wide(System.getProperty(PROPERTY));

  private Width() {}

  /** The decision from the property's value (null when unset). */
  static boolean wide(String value) {
    if (value == null) {
      return false;
    }
    return switch (value.strip()) {
      case "512" -> true;
      case "256" -> false;
      default ->
          throw new IllegalArgumentException(
              "-D" + PROPERTY + " must be 256 or 512, got '" + value + "'");
    };
  }

  /** 512 or 256. */
  static int bits() {
    return WIDE ? 512 : 256;
  }
}
