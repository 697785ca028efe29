#!/usr/bin/env python3
"""Whole-process times of the commands a user runs (scripts/bench-decode.sh runs this; see
docs/guide/startup.md): wall time from fork to exit, CPU time (user+sys of the process and its
threads), and for generate the time to the first byte on stdout (the first piece is written after
position 0, as llama2.c's run writes it). Rows are run round-robin (run i of every row, then
run i + 1), so the machine's load drifts over all rows alike; the 1-minute load average is printed
with every row.

usage: bench_process.py ROOT REFRUN RUNS [LLAMA2C_RUN [BASELINE]]
ROOT: the repository; REFRUN: the built scripts/golden/refrun.c; LLAMA2C_RUN: optional, llama2.c's
own `run` built outside the repository (gcc -O3 -march=native run.c -lm); BASELINE: optional,
another checkout (e.g. `git archive main`) whose ./nanscope generate and --version are timed too.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

root, refrun, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
llama2c = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
baseline = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
model = f"{root}/models/stories260K"
prompt, positions = "Once upon a time", 256
nanscope = f"{root}/nanscope"
gen = [nanscope, "generate", "--prompt", prompt]  # default: stories260K, 256 positions, greedy, 1 thread

# (name, argv, extra environment, runs, time to first byte?)
rows = [
    ("llama2.c-equivalent C (refrun.c), whole process", ["stdbuf", "-o0", refrun,
        f"{model}/stories260K.bin", f"{model}/tok512.bin", str(positions), prompt], {}, runs, True),
]
if llama2c:
    rows.append(("llama2.c run (-O3 -march=native), whole process", ["stdbuf", "-o0", llama2c,
        f"{model}/stories260K.bin", "-z", f"{model}/tok512.bin", "-t", "0", "-n", str(positions),
        "-i", prompt], {}, runs, True))
rows += [
    ("./nanscope generate (AOT cache, scalar warm-up)", gen, {}, runs, True),
    ("  the same, NANSCOPE_AOT=0 (no AOT cache)", gen, {"NANSCOPE_AOT": "0"}, runs, True),
    ("  the same, vector kernels from position 0", gen,
        {"NANSCOPE_JAVA_OPTS": "-Dnanscope.decode.scalarWarmUpMacs=0"}, runs, True),
    ("  neither (as before: no cache, vector from position 0)", gen,
        {"NANSCOPE_AOT": "0", "NANSCOPE_JAVA_OPTS": "-Dnanscope.decode.scalarWarmUpMacs=0"}, runs, True),
    ("./nanscope --version", [nanscope, "--version"], {}, runs, False),
] + ([
    ("baseline checkout: ./nanscope generate", [f"{baseline}/nanscope"] + gen[1:], {}, runs, True),
    ("baseline checkout: ./nanscope --version", [f"{baseline}/nanscope", "--version"], {}, runs,
        False),
] if baseline else []) + [
    ("./nanscope formats", [nanscope, "formats"], {}, runs, False),
    ("./nanscope round --format fp16 65519 65520 1e-8",
        [nanscope, "round", "--format", "fp16", "65519", "65520", "1e-8"], {}, runs, False),
    ("./nanscope trace --prompt 'Once upon a time' --policy pytorch-fp16",
        [nanscope, "trace", "--prompt", prompt, "--policy", "pytorch-fp16"], {}, runs, False),
    ("./nanscope edit --ds-size 1 --no-fluency (one record)",
        [nanscope, "edit", "--ds-size", "1", "--no-fluency", "--out",
         os.path.join(tempfile.mkdtemp(), "edit.json")], {},
        max(1, runs // 5), False),
]


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def once(argv, env, ttfb):
    e = dict(os.environ, **env)
    c0, t0 = child_cpu(), time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=e, cwd=root)
    first = None
    if ttfb:
        if p.stdout.read(1):
            first = time.perf_counter() - t0
    p.stdout.read()
    rc = p.wait()
    wall = time.perf_counter() - t0
    if rc != 0:
        sys.exit(f"bench_process: {' '.join(argv)} exited with {rc}")
    return wall, child_cpu() - c0, first


# one untimed run each (not the long edit): the jar and its AOT cache exist, the page cache is warm
for _, argv, env, n, ttfb in rows:
    if n == runs:
        once(argv, env, ttfb)
res = {name: ([], [], [], []) for name, *_ in rows}
for i in range(runs):
    for name, argv, env, n, ttfb in rows:
        if i < n:
            w, c, f = once(argv, env, ttfb)
            r = res[name]
            r[0].append(w), r[1].append(c), r[3].append(os.getloadavg()[0])
            if f is not None:
                r[2].append(f)


def fmt(xs):
    if not xs:
        return f"{'':>21}"
    return f"{statistics.median(xs):7.3f} ({min(xs):.3f}-{max(xs):.3f})"


cref = statistics.median(res[rows[0][0]][0])
print(f"whole process, stories260K, '{prompt}', {positions} positions, greedy, 1 thread; "
      f"seconds, median (range) of {runs} runs")
print(f"{'command':<62} {'wall':>21} {'CPU user+sys':>21} {'first byte':>21} {'x C wall':>8} "
      f"{'load':>9}")
for name, argv, env, n, ttfb in rows:
    w, c, f, ld = res[name]
    ratio = f"{statistics.median(w) / cref:8.1f}" if ttfb else f"{'':>8}"
    print(f"{name:<62} {fmt(w)} {fmt(c)} {fmt(f)} {ratio} {min(ld):4.1f}-{max(ld):<4.1f}")
