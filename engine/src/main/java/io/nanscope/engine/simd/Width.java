package io.nanscope.engine.simd;

import jdk.incubator.vector.FloatVector;

/**
 * Which blocked GEMM this JVM runs: {@link LaneSplitGemm} with 512-bit vectors (16 outputs per
 * register, each output's 8 canonical lane sums in separate accumulators) or {@link
 * GemmKernel#blockedDot} with 256-bit vectors (one output's 8 lanes per register). Both give the
 * same bits (the reduction order is defined on 8 lanes per output, {@link Lanes}); only the speed
 * differs, so the choice is made once, at class initialisation ({@code static final}: C2 folds the
 * branch).
 *
 * <p>The default is 512 where the JVM's preferred float species is at least 512 bits (the CPU has
 * AVX-512 and HotSpot uses it), else 256. {@code -Dnanscope.simd.width=512} or {@code 256} forces
 * one (on a CPU without AVX-512 the 512-bit species is emulated: correct, slow).
 */
final class Width {

  /** The system property that selects the width: {@code 256} or {@code 512}. */
  static final String PROPERTY = "nanscope.simd.width";

  /** True when the blocked GEMM runs the 512-bit {@link LaneSplitGemm}. */
  static final boolean WIDE =
      wide(System.getProperty(PROPERTY), FloatVector.SPECIES_PREFERRED.vectorBitSize());

  private Width() {}

  /** The decision from the property's value (null when unset) and the preferred vector bits. */
  static boolean wide(String value, int preferredBits) {
    if (value == null) {
      return preferredBits >= 512;
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
