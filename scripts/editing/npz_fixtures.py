#!/usr/bin/env python3
"""Fixtures for nanscope's .npy/.npz code (io.nanscope.editing.stats), both directions, with numpy.

  python3 scripts/editing/npz_fixtures.py make    # numpy writes the fixtures the Java tests read
  python3 scripts/editing/npz_fixtures.py verify  # numpy reads java-mom2.npz (written by the Java test
                                                  # NpzFixturesTest, committed) and checks every value

Files (editing/src/test/resources/stats/):
  numpy-keys.npy        (37, 6) float32 keys K, seeded normal
  numpy-mom2.npz        ROME/EasyEdit layer-stats layout for K: mom2.mom2 = float32(K^T K), mom2.count,
                        mom2.constructor, sample_size (np.savez, as ROME's save_cached_state)
  numpy-mom2-f64.npy    K^T K in float64 (numpy/BLAS order), for the accumulator's error budget
  npy/*.npy             single arrays (np.save) for byte-exact header checks
  numpy-compressed.npz  the same arrays with np.savez_compressed (deflated entries)
"""
import json
import sys
from pathlib import Path

import numpy as np

DIR = Path(__file__).resolve().parents[2] / "editing/src/test/resources/stats"


def arrays():
    return {
        "f4_2x3x4": (np.arange(24, dtype=np.float32) * np.float32(0.25) - np.float32(3)).reshape(2, 3, 4),
        "f8_5": np.array([0.1, -2.5, 1e300, -0.0, 5e-324], dtype=np.float64),
        "i8_scalar": np.array(2**40 + 7, dtype=np.int64),
        "f4_1000": np.linspace(-1, 1, 1000, dtype=np.float32),
        "u_scalar": np.array("util.runningstats.SecondMoment()"),
    }


def make():
    (DIR / "npy").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261128)
    k = rng.standard_normal((37, 6)).astype(np.float32)
    np.save(DIR / "numpy-keys.npy", k)
    k64 = k.astype(np.float64)
    s64 = k64.T @ k64
    np.save(DIR / "numpy-mom2-f64.npy", s64)
    np.savez(DIR / "numpy-mom2.npz", **{
        "mom2.constructor": "util.runningstats.SecondMoment()",
        "mom2.count": 37,
        "mom2.mom2": s64.astype(np.float32),
        "sample_size": 5,
    })
    for name, a in arrays().items():
        np.save(DIR / "npy" / f"{name}.npy", a)
    np.savez_compressed(DIR / "numpy-compressed.npz", **arrays())
    print("wrote fixtures to", DIR)


def verify():
    path = DIR / "java-mom2.npz"
    d = np.load(path)
    assert sorted(d.files) == sorted(["mom2.constructor", "mom2.count", "mom2.mom2", "sample_size",
                                      "provenance.json"]), d.files
    s = d["mom2.mom2"]
    assert s.dtype == np.float32 and s.shape == (3, 3), (s.dtype, s.shape)
    # the Java test writes S[i][j] = (i+1)(j+1)/3 + [i == j] in FP64, stored as float32
    expect = np.array([[(i + 1) * (j + 1) / 3 + (i == j) for j in range(3)] for i in range(3)])
    assert np.array_equal(s, expect.astype(np.float32)), s
    assert d["mom2.count"].dtype == np.int64 and int(d["mom2.count"]) == 4
    assert int(d["sample_size"]) == 2
    assert str(d["mom2.constructor"]) == "easyeditor.util.runningstats.SecondMoment()"
    prov = json.loads(d["provenance.json"])
    assert prov["corpus"] == "configs/corpus/tinystories-corpus.txt" and prov["count"] == 4, prov
    # what ROME's SecondMoment.load_state_dict + moment() would compute
    moment = s / int(d["mom2.count"])
    print("java-mom2.npz OK: keys", sorted(d.files), "C[0,0] =", moment[0, 0], "provenance", prov["tool"])


if __name__ == "__main__":
    {"make": make, "verify": verify}[sys.argv[1]]()
