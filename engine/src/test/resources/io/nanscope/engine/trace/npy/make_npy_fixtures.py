#!/usr/bin/env python3
"""Writes the .npy fixtures NpyTest compares byte for byte with nanscope's writer.

Run offline from this directory with numpy (2.4.6 was used): python3 make_npy_fixtures.py
Each array is built from explicit bit patterns or exactly representable values, so the
Java test can build the same tensor independently.
"""
import numpy as np

# FP32, 1-d: ordinary values, +/-inf, a quiet NaN (0x7fc00000), the smallest subnormal.
f4 = np.array([1.0, -2.5, np.inf, -np.inf, 0.0, -0.0, 1e-45, 3.4028235e38], dtype='<f4')
f4 = f4.view('<u4').copy()
f4[4] = 0x7fc00000  # replace +0.0 with the canonical quiet NaN
np.save('f4_vector.npy', f4.view('<f4'))

# FP16, (2, 3): maxFinite, inf, smallest subnormal, -0, 1/3 rounded, NaN 0x7e00.
f2 = np.array([0x7bff, 0x7c00, 0x0001, 0x8000, 0x3555, 0x7e00], dtype='<u2').reshape(2, 3)
np.save('f2_matrix.npy', f2.view('<f2'))

# FP64 scalar (shape ()).
np.save('f8_scalar.npy', np.array(0.1, dtype='<f8'))

# FP32 empty vector and a rank-3 tensor 0..23.
np.save('f4_empty.npy', np.zeros((0,), dtype='<f4'))
np.save('f4_rank3.npy', np.arange(24, dtype='<f4').reshape(2, 3, 4))

# Format version 2.0 (4-byte header length), for the reader only.
with open('f4_v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.array([7.0, 8.0], dtype='<f4'), version=(2, 0))
