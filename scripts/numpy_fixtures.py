#!/usr/bin/env python3
"""Generates the FP16 fixtures the engine's op tests compare against, bit for bit.

numpy (2.x) is the independent oracle: its float16 ufuncs round every result correctly (RNE,
subnormals, overflow to inf; numerics-facts section 5). Each fixture encodes what PyTorch CUDA does for a
16-bit tensor -- compute in FP32, round the output once to FP16 -- written here with numpy's own
float32 and float16 casts, never with the engine's code.

Run offline from the repository root (deterministic: fixed seed):
    python3 scripts/numpy_fixtures.py
It rewrites engine/src/test/resources/fixtures/fp16_*.txt. Values are written as 4-hex-digit
float16 bit patterns so nothing is lost in printing.

Files:
  fp16_elementwise.txt  lines "op a b expected" (op in add, mul, scale, silu, swiglu; b unused
                        for silu and scale: scale multiplies by float32(0.1)).
  fp16_softmax.txt      lines "n x_0 .. x_{n-1} y_0 .. y_{n-1}": softmax over the row with
                        m = max, e = float32(exp(x - m)), s = sequential float32 sum, y = f16(e / s).
  fp16_gemm.txt         "M N K", then M*K a-values, N*K b-values and M*N expected values of
                        f16(sum_k a[m,k] * b[n,k]) with the sum exact in FP32 (so any summation
                        order gives it) -- the FP32-accumulate, round-once rule; several sums
                        overflow 65504 and must be inf.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "engine", "src", "test", "resources", "fixtures")
f16, f32, f64 = np.float16, np.float32, np.float64


def bits(a):
    return ["%04x" % int(v) for v in np.asarray(a, dtype=f16).view(np.uint16).ravel()]


def exp32(x32):
    # exp in float64 then one rounding to float32: the correctly rounded float32 exp (up to the
    # double's own < 1 ulp error), the same recipe PyTorch's FP32 opmath aims at.
    return np.exp(x32.astype(f64)).astype(f32)


def silu16(x16):
    x = x16.astype(f32)
    with np.errstate(over="ignore"):
        return (x / (f32(1) + exp32(-x))).astype(f16)


def special_values():
    v = [0.0, -0.0, 1.0, -1.0, 2048.0, 2049.0, 65504.0, -65504.0, 65520.0, np.inf, -np.inf,
         2.0 ** -24, -(2.0 ** -24), 2.0 ** -14, 255.875, 261.75, 256.0, 11.09, -11.09, 0.5, 1e-5]
    with np.errstate(over="ignore"):  # 65520 rounds to inf on purpose
        return np.array(v, dtype=f16)


def elementwise(rng):
    sp = special_values()
    pairs = [(a, b) for a in sp for b in sp]
    rnd_bits = rng.integers(0, 0x10000, size=(600, 2), dtype=np.uint32).astype(np.uint16)
    for a, b in rnd_bits:
        pairs.append((np.array(a, np.uint16).view(f16), np.array(b, np.uint16).view(f16)))
    mags = (rng.standard_normal((400, 2)) * 40).astype(f16)
    pairs += [(a, b) for a, b in mags]
    lines = []
    with np.errstate(all="ignore"):
        for a, b in pairs:
            a = f16(a)
            b = f16(b)
            if np.isnan(a) or np.isnan(b):
                continue  # NaN propagation is tested separately; payloads are not compared
            lines.append("add %s %s %s" % (*bits(a), *bits(b), *bits(a + b)))
            lines.append("mul %s %s %s" % (*bits(a), *bits(b), *bits(a * b)))
            lines.append("scale %s %s %s" % (*bits(a), *bits(b), *bits((f32(a) * f32(0.1)).astype(f16))))
            lines.append("silu %s %s %s" % (*bits(a), *bits(b), *bits(silu16(np.array(a)))))
            lines.append("swiglu %s %s %s" % (*bits(a), *bits(b), *bits(silu16(np.array(a)) * b)))
    return lines


def softmax_rows(rng):
    rows = []
    for n in (1, 2, 7, 31, 33, 100):
        for scale in (1.0, 8.0, 30.0):
            rows.append((rng.standard_normal(n) * scale).astype(f16))
    rows.append(np.array([65504, 0, -65504, 1], dtype=f16))
    rows.append(np.array([-np.inf, 0, 1, -np.inf], dtype=f16))
    rows.append(np.array([-65504, -65504, -65504], dtype=f16))
    rows.append(np.full(3000, 1.0, dtype=f16))
    lines = []
    for x in rows:
        x32 = x.astype(f32)
        m = x32.max()
        with np.errstate(all="ignore"):
            e = exp32(x32 - m)
        s = np.cumsum(e, dtype=f32)[-1]  # sequential float32 accumulation
        y = (e / s).astype(f16)
        lines.append(" ".join([str(len(x))] + bits(x) + bits(y)))
    return lines


def gemm(rng):
    blocks = []

    def add(a, b):
        # integers in [-16, 16] times 2^[-2, 2]: products are multiples of 2^-4 below 4096 in
        # magnitude, so sums of K <= 64 stay below 2^18 and are exact in float32 (2^18 / 2^-4 = 2^22).
        exact = a.astype(f64) @ b.astype(f64).T
        assert np.array_equal(exact.astype(f32).astype(f64), exact), "sum not exact in float32"
        with np.errstate(over="ignore"):
            c = exact.astype(f32).astype(f16)
        m, k = a.shape
        n = b.shape[0]
        blocks.append("%d %d %d" % (m, n, k))
        blocks.append(" ".join(bits(a)))
        blocks.append(" ".join(bits(b)))
        blocks.append(" ".join(bits(c)))

    def ints(shape):
        return (rng.integers(-16, 17, size=shape) * 2.0 ** rng.integers(-2, 3, size=shape)).astype(f16)

    for m, n, k in ((1, 1, 1), (3, 5, 7), (4, 3, 33), (2, 7, 64)):
        add(ints((m, k)), ints((n, k)))
    big = np.full((2, 64), 64.0, dtype=f16)  # 64 * 64 * 64 = 262144 -> inf in FP16
    big[1, :] = 16.0                         # 16 * 64 * 64 = 65536 -> inf (>= 65520)
    add(big, np.full((1, 64), 64.0, dtype=f16))
    edge = np.full((1, 63), 32.0, dtype=f16)  # 63 * 32 * 32 = 64512: finite (a multiple of FP16's spacing 32)
    add(edge, np.full((2, 63), 32.0, dtype=f16))
    ones = np.ones((1, 3000), dtype=f16)      # 3000 in FP32; a per-step FP16 sum would stop at 2048
    add(ones, ones)
    return blocks


def main():
    rng = np.random.default_rng(20261128)
    os.makedirs(OUT, exist_ok=True)
    for name, lines in (("fp16_elementwise.txt", elementwise(rng)),
                        ("fp16_softmax.txt", softmax_rows(rng)),
                        ("fp16_gemm.txt", gemm(rng))):
        with open(os.path.join(OUT, name), "w") as f:
            f.write("# generated by scripts/numpy_fixtures.py with numpy %s; do not edit\n" % np.__version__)
            f.write("\n".join(lines) + "\n")
        print(name, len(lines), "lines")


if __name__ == "__main__":
    main()
