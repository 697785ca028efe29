package io.nanscope.engine.simd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bit census ({@link StatsKernels#census16}, {@link StatsKernels#census32}) and their scalar
 * twins against an independent reference: the 16-bit values decoded by the JDK ({@link
 * Float#float16ToFloat}) or by the BF16 definition (the top half of a float), then counted by the
 * float census's scalar twin {@link StatsKernels#addScalar}. A common block must give the same
 * counts and extremes; any other block (a NaN or ±inf stored, a NaN, ±inf or beyond-maxFinite
 * unrounded value) must be refused with nothing added. Exact: counts and bit patterns.
 */
class StatsBitCensusTest {

  private record Limits(String name, int inf16, int minNormal16, float maxFinite, float minNormal) {
    float decode(short h) {
      return name.equals("fp16") ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
    }
  }

  private static final Limits FP16 = new Limits("fp16", 0x7c00, 0x0400, 65504f, 0x1p-14f);
  private static final Limits BF16 = new Limits("bf16", 0x7f80, 0x0080, 0x1.fep127f, 0x1p-126f);

  private static final int[] SIZES = {1, 7, 31, 33, 4095};

  /** Specials of each 16-bit format: ±0, subnormals, minNormal, maxFinite, ±inf, NaNs. */
  private static short[] specials(Limits f) {
    int inf = f.inf16, minN = f.minNormal16;
    return new short[] {
      0,
      (short) 0x8000,
      1,
      (short) 0x8001,
      (short) (minN - 1),
      (short) minN,
      (short) (minN | 0x8000),
      (short) (inf - 1),
      (short) ((inf - 1) | 0x8000),
      (short) inf,
      (short) (inf | 0x8000),
      (short) (inf + 1),
      (short) (inf | 0x8000 | 0x40),
      (short) 0x7fff
    };
  }

  private static boolean rare(short h, Limits f) {
    return (h & 0x7fff) >= f.inf16;
  }

  /** A block of finite 16-bit values and unrounded values near them; some zeros underflowed. */
  private static void commonBlock(SplittableRandom rnd, Limits f, short[] x, float[] u, int off) {
    short[] sp = specials(f);
    for (int i = off; i < x.length; i++) {
      short h;
      do {
        h = rnd.nextInt(3) == 0 ? sp[rnd.nextInt(sp.length)] : (short) rnd.nextInt(1 << 16);
      } while (rare(h, f));
      x[i] = h;
      float v = f.decode(h);
      int r = rnd.nextInt(5);
      u[i] =
          r == 0 && v == 0
              ? (rnd.nextBoolean() ? 1e-30f : -0f) // underflowed, or an exact zero
              : r == 1 && Math.abs(v) < f.maxFinite ? Math.nextUp(v) : v;
    }
  }

  /** The reference: decoded, counted by the float census's scalar twin. */
  private static StatsKernels.Census reference(Limits f, short[] x, float[] u, int off, int n) {
    float[] xf = new float[n];
    float[] uf = u == null ? null : new float[n];
    for (int i = 0; i < n; i++) {
      xf[i] = f.decode(x[off + i]);
      if (u != null) {
        uf[i] = u[off + i];
      }
    }
    StatsKernels.Census c = new StatsKernels.Census();
    StatsKernels.addScalar(xf, uf, 0, n, f.maxFinite, f.minNormal, true, c);
    return c;
  }

  private static boolean commonRef(Limits f, short[] x, float[] u, int off, int n) {
    for (int i = off; i < off + n; i++) {
      if (rare(x[i], f) || (u != null && !(Math.abs(u[i]) <= f.maxFinite))) {
        return false;
      }
    }
    return true;
  }

  /** The bit census as the float census's fields (the magnitudes decoded). */
  private static void sameAs(
      StatsKernels.BitCensus b, StatsKernels.Census c, boolean withU, Limits f, String at) {
    assertThat(new long[] {b.count, b.zero, b.below - b.zero, withU ? b.underflow : 0})
        .as(at + " count, zero, subnormal, underflow")
        .containsExactly(c.count, c.zero, c.subnormal, withU ? c.underflow : 0);
    assertThat(c.nan + c.posInf + c.negInf + c.overflow + c.saturationCandidates)
        .as(at + " a common block")
        .isZero();
    float max = f == null ? Float.intBitsToFloat(b.topX) : f.decode((short) b.topX);
    assertThat(Float.floatToRawIntBits(max)).as(at + " max").isEqualTo(floatBits(c.maxAbs));
    float min =
        b.minNonZero == Integer.MAX_VALUE
            ? Float.POSITIVE_INFINITY
            : f == null ? Float.intBitsToFloat(b.minNonZero) : f.decode((short) b.minNonZero);
    assertThat(floatBits(min)).as(at + " min non-zero").isEqualTo(floatBits(c.minAbsNonZero));
    if (withU) {
      assertThat(floatBits(Float.intBitsToFloat(b.topU)))
          .as(at + " unrounded max")
          .isEqualTo(floatBits(c.unroundedMaxAbs));
    }
  }

  private static int floatBits(float v) {
    return Float.floatToRawIntBits(v);
  }

  private static void untouched(StatsKernels.BitCensus b, String at) {
    assertThat(new long[] {b.count, b.zero, b.below, b.underflow, b.topX, b.minNonZero, b.topU})
        .as(at + " refused block adds nothing")
        .containsExactly(0, 0, 0, 0, -1, Integer.MAX_VALUE, -1);
  }

  @Test
  void census16EqualsTheDecodedCensusOnCommonBlocksAndRefusesTheOthers() {
    SplittableRandom rnd = new SplittableRandom(21);
    for (Limits f : new Limits[] {FP16, BF16}) {
      for (int n : SIZES) {
        // kind 0: common; 1..3: a stored NaN / inf first, in the middle, last (the tail);
        // 4: unrounded NaN; 5: unrounded inf; 6: saturation (stored maxFinite, u beyond it);
        // 7: overflow (stored inf, u finite)
        for (int kind = 0; kind < 8; kind++) {
          int off = 3;
          short[] x = new short[off + n];
          float[] u = new float[off + n];
          commonBlock(rnd, f, x, u, off);
          int at = off + (kind == 1 ? 0 : kind == 2 ? n / 2 : n - 1);
          switch (kind) {
            case 1 -> x[at] = (short) (f.inf16 + 1); // NaN
            case 2 -> x[at] = (short) (f.inf16 | 0x8000); // −inf
            case 3 -> x[at] = (short) f.inf16;
            case 4 -> u[off + n / 2] = Float.NaN;
            case 5 -> u[off + n - 1] = Float.NEGATIVE_INFINITY;
            case 6 -> {
              x[off + n - 1] = (short) (f.inf16 - 1);
              u[off + n - 1] = Math.nextUp(f.maxFinite);
            }
            case 7 -> {
              x[off] = (short) f.inf16;
              u[off] = f.maxFinite;
            }
            default -> {}
          }
          for (boolean withU : new boolean[] {false, true}) {
            String where = f.name + " n=" + n + " kind=" + kind + " u=" + withU;
            float[] uu = withU ? u : null;
            boolean want = commonRef(f, x, uu, off, n);
            boolean expected = kind == 0 || (!withU && kind >= 4 && kind <= 6);
            assertThat(want).as(where + " the case built").isEqualTo(expected);
            StatsKernels.BitCensus vec = new StatsKernels.BitCensus();
            StatsKernels.BitCensus twin = new StatsKernels.BitCensus();
            boolean gotVec, gotTwin;
            if (withU) {
              int mu = Float.floatToRawIntBits(f.maxFinite);
              gotVec = StatsKernels.census16(x, off, u, off, n, f.inf16, f.minNormal16, mu, vec);
              gotTwin =
                  StatsKernels.census16Scalar(x, off, u, off, n, f.inf16, f.minNormal16, mu, twin);
            } else {
              gotVec = StatsKernels.census16(x, off, n, f.inf16, f.minNormal16, vec);
              gotTwin = StatsKernels.census16Scalar(x, off, n, f.inf16, f.minNormal16, twin);
            }
            assertThat(gotVec).as(where + " vector common").isEqualTo(want);
            assertThat(gotTwin).as(where + " twin common").isEqualTo(want);
            if (want) {
              StatsKernels.Census ref = reference(f, x, uu, off, n);
              sameAs(vec, ref, withU, f, where + " vector");
              sameAs(twin, ref, withU, f, where + " twin");
            } else {
              untouched(vec, where + " vector");
              untouched(twin, where + " twin");
            }
          }
        }
      }
    }
  }

  /** Blocks add up: two calls on halves give the census of the whole. */
  @Test
  void census16AccumulatesOverBlocks() {
    SplittableRandom rnd = new SplittableRandom(22);
    int n = 4095;
    short[] x = new short[n];
    float[] u = new float[n];
    commonBlock(rnd, FP16, x, u, 0);
    int mu = Float.floatToRawIntBits(FP16.maxFinite);
    StatsKernels.BitCensus parts = new StatsKernels.BitCensus();
    assertThat(StatsKernels.census16(x, 0, u, 0, 1000, 0x7c00, 0x0400, mu, parts)).isTrue();
    assertThat(StatsKernels.census16(x, 1000, u, 1000, n - 1000, 0x7c00, 0x0400, mu, parts))
        .isTrue();
    sameAs(parts, reference(FP16, x, u, 0, n), true, FP16, "two blocks");
  }

  @Test
  void census32EqualsTheFloatCensusOnFiniteBlocksAndRefusesTheOthers() {
    SplittableRandom rnd = new SplittableRandom(23);
    float[] pool = {
      0f,
      -0f,
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      0x1.fffffcp-127f,
      0x1p-126f,
      -0x1p-126f,
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      65504f,
      0x1p-14f,
      0x1p-24f
    };
    float[][] limits = {{Float.MAX_VALUE, 0x1p-126f}, {65504f, 0x1p-14f}};
    for (float[] lim : limits) {
      for (int n : SIZES) {
        for (int kind = 0; kind < 5; kind++) {
          int off = 5;
          float[] x = new float[off + n];
          for (int i = off; i < off + n; i++) {
            x[i] =
                rnd.nextInt(3) == 0
                    ? pool[rnd.nextInt(pool.length)]
                    : (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-150, 128));
          }
          switch (kind) {
            case 1 -> x[off] = Float.NaN;
            case 2 -> x[off + n / 2] = Float.intBitsToFloat(0xffc00001); // a NaN with a payload
            case 3 -> x[off + n - 1] = Float.POSITIVE_INFINITY;
            case 4 -> x[off + n - 1] = Float.NEGATIVE_INFINITY;
            default -> {}
          }
          String where = "limits=" + lim[0] + " n=" + n + " kind=" + kind;
          int minBits = Float.floatToRawIntBits(lim[1]);
          StatsKernels.BitCensus vec = new StatsKernels.BitCensus();
          StatsKernels.BitCensus twin = new StatsKernels.BitCensus();
          boolean gotVec = StatsKernels.census32(x, off, n, minBits, vec);
          boolean gotTwin = StatsKernels.census32Scalar(x, off, n, minBits, twin);
          boolean want = kind == 0;
          assertThat(gotVec).as(where).isEqualTo(want);
          assertThat(gotTwin).as(where).isEqualTo(want);
          if (want) {
            float[] xs = java.util.Arrays.copyOfRange(x, off, off + n);
            StatsKernels.Census ref = new StatsKernels.Census();
            StatsKernels.addScalar(xs, null, 0, n, lim[0], lim[1], true, ref);
            sameAs(vec, ref, false, null, where + " vector");
            sameAs(twin, ref, false, null, where + " twin");
          } else {
            untouched(vec, where + " vector");
            untouched(twin, where + " twin");
          }
        }
      }
    }
  }
}
