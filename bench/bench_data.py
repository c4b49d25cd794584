#!/usr/bin/python3
"""Data for the complexity and pattern benchmarks (bench/bench_*.sh).

usage: bench_data.py DIR
  relu2_x.npy, relu2_y.npy  10,000 x 256: X Gaussian, Y = a random two-layer
                            ReLU map relu(relu(X W1 + b1) W2 + b2), 256 wide
  abs_x.npy, abs_y.npy      4,000 x 2 uniform square, y = |x1| + 2|x2|
  smooth_x.npy, smooth_y.npy 16,000 x 2 uniform square, y = sin 3x1 cos 2x2
  *_folds.npy               a random 2-fold split for each
  act.npy                   10,000 x 1,024 float32 ReLU activations of a random
                            layer on a 32-d latent (many repeated patterns)
"""
import os
import sys

import numpy as np

d = sys.argv[1]
rng = np.random.default_rng(7)


def save(name, a):
    np.save(os.path.join(d, name), a)


def folds(n):
    f = np.zeros(n, dtype=np.uint8)
    f[rng.permutation(n)[: n // 2]] = 1
    return f


X = rng.standard_normal((10000, 256))
W1 = rng.standard_normal((256, 256)) / 16
W2 = rng.standard_normal((256, 256)) / 16
H = np.maximum(X @ W1 + 0.1 * rng.standard_normal(256), 0)
Y = np.maximum(H @ W2 + 0.1 * rng.standard_normal(256), 0)
save("relu2_x.npy", X)
save("relu2_y.npy", Y)
save("relu2_folds.npy", folds(10000))
U = rng.uniform(-1, 1, (4000, 2))
save("abs_x.npy", U)
save("abs_y.npy", np.abs(U[:, 0:1]) + 2 * np.abs(U[:, 1:2]))
save("abs_folds.npy", folds(4000))
U = rng.uniform(-1, 1, (16000, 2))
save("smooth_x.npy", U)
save("smooth_y.npy", (np.sin(3 * U[:, 0]) * np.cos(2 * U[:, 1]))[:, None])
save("smooth_folds.npy", folds(16000))
Zl = rng.standard_normal((10000, 32))
Wa = rng.standard_normal((32, 1024))
save("act.npy", np.maximum(Zl @ Wa - 2.5 * np.sqrt(32), 0).astype(np.float32))
