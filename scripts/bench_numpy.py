#!/usr/bin/env python3
"""numpy/OpenBLAS baselines for scripts/bench-gemm.sh: sgemm c = a @ b.T and a memory copy.

Prints one JSON object per line: {"kind": "sgemm"|"copy", "shape": ..., "threads": t, "seconds": [...]}.
sgemm shapes are MxNxK (a: (M, K), b: (N, K) float32, like Kernels.matmulNT); copy sizes are bytes.
Thread counts are set through ctypes on the OpenBLAS library that numpy bundles
(`openblas_set_num_threads`, or the `scipy_openblas_..64_` names of numpy >= 2), so nothing has to
be installed (no threadpoolctl). The first line names the OpenBLAS build and the core (kernel) it
runs (`openblas_get_corename`). Run it with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset so OpenBLAS
picks its own kernel.

`bench_numpy.py compare JMH.json NUMPY.jsonl` prints the table of ours vs theirs (medians, ranges,
ratios of medians) from a JMH JSON result file and this script's output.

With --cpu it times with time.process_time() (process CPU time) under one BLAS thread instead
(kinds "sgemm-cpu" and "copy-cpu"), the counterpart of io.nanscope.bench.CpuTimeBench;
`bench_numpy.py compare-cpu OURS.jsonl NUMPY.jsonl` prints that comparison.
"""
import argparse
import json
import sys
import time

import numpy as np


class Blas:
    """numpy's OpenBLAS through ctypes: its thread count, build string and core name."""

    def __init__(self):
        import ctypes
        import glob
        import os
        root = os.path.dirname(np.__file__)
        libs = sorted(glob.glob(os.path.join(root, "..", "numpy.libs", "*openblas*.so*"))
                      + glob.glob(os.path.join(root, ".dylibs", "*openblas*"))
                      + glob.glob(os.path.join(root, "core", "*openblas*.so*")))
        self.lib, self.prefix = None, None
        for path in libs:
            lib = ctypes.CDLL(path)
            names = (("scipy_openblas_", "64_"), ("openblas_", "64_"), ("openblas_", ""))
            for prefix, suffix in names:
                if hasattr(lib, f"{prefix}set_num_threads{suffix}"):
                    self.lib, self.names = lib, (prefix, suffix)
                    break
            if self.lib:
                break
        if self.lib is None:
            sys.exit("bench_numpy.py: numpy's bundled OpenBLAS not found (looked in numpy.libs); "
                     "install a numpy wheel from PyPI, which bundles it")
        prefix, suffix = self.names
        for name in ("get_corename", "get_config"):
            getattr(self.lib, f"{prefix}{name}{suffix}").restype = ctypes.c_char_p
        self.corename = getattr(self.lib, f"{prefix}get_corename{suffix}")().decode()
        self.config = getattr(self.lib, f"{prefix}get_config{suffix}")().decode()
        self._set = getattr(self.lib, f"{prefix}set_num_threads{suffix}")
        self._get = getattr(self.lib, f"{prefix}get_num_threads{suffix}")

    def set_threads(self, t):
        self._set(t)
        got = self._get()
        if got != t:
            sys.exit(f"bench_numpy.py: asked OpenBLAS for {t} threads, it runs {got}")


def timed(fn, seconds, min_reps):
    fn()  # warm-up: page faults, thread start
    out, t_end = [], time.perf_counter() + seconds
    while len(out) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def timed_cpu(fn, reps):
    fn()
    out = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def compare_cpu(ours_file, numpy_file):
    """CpuTimeBench lines next to numpy's --cpu lines; matvec against both copies of the same bytes."""
    def load(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    ours, theirs = load(ours_file), load(numpy_file)
    for r in theirs:
        if r["kind"] == "info":
            print(f"numpy {r['numpy']}, {r.get('openblas', '')}, core: {r.get('corename', '?')}")
    for r in ours:
        if r["kind"] == "info":
            print(f"ours: {r.get('java', '?')}, GEMM vector width {r.get('width', '?')} bits")
    ours = [r for r in ours if r["kind"] != "info"]
    ref = {(r["kind"], r["shape"], r["threads"]): r["seconds"] for r in theirs if r["kind"] != "info"}
    jvm_copy = {r["shape"]: r["seconds"] for r in ours if r["kind"] == "copy-cpu"}
    hdr = (f"{'case':<16} {'shape':<16} {'thr':>3}  {'ours median [min-max]':<28} "
           f"{'reference median [min-max]':<30} {'ratio':>6}  reference")
    print(hdr)
    print("-" * len(hdr))

    def fmt(work, xs, unit):
        med, lo, hi = stats(xs)
        return f"{work / med / 1e9:7.1f} [{work / hi / 1e9:.1f}-{work / lo / 1e9:.1f}] {unit}"

    for r in ours:
        kind, shape, w, t = r["kind"], r["shape"], r["weights"], r["threads"]
        if kind == "sgemm-cpu":
            m, n, k = (int(x) for x in shape.split("x"))
            work, unit, refs = 2 * m * n * k, "GFLOP/s", [("numpy sgemm", ref.get(("sgemm-cpu", shape, t)))]
            case = f"gemm b={w}"
        elif kind == "matvec-cpu":
            n, k = (int(x) for x in shape.split("x"))
            work = n * k * {"fp32": 4, "bf16": 2, "fp16": 2}[w]
            unit, case = "GB/s", f"matvec W={w}"
            refs = [("JVM copy", jvm_copy.get(str(work))), ("numpy copy", ref.get(("copy-cpu", str(work), 1)))]
        else:
            work, unit, case = int(shape), "GB/s", "copy (JVM)"
            refs = [("numpy copy", ref.get(("copy-cpu", shape, 1)))]
        for name, xs in refs:
            if xs:
                ratio = f"{stats(xs)[0] / stats(r['seconds'])[0]:6.2f}"
                print(f"{case:<16} {shape:<16} {t:>3}  {fmt(work, r['seconds'], unit):<28} {fmt(work, xs, unit):<30} {ratio:>6}  {name}")
            else:
                print(f"{case:<16} {shape:<16} {t:>3}  {fmt(work, r['seconds'], unit):<28} {'-':<30} {'-':>6}  {name}")
    print("CPU time: 1 thread = the thread's (ours) / the process's with 1 BLAS thread (numpy); 2 threads ="
          " the process's, summed over the workers (work per CPU-second, not speed-up; OpenBLAS workers"
          " may spin while waiting, which counts against numpy); ratio = ours / reference (medians).")


def stats(xs):
    xs = sorted(xs)
    n = len(xs)
    med = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return med, xs[0], xs[-1]


def compare(jmh_file, numpy_file):
    """Our JMH samples (ms/op) next to numpy's (s), as GFLOP/s or GB/s; ratio = ours / theirs."""
    theirs = {}
    info = None
    with open(numpy_file) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "info":
                info = r
            else:
                theirs[(r["kind"], r["shape"], r["threads"])] = [x * 1e3 for x in r["seconds"]]
    with open(jmh_file) as f:
        jmh = json.load(f)
    if info:
        print(f"numpy {info['numpy']}, {info.get('openblas', '')}, core: {info.get('corename', '?')}")
    copy_ref = {}
    rows = []
    for r in jmh:
        name = r["benchmark"].rsplit(".", 2)[-2]
        prm = r.get("params", {})
        ms = [x for fork in r["primaryMetric"]["rawData"] for x in fork]
        if name == "CopyBench":
            nbytes = int(prm["bytes"])
            copy_ref[nbytes] = ms
            rows.append(("copy (JVM)", f"{nbytes} B", 1, "GB/s", nbytes, ms, theirs.get(("copy", str(nbytes), 1))))
        elif name == "GemmBench":
            m, n, k = (int(x) for x in prm["shape"].split("x"))
            key = ("sgemm", prm["shape"], int(prm["threads"]))
            rows.append((f"gemm b={prm['weights']}", prm["shape"], int(prm["threads"]), "GFLOP/s", 2 * m * n * k, ms, theirs.get(key)))
        elif name == "MatVecBench":
            n, k = (int(x) for x in prm["shape"].split("x"))
            nbytes = n * k * {"fp32": 4, "bf16": 2, "fp16": 2}[prm["weights"]]
            ref = theirs.get(("copy", str(nbytes), 1))
            rows.append((f"matvec W={prm['weights']}", prm["shape"], int(prm["threads"]), "GB/s", nbytes, ms, ref))
    hdr = f"{'case':<16} {'shape':<16} {'thr':>3}  {'ours median [min-max]':<26} {'numpy/OpenBLAS median [min-max]':<32} {'ours/theirs':>10}"
    print(hdr)
    print("-" * len(hdr))
    for case, shape, t, unit, work, ms, ref in rows:
        med, lo, hi = stats(ms)
        ours = f"{work / med / 1e6:7.1f} [{work / hi / 1e6:.1f}-{work / lo / 1e6:.1f}] {unit}"
        if ref:
            rmed, rlo, rhi = stats(ref)
            their = f"{work / rmed / 1e6:7.1f} [{work / rhi / 1e6:.1f}-{work / rlo / 1e6:.1f}] {unit}"
            ratio = f"{rmed / med:10.2f}"
        else:
            their, ratio = "-", "-"
        print(f"{case:<16} {shape:<16} {t:>3}  {ours:<26} {their:<32} {ratio:>10}")
    print("matvec ratios are against numpy's single-threaded copy of the same number of bytes (bytes read / time).")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 4 and sys.argv[1] == "compare-cpu":
        return compare_cpu(sys.argv[2], sys.argv[3])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gemm", nargs="*", default=["1024x1024x1024"], help="MxNxK shapes")
    p.add_argument("--copy", nargs="*", default=["90177536"], help="bytes to copy")
    p.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    p.add_argument("--seconds", type=float, default=5.0, help="measuring time per case")
    p.add_argument("--cpu", action="store_true", help="process CPU time, one BLAS thread, --reps calls")
    p.add_argument("--reps", type=int, default=8, help="timed calls per case with --cpu")
    args = p.parse_args()

    blas = Blas()
    print(json.dumps({"kind": "info", "numpy": np.__version__, "openblas": blas.config,
                      "corename": blas.corename, "threadpool": blas.corename}), flush=True)

    rng = np.random.default_rng(1)
    if args.cpu:
        return cpu_cases(args, rng, blas)
    for t in args.threads:
        for shape in args.gemm:
            m, n, k = (int(x) for x in shape.split("x"))
            a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (n, k)).astype(np.float32)
            c = np.empty((m, n), np.float32)

            def gemm():
                np.matmul(a, b.T, out=c)

            blas.set_threads(t)
            s = timed(gemm, args.seconds, 5)
            print(json.dumps({"kind": "sgemm", "shape": shape, "threads": t, "seconds": s}), flush=True)
    for size in args.copy:
        nbytes = int(size)
        src = rng.integers(0, 255, nbytes, dtype=np.uint8)
        dst = np.empty_like(src)
        s = timed(lambda: np.copyto(dst, src), args.seconds, 5)
        print(json.dumps({"kind": "copy", "shape": size, "threads": 1, "seconds": s}), flush=True)


def cpu_cases(args, rng, blas):
    """The --cpu run: process CPU time per call (summed over the BLAS threads for more than one)."""
    for t in args.threads:
        blas.set_threads(t)
        if True:
            for shape in args.gemm:
                m, n, k = (int(x) for x in shape.split("x"))
                a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
                b = rng.uniform(-1, 1, (n, k)).astype(np.float32)
                c = np.empty((m, n), np.float32)
                s = timed_cpu(lambda: np.matmul(a, b.T, out=c), args.reps)
                print(json.dumps({"kind": "sgemm-cpu", "shape": shape, "threads": t, "seconds": s}), flush=True)
    for size in args.copy:
        src = rng.integers(0, 255, int(size), dtype=np.uint8)
        dst = np.empty_like(src)
        s = timed_cpu(lambda: np.copyto(dst, src), args.reps)
        print(json.dumps({"kind": "copy-cpu", "shape": size, "threads": 1, "seconds": s}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
