#!/usr/bin/python3
"""Check, in numpy, the error bound of deepcx's 16-bit k-means distances.

usage: q16_bound.py X.npy [r]

X is reduced to its top r principal components (default 64), as
`deepcx complexity` does, and cut by scikit-learn's k-means (K = 2, 8, 32;
2 and 20 Lloyd iterations). Points and centres are rounded to 16-bit
integers on scales of their own (src/obs/kmeans.c, quant16: norm of the
integers ~2^15.4, |q| <= 32767), the squared distances computed from the
integer dot products, and for every point the bound
    delta = 2 (|x^| max|c - c^| + |x - x^| max|c|) + 1e-6 (|x|^2 + max|c|^2)
checked against the true error (the last term stands in for the float
rounding, which deepcx bounds separately). Prints the largest error / bound
(must stay below 1) and the fraction of close calls (the two nearest
distances within 2 delta), which deepcx hands to its double kernel.
"""
import sys

import numpy as np
from sklearn.cluster import KMeans

B = 2 ** 15.4


def quant(v):
    nv = np.linalg.norm(v, axis=1)
    s = np.maximum(nv / B, np.abs(v).max(1) / 32767.0)
    s = np.where(s > 0, s, 1.0)
    q = np.clip(np.rint(v / s[:, None]), -32767, 32767)
    return q, s, np.linalg.norm(v - q * s[:, None], axis=1)


def main():
    x = np.load(sys.argv[1]).astype(np.float64)
    x = x.reshape(len(x), -1)
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    x = x - x.mean(0)
    w, v = np.linalg.eigh(x.T @ x)
    z = x @ v[:, ::-1][:, :r]
    qx, sx, ex = quant(z)
    assert (np.square(qx).sum(1) <= 46340 ** 2).all()
    xs = (z ** 2).sum(1)
    nxh = np.linalg.norm(qx * sx[:, None], axis=1)
    worst = 0.0
    for k in (2, 8, 32):
        for it in (2, 20):
            c = KMeans(k, n_init=1, random_state=0, max_iter=it).fit(z).cluster_centers_
            qc, sc, ec = quant(c)
            acc = qx @ qc.T
            assert np.abs(acc).max() < 2 ** 31
            cs = (c ** 2).sum(1)
            d16 = xs[:, None] - 2 * acc * sx[:, None] * sc[None] + cs[None]
            dt = ((z[:, None] - c[None]) ** 2).sum(2)
            delta = 2 * (nxh * ec.max() + ex * np.sqrt(cs.max())) + 1e-6 * (xs + cs.max())
            ratio = (np.abs(d16 - dt) / delta[:, None]).max()
            worst = max(worst, ratio)
            ds = np.sort(d16, 1)
            close = (ds[:, 1] - ds[:, 0] <= 2 * delta).mean()
            print(f"K = {k:2d}, {it:2d} iterations: max error / bound {ratio:.3f}, close calls {100 * close:.2f} %")
    print(f"largest error / bound: {worst:.3f}")
    if worst >= 1:
        sys.exit("the bound failed")


if __name__ == "__main__":
    main()
