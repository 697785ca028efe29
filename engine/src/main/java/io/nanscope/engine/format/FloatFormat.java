package io.nanscope.engine.format;

import io.nanscope.engine.lanes.Binary16;
import io.nanscope.engine.lanes.BinaryLayout;
import io.nanscope.engine.lanes.RoundingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A binary floating-point format: its bits, its limits and its rounding. Every rounding rule of
 * nanscope is defined here and nowhere else.
 *
 * <p>A format is IEEE-754-like: sign, {@code e} exponent bits with bias {@code 2^(e-1) - 1}, {@code
 * p - 1} stored mantissa bits behind a hidden bit ({@code p} counts the hidden bit, as in CPFloat
 * and chop: 11 for FP16, 8 for BF16), gradual underflow, and an all-ones exponent for infinity/NaN.
 * The one exception is {@link #FP8_E4M3}, OCP 8-bit FP v1.0 "E4M3FN": no infinities, the all-ones
 * exponent holds normal values up to 448 and only {@code S.1111.111} is NaN.
 *
 * <p>{@link #round(float)} and {@link #round(double)} round to nearest, ties to even, overflowing
 * to infinity (IEEE 754 roundTiesToEven), keeping subnormals and the sign of zero; the overloads
 * taking a {@link RoundingSpec} choose the mode, overflow rule and subnormal rule. Rounding is
 * always single: the input (a float or double, exact in double) is rounded once to the format,
 * never through an intermediate format. NaN becomes the canonical quiet NaN (sign and payload
 * dropped).
 */
public final class FloatFormat implements BinaryLayout {

  /** IEEE binary64: the reference format. */
  public static final FloatFormat FP64 = new FloatFormat("fp64", 53, 11, false);

  /** IEEE binary32. */
  public static final FloatFormat FP32 = new FloatFormat("fp32", 24, 8, false);

  /** NVIDIA TensorFloat-32: FP32's range with FP16's precision (19 bits, stored in 32). */
  public static final FloatFormat TF32 = new FloatFormat("tf32", 11, 8, false);

  /** bfloat16: FP32's exponent range with 8 significand bits. */
  public static final FloatFormat BF16 = of(Binary16.BF16);

  /** IEEE binary16 (half): max 65504. */
  public static final FloatFormat FP16 = of(Binary16.FP16);

  /** OCP FP8 E5M2: IEEE-like, max 57344, has infinities. */
  public static final FloatFormat FP8_E5M2 = new FloatFormat("fp8-e5m2", 3, 5, false);

  /** OCP FP8 E4M3FN: no infinities, max 448, NaN = S.1111.111; IEEE overflow gives NaN. */
  public static final FloatFormat FP8_E4M3 = new FloatFormat("fp8-e4m3", 4, 4, true);

  private static final List<FloatFormat> BUILT_INS =
      List.of(FP64, FP32, TF32, BF16, FP16, FP8_E5M2, FP8_E4M3);

  private static final String VALID_NAMES =
      "fp64, fp32, tf32, bf16, fp16, fp8-e4m3, fp8-e5m2, or custom:p=P,e=E (precision bits with the"
          + " hidden bit 2..53, exponent bits 2..11, p+e <= 64)";

  private static final long DOUBLE_FRACTION = (1L << 52) - 1;

  private final String name;
  private final FormatInfo info;
  private final int p;
  private final int bias;
  private final int emin;
  private final boolean finiteOnly;

  /** Every value of this format is a float, so round(float) can return it exactly. */
  private final boolean fitsInFloat;

  /** Every float is a value of this format (FP32, FP64, wider customs). */
  private final boolean coversFloat;

  private final long nanBits;
  private final long infBits;
  private final float[] decode8; // 256 entries for 8-bit formats, else null

  private FloatFormat(String name, int precisionBits, int exponentBits, boolean finiteOnly) {
    this.name = name;
    this.p = precisionBits;
    this.finiteOnly = finiteOnly;
    this.bias = (1 << (exponentBits - 1)) - 1;
    this.emin = 1 - bias;
    int emax = finiteOnly ? bias + 1 : bias;
    int stored = p - 1;
    // E4M3FN: the top exponent is normal but its all-ones mantissa is NaN, so max = (2 -
    // 2^(2-p))·2^emax.
    double maxFinite = (2 - Math.scalb(1.0, (finiteOnly ? 2 : 1) - p)) * Math.scalb(1.0, emax);
    int bits = 1 + exponentBits + stored;
    this.info =
        new FormatInfo(
            bits,
            p,
            exponentBits,
            maxFinite,
            Math.scalb(1.0, emin),
            Math.scalb(1.0, emin - stored),
            Math.scalb(1.0, 1 - p),
            !finiteOnly);
    this.fitsInFloat = p <= 24 && emax <= 127 && emin >= -126;
    this.coversFloat = p >= 24 && emax >= 127 && emin <= -126;
    long expMask = ((1L << exponentBits) - 1) << stored;
    this.infBits = expMask;
    this.nanBits = finiteOnly ? expMask | ((1L << stored) - 1) : expMask | (1L << (stored - 1));
    if (bits == 8) {
      decode8 = new float[256];
      for (int b = 0; b < 256; b++) {
        decode8[b] = (float) decodeBits(b);
      }
    } else {
      decode8 = null;
    }
  }

  /** The 16-bit formats are defined with the lane kernels that round to them (engine.lanes). */
  private static FloatFormat of(Binary16 layout) {
    return new FloatFormat(layout.name(), layout.precisionBits(), layout.exponentBits(), false);
  }

  /**
   * An IEEE-like format with {@code precisionBits} significand bits (hidden bit included) and
   * {@code exponentBits} exponent bits, with infinities; the built-in constant when one matches
   * (custom(11, 5) is {@link #FP16}).
   *
   * @throws IllegalArgumentException unless 2 ≤ p ≤ 53, 2 ≤ e ≤ 11 and p + e ≤ 64
   */
  public static FloatFormat custom(int precisionBits, int exponentBits) {
    if (precisionBits < 2
        || precisionBits > 53
        || exponentBits < 2
        || exponentBits > 11
        || precisionBits + exponentBits > 64) {
      throw new IllegalArgumentException(
          "custom format p="
              + precisionBits
              + ", e="
              + exponentBits
              + " is out of range: need"
              + " 2 <= p <= 53 (significand bits with the hidden bit), 2 <= e <= 11 and p + e <= 64");
    }
    for (FloatFormat f : BUILT_INS) {
      if (!f.finiteOnly && f.p == precisionBits && f.info.exponentBits() == exponentBits) {
        return f;
      }
    }
    return new FloatFormat(
        "custom:p=" + precisionBits + ",e=" + exponentBits, precisionBits, exponentBits, false);
  }

  /** The built-in formats, widest first: fp64, fp32, tf32, bf16, fp16, fp8-e5m2, fp8-e4m3. */
  public static List<FloatFormat> builtIns() {
    return BUILT_INS;
  }

  /**
   * Parses a format name, case-insensitive: {@code fp64 fp32 tf32 bf16 fp16 fp8-e4m3 fp8-e5m2}
   * (aliases {@code double float64 float float32 single half float16 bfloat16 e4m3 e4m3fn e5m2}),
   * or {@code custom:p=11,e=5}.
   *
   * @throws IllegalArgumentException naming the valid choices
   */
  public static FloatFormat parse(String text) {
    String n = text == null ? "" : text.strip().toLowerCase(Locale.ROOT).replace('_', '-');
    switch (n) {
      case "fp64", "float64", "double", "binary64", "f64":
        return FP64;
      case "fp32", "float32", "float", "single", "binary32", "f32":
        return FP32;
      case "tf32", "tensorfloat32", "tensorfloat-32":
        return TF32;
      case "bf16", "bfloat16":
        return BF16;
      case "fp16", "float16", "half", "binary16", "f16":
        return FP16;
      case "fp8-e4m3", "fp8-e4m3fn", "e4m3", "e4m3fn", "float8-e4m3fn":
        return FP8_E4M3;
      case "fp8-e5m2", "e5m2", "float8-e5m2":
        return FP8_E5M2;
      default:
        break;
    }
    if (n.startsWith("custom:")) {
      Integer pBits = null;
      Integer eBits = null;
      for (String part : n.substring("custom:".length()).split(",", -1)) {
        String[] kv = part.strip().split("=", 2);
        if (kv.length != 2 || !kv[1].strip().matches("\\d{1,3}")) {
          throw new IllegalArgumentException(
              "bad custom format '" + text + "': expected one of " + VALID_NAMES);
        }
        int v = Integer.parseInt(kv[1].strip());
        switch (kv[0].strip()) {
          case "p" -> pBits = pBits == null ? v : duplicate(text, "p");
          case "e" -> eBits = eBits == null ? v : duplicate(text, "e");
          default ->
              throw new IllegalArgumentException(
                  "unknown key '"
                      + kv[0].strip()
                      + "' in custom"
                      + " format '"
                      + text
                      + "' (only p and e): expected one of "
                      + VALID_NAMES);
        }
      }
      if (pBits != null && eBits != null) {
        return custom(pBits, eBits);
      }
    }
    throw new IllegalArgumentException(
        "unknown format '" + text + "': expected one of " + VALID_NAMES);
  }

  private static int duplicate(String text, String key) {
    throw new IllegalArgumentException(
        "key '"
            + key
            + "' given twice in custom format '"
            + text
            + "': expected one of "
            + VALID_NAMES);
  }

  @Override
  public String name() {
    return name;
  }

  public FormatInfo info() {
    return info;
  }

  /** Significand bits with the hidden bit: {@code info().precisionBits()}. */
  @Override
  public int precisionBits() {
    return p;
  }

  /** Exponent bits: {@code info().exponentBits()}. */
  @Override
  public int exponentBits() {
    return info.exponentBits();
  }

  /** Storage bytes per element: 1, 2, 4 (also TF32, held in a 32-bit container) or 8. */
  public int bytes() {
    int bits = info.bits();
    return bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 8;
  }

  // ------------------------------------------------------------------------------ scalar rounding

  /** Rounds {@code x} to this format (nearest-even, IEEE overflow, subnormals kept). */
  public float round(float x) {
    if (this == FP16) {
      return Float.isNaN(x) ? Float.NaN : Float.float16ToFloat(Float.floatToFloat16(x));
    }
    if (this == BF16) {
      return RoundingKernels.bf16Decode(RoundingKernels.bf16Encode(x));
    }
    if (coversFloat) {
      return Float.isNaN(x) ? Float.NaN : x;
    }
    return round(x, RoundingSpec.NEAREST_EVEN, 0);
  }

  /**
   * Rounds {@code x} to this format with {@code spec} (a stochastic spec draws element 0's bits).
   */
  public float round(float x, RoundingSpec spec) {
    return round(x, spec, 0);
  }

  /**
   * Rounds {@code x} to this format with {@code spec}; {@code index} picks the stochastic draw (see
   * {@link RoundingSpec#randomBits}) and is ignored by the other modes.
   *
   * @throws IllegalArgumentException if this format has values a float cannot hold (custom formats
   *     with more than 8 exponent bits and fewer than 24 precision bits): use {@link #round(double,
   *     RoundingSpec, long)}
   */
  public float round(float x, RoundingSpec spec, long index) {
    if (!fitsInFloat && !coversFloat) {
      throw new IllegalArgumentException(
          name
              + " has values a float cannot hold: round to it from double with round(double, ...)");
    }
    if (spec.isIeeeDefault() && (this == FP16 || this == BF16)) {
      return round(x);
    }
    if (coversFloat && spec.subnormals() == Subnormals.KEEP) {
      return Float.isNaN(x) ? Float.NaN : x; // every float is a value of this format
    }
    return (float) round((double) x, spec, index); // exact: the result is a float (checked above)
  }

  /** Rounds {@code x} to this format (nearest-even, IEEE overflow, subnormals kept). */
  public double round(double x) {
    if (this == FP32) {
      return Double.isNaN(x) ? Double.NaN : (double) (float) x; // JLS 5.1.3: IEEE nearest-even
    }
    return round(x, RoundingSpec.NEAREST_EVEN, 0);
  }

  /**
   * Rounds {@code x} to this format with {@code spec} (a stochastic spec draws element 0's bits).
   */
  public double round(double x, RoundingSpec spec) {
    return round(x, spec, 0);
  }

  /**
   * Rounds {@code x} to this format with {@code spec}; {@code index} picks the stochastic draw and
   * is ignored by the other modes. Infinite input stays infinite where the format has infinities
   * (it did not overflow); in E4M3FN it becomes NaN, or ±maxFinite under {@link Overflow#SATURATE}.
   */
  public double round(double x, RoundingSpec spec, long index) {
    if (Double.isNaN(x) || Double.isInfinite(x) || x == 0) {
      return special(x, spec);
    }
    boolean negative = x < 0;
    return finish(roundMagnitude(Math.abs(x), negative, spec, index), negative, spec);
  }

  /** Rounds {@code x} (nearest-even, IEEE) and reports the class and overflow/underflow flags. */
  public RoundResult roundWithFlags(double x) {
    return roundWithFlags(x, RoundingSpec.NEAREST_EVEN, 0);
  }

  /** Rounds {@code x} with {@code spec} and reports the class and overflow/underflow flags. */
  public RoundResult roundWithFlags(double x, RoundingSpec spec, long index) {
    double value;
    boolean overflow = false;
    if (Double.isNaN(x) || Double.isInfinite(x) || x == 0) {
      value = special(x, spec);
    } else {
      boolean negative = x < 0;
      double magnitude = roundMagnitude(Math.abs(x), negative, spec, index);
      overflow = magnitude > info.maxFinite();
      value = finish(magnitude, negative, spec);
    }
    boolean underflow = Double.isFinite(x) && x != 0 && value == 0;
    return new RoundResult(x, value, pack(value), classify(value), overflow, underflow);
  }

  /**
   * The class of {@code value} read as a value of this format: by magnitude against minNormal (a
   * value that is not in the format is classified where it falls).
   */
  public ValueClass classify(double value) {
    if (Double.isNaN(value)) {
      return ValueClass.NAN;
    }
    if (Double.isInfinite(value)) {
      return ValueClass.INFINITE;
    }
    if (value == 0) {
      return ValueClass.ZERO;
    }
    return Math.abs(value) < info.minNormal() ? ValueClass.SUBNORMAL : ValueClass.NORMAL;
  }

  private double special(double x, RoundingSpec spec) {
    if (Double.isNaN(x)) {
      return Double.NaN;
    }
    if (Double.isInfinite(x) && finiteOnly) {
      return spec.overflow() == Overflow.SATURATE ? Math.copySign(info.maxFinite(), x) : Double.NaN;
    }
    return x; // ±inf or ±0
  }

  /**
   * Rounds a finite positive {@code a} to {@code p} significant bits at the quantum of its binade
   * (never finer than the subnormal quantum 2^(emin-p+1)), with an unbounded exponent above: the
   * result may exceed maxFinite, which {@link #finish} handles.
   */
  private double roundMagnitude(double a, boolean negative, RoundingSpec spec, long index) {
    // a = m · 2^e exactly, m an integer below 2^53.
    long raw = Double.doubleToRawLongBits(a);
    int biased = (int) (raw >>> 52);
    long m = biased == 0 ? raw & DOUBLE_FRACTION : (raw & DOUBLE_FRACTION) | (1L << 52);
    int e = biased == 0 ? -1074 : biased - 1075;
    int exponent = 63 - Long.numberOfLeadingZeros(m) + e; // floor(log2 a)
    int quantum = Math.max(exponent, emin) - (p - 1); // ulp of a's binade in this format
    int shift = quantum - e;
    if (shift <= 0) {
      return a; // a already has at most p significant bits at this quantum
    }
    long n; // a / 2^quantum truncated
    long rem; // the discarded bits, a fraction rem / 2^shift of an ulp
    int vsHalf; // sign of (rem - half an ulp)
    if (shift >= 64) {
      n = 0;
      rem = m;
      vsHalf = -1; // m < 2^53 <= 2^(shift-1)
    } else {
      n = m >>> shift;
      rem = m & ((1L << shift) - 1);
      if (rem == 0) {
        return a;
      }
      vsHalf = Long.compare(rem, 1L << (shift - 1));
    }
    boolean stochasticUp =
        spec.rounding() == Rounding.STOCHASTIC && stochasticUp(rem, shift, spec.randomBits(index));
    boolean up = roundsUp(spec.rounding(), negative, n, vsHalf, stochasticUp);
    return Math.scalb((double) (n + (up ? 1 : 0)), quantum);
  }

  /**
   * The one rounding decision: whether a magnitude strictly between {@code n} and {@code n + 1}
   * quanta goes to {@code n + 1}. {@code vsHalf} is the sign of (fraction − ½); {@code
   * stochasticUp} is the draw's verdict, used only by {@link Rounding#STOCHASTIC}.
   */
  private static boolean roundsUp(
      Rounding mode, boolean negative, long n, int vsHalf, boolean stochasticUp) {
    return switch (mode) {
      case NEAREST_EVEN -> vsHalf > 0 || (vsHalf == 0 && (n & 1) != 0);
      case TOWARD_ZERO -> false;
      case UP -> !negative;
      case DOWN -> negative;
      case STOCHASTIC -> stochasticUp;
    };
  }

  /**
   * Rounds an exact decimal to this format in ONE step, with the class and overflow/underflow
   * flags: {@code 65519.999999999999999} is below the FP16 midpoint 65520 and rounds to 65504,
   * while parsing it to double first would give 65520.0 and then infinity. Values of any magnitude
   * are taken ({@code 1e400} overflows by the format's rules, {@code 1e-400} underflows by them).
   *
   * <p>A value that is exactly a double takes the double path, so both paths agree wherever both
   * apply. Otherwise |x| = N / D exactly (big integers) and the decision uses the exact fraction:
   * nearest-even compares 2r with D, stochastic rounds up iff U · D < r · 2^64 for the draw's 64
   * random bits U (the double path's rule, {@code U / 2^64 < fraction}, without truncation).
   *
   * @param x the exact value (BigDecimal has no −0: pass ±0 to the double overload)
   * @return the result; its {@code input} is the double nearest to x (it may be ±inf or 0)
   */
  public RoundResult roundWithFlags(BigDecimal x, RoundingSpec spec, long index) {
    Objects.requireNonNull(x, "x");
    double nearest = x.doubleValue();
    if (x.signum() == 0
        || (Double.isFinite(nearest) && new BigDecimal(nearest).compareTo(x) == 0)) {
      return roundWithFlags(nearest, spec, index);
    }
    boolean negative = x.signum() < 0;
    double magnitude = roundMagnitude(x.abs(), negative, spec, index);
    boolean overflow = magnitude > info.maxFinite();
    double value = finish(magnitude, negative, spec);
    return new RoundResult(nearest, value, pack(value), classify(value), overflow, value == 0);
  }

  /** Decimal exponents beyond which a value is below every quantum or above every maxFinite. */
  private static final int EXACT_DECIMAL_EXPONENT_LIMIT = 400;

  /**
   * {@link #roundMagnitude(double, boolean, RoundingSpec, long)} for an exact positive decimal that
   * is not a double. Above 10^400 the result is +inf (above every format's maxFinite and 2^1024:
   * {@link #finish} applies the overflow rule); below 10^-400 the value lies in (0, ½ quantum) of
   * every format (the finest quantum is 2^-1074 ≈ 4.9e-324).
   */
  private double roundMagnitude(BigDecimal a, boolean negative, RoundingSpec spec, long index) {
    long decimalExponent = (long) a.precision() - a.scale() - 1; // floor(log10 a)
    if (decimalExponent > EXACT_DECIMAL_EXPONENT_LIMIT) {
      return Double.POSITIVE_INFINITY;
    }
    if (decimalExponent < -EXACT_DECIMAL_EXPONENT_LIMIT) {
      int quantum = emin - (p - 1);
      // fraction a / 2^quantum < 2^-64: the draw rounds up only when all 64 bits are zero
      boolean stochasticUp = spec.rounding() == Rounding.STOCHASTIC && spec.randomBits(index) == 0;
      boolean up = roundsUp(spec.rounding(), negative, 0, -1, stochasticUp);
      return up ? Math.scalb(1.0, quantum) : 0;
    }
    BigInteger num = a.unscaledValue();
    BigInteger den = BigInteger.ONE;
    if (a.scale() > 0) {
      den = BigInteger.TEN.pow(a.scale());
    } else {
      num = num.multiply(BigInteger.TEN.pow(-a.scale()));
    }
    int exponent = num.bitLength() - den.bitLength(); // floor(log2 a) or one more
    if (compareScaled(num, den, exponent) < 0) {
      exponent--;
    }
    int quantum = Math.max(exponent, emin) - (p - 1);
    // a / 2^quantum = n + r / d exactly
    BigInteger numerator = quantum < 0 ? num.shiftLeft(-quantum) : num;
    BigInteger d = quantum > 0 ? den.shiftLeft(quantum) : den;
    BigInteger[] qr = numerator.divideAndRemainder(d);
    long n = qr[0].longValueExact(); // below 2^p
    BigInteger r = qr[1];
    if (r.signum() == 0) {
      return Math.scalb((double) n, quantum);
    }
    int vsHalf = r.shiftLeft(1).compareTo(d);
    boolean stochasticUp = false;
    if (spec.rounding() == Rounding.STOCHASTIC) {
      BigInteger u = new BigInteger(Long.toUnsignedString(spec.randomBits(index)));
      stochasticUp = u.multiply(d).compareTo(r.shiftLeft(64)) < 0;
    }
    boolean up = roundsUp(spec.rounding(), negative, n, vsHalf, stochasticUp);
    return Math.scalb((double) (n + (up ? 1 : 0)), quantum);
  }

  /** Sign of num/den − 2^e. */
  private static int compareScaled(BigInteger num, BigInteger den, int e) {
    return e >= 0 ? num.compareTo(den.shiftLeft(e)) : num.shiftLeft(-e).compareTo(den);
  }

  /**
   * Up with probability rem / 2^shift: exact for shift ≤ 63 (compare the top {@code shift} random
   * bits with rem); beyond (probability below 2^-10) the fraction is truncated to 53 bits.
   */
  private static boolean stochasticUp(long rem, int shift, long random) {
    if (shift <= 63) {
      return (random >>> (64 - shift)) < rem;
    }
    int drop = shift - 53;
    return drop < 64 && (random >>> 11) < (rem >>> drop);
  }

  /** Applies the overflow and subnormal rules to a rounded magnitude and puts the sign back. */
  private double finish(double magnitude, boolean negative, RoundingSpec spec) {
    double r = magnitude;
    if (r > info.maxFinite()) {
      r = overflowMagnitude(negative, spec);
      if (Double.isNaN(r)) {
        return Double.NaN;
      }
    } else if (spec.subnormals() == Subnormals.FLUSH && r < info.minNormal()) {
      r = 0;
    }
    return negative ? -r : r;
  }

  /** IEEE 754 §7.4: rounding toward zero from this side gives maxFinite, the others infinity. */
  private double overflowMagnitude(boolean negative, RoundingSpec spec) {
    if (spec.overflow() == Overflow.SATURATE) {
      return info.maxFinite();
    }
    boolean towardInfinity =
        switch (spec.rounding()) {
          case NEAREST_EVEN, STOCHASTIC -> true;
          case TOWARD_ZERO -> false;
          case UP -> !negative;
          case DOWN -> negative;
        };
    if (!towardInfinity) {
      return info.maxFinite();
    }
    return finiteOnly ? Double.NaN : Double.POSITIVE_INFINITY;
  }

  // ------------------------------------------------------------------------------ encode / decode

  /** The bits of {@code round(x)}, right-aligned in a long ({@code info().bits()} wide). */
  public long encodeBits(double x) {
    return pack(round(x));
  }

  /** The bits of {@code round(x, spec, index)}, right-aligned in a long. */
  public long encodeBits(double x, RoundingSpec spec, long index) {
    return pack(round(x, spec, index));
  }

  /**
   * The value of a bit pattern of this format (the low {@code info().bits()} bits of {@code bits}).
   */
  public double decodeBits(long bits) {
    int width = info.bits();
    int stored = p - 1;
    int expBits = info.exponentBits();
    long b = width == 64 ? bits : bits & ((1L << width) - 1);
    boolean negative = (b >>> (width - 1) & 1) != 0;
    int field = (int) ((b >>> stored) & ((1L << expBits) - 1));
    long mantissa = b & ((1L << stored) - 1);
    int allOnes = (1 << expBits) - 1;
    double magnitude;
    if (field == allOnes && !finiteOnly) {
      magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else if (field == allOnes && mantissa == (1L << stored) - 1) {
      magnitude = Double.NaN; // E4M3FN: only S.1111.111
    } else if (field == 0) {
      magnitude = Math.scalb((double) mantissa, emin - stored);
    } else {
      magnitude = Math.scalb((double) ((1L << stored) | mantissa), field - bias - stored);
    }
    if (Double.isNaN(magnitude)) {
      return Double.NaN;
    }
    return negative ? -magnitude : magnitude;
  }

  /** Bits of a value of this format (already rounded); NaN gives the canonical quiet NaN. */
  private long pack(double v) {
    if (Double.isNaN(v)) {
      return nanBits;
    }
    int stored = p - 1;
    long sign = Double.doubleToRawLongBits(v) < 0 ? 1L << (info.bits() - 1) : 0;
    double a = Math.abs(v);
    if (Double.isInfinite(a)) {
      return sign | infBits;
    }
    if (a == 0) {
      return sign;
    }
    int exponent =
        Math.max(Math.getExponent(a), emin - 1); // getExponent is -1023 for subnormal doubles
    if (exponent < emin) {
      return sign | (long) Math.scalb(a, stored - emin);
    }
    long significand = (long) Math.scalb(a, stored - exponent); // in [2^stored, 2^(stored+1))
    return sign | ((long) (exponent + bias) << stored) | (significand - (1L << stored));
  }

  /** Encodes {@code x}, rounded nearest-even, as a 16-bit pattern (16-bit formats only). */
  public short encode16(float x) {
    if (this == FP16) {
      return Float.isNaN(x) ? (short) nanBits : Float.floatToFloat16(x);
    }
    if (this == BF16) {
      return RoundingKernels.bf16Encode(x);
    }
    requireWidth(16, "encode16");
    return (short) encodeBits(x);
  }

  /** Decodes a 16-bit pattern of this format (16-bit formats only). */
  public float decode16(short bits) {
    if (this == FP16) {
      return Float.float16ToFloat(bits);
    }
    if (this == BF16) {
      return RoundingKernels.bf16Decode(bits);
    }
    requireWidth(16, "decode16");
    if (!fitsInFloat) {
      throw new IllegalArgumentException(name + " has values a float cannot hold: use decodeBits");
    }
    return (float) decodeBits(bits & 0xFFFF);
  }

  /**
   * Encodes {@code x}, rounded nearest-even with IEEE overflow, as an 8-bit pattern (8-bit formats
   * only).
   */
  public byte encode8(float x) {
    requireWidth(8, "encode8");
    return (byte) encodeBits(x);
  }

  /** Encodes {@code x} rounded with {@code spec} as an 8-bit pattern (8-bit formats only). */
  public byte encode8(float x, RoundingSpec spec, long index) {
    requireWidth(8, "encode8");
    return (byte) encodeBits(x, spec, index);
  }

  /** Decodes an 8-bit pattern of this format (8-bit formats only). */
  public float decode8(byte bits) {
    requireWidth(8, "decode8");
    return decode8[bits & 0xFF];
  }

  private void requireWidth(int width, String what) {
    if (info.bits() != width) {
      throw new IllegalArgumentException(
          what
              + " needs a "
              + width
              + "-bit format but "
              + name
              + " has "
              + info.bits()
              + " bits: use "
              + (width == 16 ? "fp16 or bf16" : "fp8-e4m3 or fp8-e5m2")
              + ", or encodeBits/decodeBits");
    }
  }

  // ------------------------------------------------------------------------------ bulk

  /**
   * Rounds {@code a[from..to)} in place, nearest-even with IEEE overflow (vectorised for
   * FP16/BF16).
   */
  public void roundInPlace(float[] a, int from, int to) {
    roundInPlace(a, from, to, RoundingSpec.NEAREST_EVEN);
  }

  /**
   * Rounds {@code a[from..to)} in place with {@code spec}; element {@code i} uses stochastic draw
   * {@code i}. The IEEE default on FP16/BF16 runs the vector kernel, everything else the scalar
   * {@link #round(float, RoundingSpec, long)}; both give the same bits.
   */
  public void roundInPlace(float[] a, int from, int to, RoundingSpec spec) {
    Objects.checkFromToIndex(from, to, a.length);
    if (spec.isIeeeDefault() && this == FP16) {
      RoundingKernels.fp16RoundInPlace(a, from, to);
    } else if (spec.isIeeeDefault() && this == BF16) {
      RoundingKernels.bf16RoundInPlace(a, from, to);
    } else if (coversFloat && spec.subnormals() == Subnormals.KEEP) {
      RoundingKernels.canonicalNaN(a, from, to); // FP32/FP64: rounding a float only does this
    } else {
      for (int i = from; i < to; i++) {
        a[i] = round(a[i], spec, i);
      }
    }
  }

  /**
   * Rounds {@code count} native-order floats of {@code floats}, starting at byte {@code
   * byteOffset}, in place, nearest-even with IEEE overflow.
   */
  public void roundInPlace(MemorySegment floats, long byteOffset, long count) {
    roundInPlace(floats, byteOffset, count, RoundingSpec.NEAREST_EVEN);
  }

  /**
   * Rounds {@code count} native-order floats of {@code floats}, starting at byte {@code
   * byteOffset}, in place with {@code spec}; the float at byte {@code o} uses stochastic draw
   * {@code o / 4}.
   */
  public void roundInPlace(MemorySegment floats, long byteOffset, long count, RoundingSpec spec) {
    Objects.checkFromIndexSize(byteOffset, Math.multiplyExact(count, 4L), floats.byteSize());
    if (spec.isIeeeDefault() && this == FP16) {
      RoundingKernels.fp16RoundInPlace(floats, byteOffset, count);
    } else if (spec.isIeeeDefault() && this == BF16) {
      RoundingKernels.bf16RoundInPlace(floats, byteOffset, count);
    } else {
      ValueLayout.OfFloat layout = ValueLayout.JAVA_FLOAT_UNALIGNED;
      boolean onlyNaN = coversFloat && spec.subnormals() == Subnormals.KEEP;
      for (long i = 0; i < count; i++) {
        long at = byteOffset + 4 * i;
        float x = floats.get(layout, at);
        if (!onlyNaN || Float.isNaN(x)) {
          floats.set(layout, at, round(x, spec, at / 4));
        }
      }
    }
  }

  /**
   * {@code dst[dstOff + i] = encode16(src[srcOff + i])} for {@code i < n} (vectorised for
   * FP16/BF16).
   */
  public void encode16(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    Objects.checkFromIndexSize(srcOff, n, src.length);
    Objects.checkFromIndexSize(dstOff, n, dst.length);
    if (this == FP16) {
      RoundingKernels.fp16Encode(src, srcOff, dst, dstOff, n);
    } else if (this == BF16) {
      RoundingKernels.bf16Encode(src, srcOff, dst, dstOff, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst[dstOff + i] = encode16(src[srcOff + i]);
      }
    }
  }

  /**
   * {@link #encode16(float[], int, short[], int, int)} that also makes every NaN of {@code src}
   * canonical in place ({@link Float#NaN}), in the same pass for FP16/BF16: a traced op stores its
   * output and keeps {@code src} as its unrounded FP32 values without copying them.
   */
  public void encode16Canonical(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    Objects.checkFromIndexSize(srcOff, n, src.length);
    Objects.checkFromIndexSize(dstOff, n, dst.length);
    if (this == FP16) {
      RoundingKernels.fp16EncodeCanonical(src, srcOff, dst, dstOff, n);
    } else if (this == BF16) {
      RoundingKernels.bf16EncodeCanonical(src, srcOff, dst, dstOff, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst[dstOff + i] = encode16(src[srcOff + i]);
        if (Float.isNaN(src[srcOff + i])) {
          src[srcOff + i] = Float.NaN;
        }
      }
    }
  }

  /**
   * Encodes {@code n} floats into native-order 16-bit lanes of {@code dst} from byte {@code
   * dstByteOff}.
   */
  public void encode16(float[] src, int srcOff, MemorySegment dst, long dstByteOff, int n) {
    Objects.checkFromIndexSize(srcOff, n, src.length);
    Objects.checkFromIndexSize(dstByteOff, 2L * n, dst.byteSize());
    if (this == FP16) {
      RoundingKernels.fp16Encode(src, srcOff, dst, dstByteOff, n);
    } else if (this == BF16) {
      RoundingKernels.bf16Encode(src, srcOff, dst, dstByteOff, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, dstByteOff + 2L * i, encode16(src[srcOff + i]));
      }
    }
  }

  /**
   * {@code dst[dstOff + i] = decode16(src[srcOff + i])} for {@code i < n} (vectorised for
   * FP16/BF16).
   */
  public void decode16(short[] src, int srcOff, float[] dst, int dstOff, int n) {
    Objects.checkFromIndexSize(srcOff, n, src.length);
    Objects.checkFromIndexSize(dstOff, n, dst.length);
    if (this == FP16) {
      RoundingKernels.fp16Decode(src, srcOff, dst, dstOff, n);
    } else if (this == BF16) {
      RoundingKernels.bf16Decode(src, srcOff, dst, dstOff, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst[dstOff + i] = decode16(src[srcOff + i]);
      }
    }
  }

  /** Decodes {@code n} native-order 16-bit lanes of {@code src} from byte {@code srcByteOff}. */
  public void decode16(MemorySegment src, long srcByteOff, float[] dst, int dstOff, int n) {
    Objects.checkFromIndexSize(srcByteOff, 2L * n, src.byteSize());
    Objects.checkFromIndexSize(dstOff, n, dst.length);
    if (this == FP16) {
      RoundingKernels.fp16Decode(src, srcByteOff, dst, dstOff, n);
    } else if (this == BF16) {
      RoundingKernels.bf16Decode(src, srcByteOff, dst, dstOff, n);
    } else {
      for (int i = 0; i < n; i++) {
        dst[dstOff + i] = decode16(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, srcByteOff + 2L * i));
      }
    }
  }

  // ------------------------------------------------------------------------------ identity

  @Override
  public boolean equals(Object o) {
    return o instanceof FloatFormat f
        && f.p == p
        && f.info.exponentBits() == info.exponentBits()
        && f.finiteOnly == finiteOnly;
  }

  @Override
  public int hashCode() {
    return Objects.hash(p, info.exponentBits(), finiteOnly);
  }

  @Override
  public String toString() {
    return name;
  }
}
