package io.nanscope.engine.simd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.incubator.vector.FloatVector;

/**
 * Which GEMM micro-kernel this JVM runs: 512-bit vectors holding the 8 lanes of two outputs
 * ({@link Gemm#kernelPairs}) or 256-bit vectors holding one ({@link Gemm#kernel4x4}). Both give
 * the same bits (the reduction order is defined on 8 lanes per output, {@link Lanes}); only the
 * speed differs, so the choice is made once, at class initialisation, from the machine:
 *
 * <ul>
 *   <li>{@code -Dnanscope.simd.width=256} or {@code 512} forces one (for comparisons and tests);
 *   <li>else 512 when the Vector API's preferred species is 512 bits wide (the CPU has AVX-512)
 *       and the CPU is not an AMD family 0x19 (Zen 3/4), whose AVX-512 runs each 512-bit FMA as two
 *       256-bit halves: there the pair kernel measured no faster (docs/kernels.md);
 *   <li>else 256.
 * </ul>
 */
final class Width {

  /** The system property that forces the width: {@code 256} or {@code 512}. */
  static final String PROPERTY = "nanscope.simd.width";

  /** True when the GEMM runs the 512-bit pair kernel. */
  static final boolean WIDE = wide(System.getProperty(PROPERTY), FloatVector.SPECIES_PREFERRED.vectorBitSize(), cpuInfo());

  private Width() {}

  /** The decision above, from the property (or null), the preferred bit size and /proc/cpuinfo. */
  static boolean wide(String forced, int preferredBits, List<String> cpuinfo) {
    if (forced != null) {
      return switch (forced.strip()) {
        case "512" -> true;
        case "256" -> false;
        default ->
            throw new IllegalArgumentException(
                "-D" + PROPERTY + " must be 256 or 512, got '" + forced + "'");
      };
    }
    return preferredBits >= 512 && !halfWidthAvx512(cpuinfo);
  }

  /** AMD family 0x19 (Zen 3 and Zen 4: 512-bit operations on 256-bit units). */
  static boolean halfWidthAvx512(List<String> cpuinfo) {
    String vendor = field(cpuinfo, "vendor_id");
    String family = field(cpuinfo, "cpu family");
    return "AuthenticAMD".equals(vendor) && "25".equals(family);
  }

  private static String field(List<String> cpuinfo, String name) {
    for (String line : cpuinfo) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).strip().equals(name)) {
        return line.substring(colon + 1).strip();
      }
    }
    return null;
  }

  private static List<String> cpuInfo() {
    try {
      Path p = Path.of("/proc/cpuinfo");
      if (!Files.isReadable(p)) {
        return List.of();
      }
      try (var lines = Files.lines(p)) {
        return lines.limit(64).toList(); // the first processor's block
      }
    } catch (IOException | RuntimeException e) {
      return List.of(); // not Linux, or not readable: decide from the preferred width alone
    }
  }

  /** 512 or 256. */
  static int bits() {
    return WIDE ? 512 : 256;
  }
}
