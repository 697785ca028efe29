package io.nanscope.engine.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The vector kernels against the JDK's FP16 conversions (an independent implementation, HotSpot
 * intrinsics) and against their own scalar twins, bit for bit. BF16 has no JDK reference; its twin
 * is checked against an exact reference in {@code io.nanscope.engine.format.RoundingReferenceTest}.
 */
class RoundingKernelsTest {

  private static final int CHUNK = 1 << 20;

  /**
   * {@code -Pexhaustive} (system property nanscope.exhaustive): all 2^32 floats instead of 2^28.
   */
  private static final boolean EXHAUSTIVE = Boolean.getBoolean("nanscope.exhaustive");

  /** Middle-bit patterns (float bits 13..19) of the stratified sample. */
  private static final int[] MIDDLE = {0x00, 0x01, 0x02, 0x2A, 0x40, 0x55, 0x7E, 0x7F};

  /**
   * Both FP16 encoders and rounders (arrays: JDK-intrinsic path; segments: integer lanes) vs {@link
   * Float#floatToFloat16}. Default: a 2^28 stratified sample — every value of the top 12 bits
   * (sign, exponent, 3 mantissa bits) × 8 patterns of bits 13..19 × all 2^13 values of the low 13
   * bits, which hold FP16's round and sticky bits (~5 s CPU). With {@code -Pexhaustive}: all 2^32
   * floats (~45 s CPU).
   */
  @Test
  void fp16EncodeMatchesJdkOnAllFloats() {
    int n = EXHAUSTIVE ? CHUNK : 1 << 16; // per top-12-bit prefix
    long mismatches =
        IntStream.range(0, 1 << 12)
            .parallel()
            .mapToLong(chunk -> {
              float[] src = new float[n];
              short[] dst = new short[n];
              float[] rounded = new float[n];
              int base = chunk << 20;
              for (int i = 0; i < n; i++) {
                int low = EXHAUSTIVE ? i : (MIDDLE[(i >>> 13) & 7] << 13) | (i & 0x1FFF);
                src[i] = Float.intBitsToFloat(base + low);
              }
              // arrays take the JDK-intrinsic path, segments the integer-lane kernels: check both
              RoundingKernels.fp16Encode(src, 0, dst, 0, n);
              System.arraycopy(src, 0, rounded, 0, n);
              RoundingKernels.fp16RoundInPlace(rounded, 0, n);
              short[] dstLanes = new short[n];
              float[] roundedLanes = new float[n];
              try (Arena arena = Arena.ofConfined()) {
                MemorySegment h = arena.allocate(2L * n);
                MemorySegment f = arena.allocate(4L * n);
                RoundingKernels.fp16Encode(src, 0, h, 0, n);
                MemorySegment.copy(src, 0, f, ValueLayout.JAVA_FLOAT, 0, n);
                RoundingKernels.fp16RoundInPlace(f, 0, n);
                MemorySegment.copy(h, ValueLayout.JAVA_SHORT, 0, dstLanes, 0, n);
                MemorySegment.copy(f, ValueLayout.JAVA_FLOAT, 0, roundedLanes, 0, n);
              }
              long bad = 0;
              for (int i = 0; i < n; i++) {
                float x = src[i];
                short want = Float.floatToFloat16(x);
                boolean ok;
                if (Float.isNaN(x)) {
                  ok =
                      dst[i] == (short) 0x7E00
                          && Float.floatToRawIntBits(rounded[i]) == 0x7FC00000
                          && dstLanes[i] == (short) 0x7E00
                          && Float.floatToRawIntBits(roundedLanes[i]) == 0x7FC00000;
                } else {
                  int wantRounded = Float.floatToRawIntBits(Float.float16ToFloat(want));
                  ok =
                      dst[i] == want
                          && dstLanes[i] == want
                          && Float.floatToRawIntBits(rounded[i]) == wantRounded
                          && Float.floatToRawIntBits(roundedLanes[i]) == wantRounded;
                }
                if (!ok) {
                  if (bad < 5) {
                    System.err.printf(
                        "fp16 mismatch x=%s (0x%08x): arrays 0x%04x / %s, segments 0x%04x / %s, JDK 0x%04x%n",
                        x,
                        Float.floatToRawIntBits(x),
                        dst[i],
                        rounded[i],
                        dstLanes[i],
                        roundedLanes[i],
                        want);
                  }
                  bad++;
                }
              }
              return bad;
            })
            .sum();
    assertThat(mismatches).isZero();
  }

  /**
   * The scalar twin is also the tail path: check it on a 2^24 stride sample plus every FP16
   * boundary.
   */
  @Test
  void fp16ScalarTwinMatchesJdk() {
    for (long bits = 0; bits <= 0xFFFFFFFFL; bits += 251) {
      assertTwin(Float.intBitsToFloat((int) bits));
    }
    for (int h = 0; h < 0x10000; h++) {
      // every FP16 value, and the midpoints to its neighbours (ties) ± one float ulp
      float v = Float.float16ToFloat((short) h);
      float next = Float.float16ToFloat((short) (h + 1));
      float mid = (float) (((double) v + next) / 2);
      for (float x : new float[] {v, mid, Math.nextUp(mid), Math.nextDown(mid)}) {
        assertTwin(x);
      }
    }
  }

  private static void assertTwin(float x) {
    short got = RoundingKernels.fp16Encode(x);
    int rounded = Float.floatToRawIntBits(RoundingKernels.fp16Round(x));
    if (Float.isNaN(x)) {
      assertThat(got).isEqualTo((short) 0x7E00);
      assertThat(rounded).isEqualTo(0x7FC00000);
    } else if (rounded != Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(x)))) {
      throw new AssertionError("twin fp16Round(" + x + ") = " + Float.intBitsToFloat(rounded));
    } else if (got != Float.floatToFloat16(x)) {
      throw new AssertionError(
          "twin fp16Encode(" + x + ") = " + got + ", JDK " + Float.floatToFloat16(x));
    }
  }

  @Test
  void decodersMatchJdkAndDefinitionOnAllPatterns() {
    short[] all = new short[1 << 16];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    float[] f16 = new float[all.length];
    float[] b16 = new float[all.length];
    RoundingKernels.fp16Decode(all, 0, f16, 0, all.length);
    RoundingKernels.bf16Decode(all, 0, b16, 0, all.length);
    for (int i = 0; i < all.length; i++) {
      int jdk = Float.floatToRawIntBits(Float.float16ToFloat((short) i));
      if ((i & 0x7C00) == 0x7C00 && (i & 0x3FF) != 0) {
        // NaN: payload shifted into place, quiet bit set (what the JDK intrinsic gives on x86)
        jdk = (i & 0x8000) << 16 | 0x7FC00000 | (i & 0x3FF) << 13;
      }
      assertThat(Float.floatToRawIntBits(f16[i])).as("fp16 0x%04x", i).isEqualTo(jdk);
      assertThat(Float.floatToRawIntBits(RoundingKernels.fp16Decode((short) i))).isEqualTo(jdk);
      assertThat(Float.floatToRawIntBits(b16[i])).as("bf16 0x%04x", i).isEqualTo(i << 16);
      assertThat(Float.floatToRawIntBits(RoundingKernels.bf16Decode((short) i))).isEqualTo(i << 16);
    }
  }

  /** Inputs that exercise every branch: random bits, specials, FP16/BF16 ties and limits. */
  static float[] adversarial(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Float> specials = new ArrayList<>();
    for (float v :
        new float[] {
          0f,
          -0f,
          Float.NaN,
          Float.intBitsToFloat(0xFFC12345),
          Float.intBitsToFloat(0x7F800001),
          Float.POSITIVE_INFINITY,
          Float.NEGATIVE_INFINITY,
          65504f,
          65519.996f,
          65520f,
          -65520f,
          0x1p-14f,
          0x1p-24f,
          0x1p-25f,
          0x1.8p-25f,
          0x1.004p0f,
          0x1.006p0f,
          Float.MAX_VALUE,
          -Float.MAX_VALUE,
          Float.MIN_VALUE,
          0x1.fffep127f,
          0x1.ff8p127f,
          0x1.0081p0f,
          0x1.018p0f
        }) {
      specials.add(v);
    }
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      int k = rnd.nextInt(4);
      a[i] =
          k == 0 && !specials.isEmpty()
              ? specials.get(rnd.nextInt(specials.size()))
              : k == 1
                  ? (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, 18))
                  : Float.intBitsToFloat(rnd.nextInt());
    }
    return a;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 31, 33, 4095, 1 << 20})
  void bulkEqualsScalarTwinBitForBit(int n) {
    int off = 3; // unaligned start
    float[] src = adversarial(n + off, n);
    short[] h = new short[n + off];
    short[] b = new short[n + off];
    RoundingKernels.fp16Encode(src, off, h, off, n);
    RoundingKernels.bf16Encode(src, off, b, off, n);
    float[] hr = src.clone();
    float[] br = src.clone();
    RoundingKernels.fp16RoundInPlace(hr, off, off + n);
    RoundingKernels.bf16RoundInPlace(br, off, off + n);
    float[] hd = new float[n + off];
    float[] bd = new float[n + off];
    RoundingKernels.fp16Decode(h, off, hd, off, n);
    RoundingKernels.bf16Decode(b, off, bd, off, n);
    try (Arena arena = Arena.ofConfined()) {
      long bytes = 4L * (n + off);
      MemorySegment hs = arena.allocate(bytes);
      MemorySegment bs = arena.allocate(bytes);
      MemorySegment fh = arena.allocate(bytes);
      MemorySegment fb = arena.allocate(bytes);
      RoundingKernels.fp16Encode(src, off, hs, 2L * off + 1, n); // odd byte offset: unaligned lanes
      RoundingKernels.bf16Encode(src, off, bs, 2L * off + 1, n);
      MemorySegment.copy(src, 0, fh, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n + off);
      MemorySegment.copy(src, 0, fb, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n + off);
      RoundingKernels.fp16RoundInPlace(fh, 4L * off, n);
      RoundingKernels.bf16RoundInPlace(fb, 4L * off, n);
      float[] hsd = new float[n + off];
      float[] bsd = new float[n + off];
      RoundingKernels.fp16Decode(hs, 2L * off + 1, hsd, off, n);
      RoundingKernels.bf16Decode(bs, 2L * off + 1, bsd, off, n);
      for (int i = off; i < n + off; i++) {
        float x = src[i];
        short wantH = RoundingKernels.fp16Encode(x);
        short wantB = RoundingKernels.bf16Encode(x);
        int wantHr = Float.floatToRawIntBits(RoundingKernels.fp16Decode(wantH));
        int wantBr = Float.floatToRawIntBits(RoundingKernels.bf16Decode(wantB));
        String at = "i=" + i + " x=" + x;
        assertThat(h[i]).as(at).isEqualTo(wantH);
        assertThat(b[i]).as(at).isEqualTo(wantB);
        assertThat(hs.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i + 1)).as(at).isEqualTo(wantH);
        assertThat(bs.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i + 1)).as(at).isEqualTo(wantB);
        assertThat(Float.floatToRawIntBits(hr[i])).as(at).isEqualTo(wantHr);
        assertThat(Float.floatToRawIntBits(br[i])).as(at).isEqualTo(wantBr);
        assertThat(Float.floatToRawIntBits(fh.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)))
            .as(at)
            .isEqualTo(wantHr);
        assertThat(Float.floatToRawIntBits(fb.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)))
            .as(at)
            .isEqualTo(wantBr);
        assertThat(Float.floatToRawIntBits(hd[i]))
            .as(at)
            .isEqualTo(Float.floatToRawIntBits(RoundingKernels.fp16Decode(h[i])));
        assertThat(Float.floatToRawIntBits(bd[i])).as(at).isEqualTo(wantBr);
        assertThat(Float.floatToRawIntBits(hsd[i]))
            .as(at)
            .isEqualTo(Float.floatToRawIntBits(hd[i]));
        assertThat(Float.floatToRawIntBits(bsd[i])).as(at).isEqualTo(wantBr);
      }
      // elements outside [off, off + n) are untouched
      for (int i = 0; i < off; i++) {
        assertThat(h[i]).isZero();
        assertThat(Float.floatToRawIntBits(hr[i])).isEqualTo(Float.floatToRawIntBits(src[i]));
        assertThat(Float.floatToRawIntBits(fb.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)))
            .isEqualTo(Float.floatToRawIntBits(src[i]));
      }
    }
  }

  /**
   * The fused encoders (16-bit output + the source's NaNs made canonical in one pass) vs the JDK's
   * {@link Float#floatToFloat16} (FP16, NaN → the canonical 0x7E00) and the BF16 twin (checked
   * exactly in RoundingReferenceTest), and vs their own scalar twins; the source afterwards holds
   * every non-NaN float bit for bit and {@link Float#NaN} for every NaN (negative NaNs and payloads
   * included).
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095, 5000})
  void encodeCanonicalStoresTheEncodingAndCanonicalNaNs(int n) {
    int off = 5; // unaligned start
    float[] src = adversarial(n + off, 17 + n);
    float[][] sources = {src.clone(), src.clone(), src.clone(), src.clone()};
    short[][] dst = new short[4][n + off];
    RoundingKernels.fp16EncodeCanonical(sources[0], off, dst[0], off, n);
    RoundingKernels.fp16EncodeCanonicalScalar(sources[1], off, dst[1], off, n);
    RoundingKernels.bf16EncodeCanonical(sources[2], off, dst[2], off, n);
    RoundingKernels.bf16EncodeCanonicalScalar(sources[3], off, dst[3], off, n);
    for (int i = 0; i < n + off; i++) {
      float x = src[i];
      String at = "i=" + i + " x=0x" + Integer.toHexString(Float.floatToRawIntBits(x));
      boolean inside = i >= off;
      short wantH = !inside ? 0 : Float.isNaN(x) ? (short) 0x7E00 : Float.floatToFloat16(x);
      short wantB = !inside ? 0 : RoundingKernels.bf16Encode(x);
      int wantSrc =
          inside && Float.isNaN(x) ? 0x7FC00000 : Float.floatToRawIntBits(x); // outside: untouched
      assertThat(dst[0][i]).as("fp16 " + at).isEqualTo(wantH);
      assertThat(dst[1][i]).as("fp16 twin " + at).isEqualTo(wantH);
      assertThat(dst[2][i]).as("bf16 " + at).isEqualTo(wantB);
      assertThat(dst[3][i]).as("bf16 twin " + at).isEqualTo(wantB);
      for (int k = 0; k < 4; k++) {
        assertThat(Float.floatToRawIntBits(sources[k][i]))
            .as("source " + k + " " + at)
            .isEqualTo(wantSrc);
      }
    }
  }
}
