#!/usr/bin/python3
"""Real-data check of deepcx complexity/patterns: a random ReLU layer on
Fashion-MNIST pixels.

usage: make_fashion_relu.py IMAGES-idx3-ubyte.gz OUT_Y.npy [width] [seed]

Reads the IDX images (N x 784, pixels / 255), draws a He-initialised layer
W ~ N(0, 2/784), b = 0, and writes Y = relu(X W) (N x width, float32). Then:
  deepcx complexity --x IMAGES-idx3-ubyte.gz --y OUT_Y.npy
  deepcx patterns OUT_Y.npy
(deepcx reads the IDX file itself; the pixel scale does not change eta.)
"""
import gzip
import sys

import numpy as np

path, out = sys.argv[1], sys.argv[2]
width = int(sys.argv[3]) if len(sys.argv) > 3 else 256
rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
with gzip.open(path, "rb") as f:
    raw = f.read()
n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
X = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float64) / 255.0
W = rng.standard_normal((rows * cols, width)) * np.sqrt(2.0 / (rows * cols))
np.save(out, np.maximum(X @ W, 0).astype(np.float32))
