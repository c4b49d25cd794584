#!/usr/bin/python3
"""A straightforward Python reference of deepcx's complexity (docs/observables.md §2).

usage: ref_complexity.py X.npy Y.npy FOLDS.npy OUT.json [kmax] [rmax]

PCA of X (numpy eigh), scikit-learn KMeans (k-means++, n_init=3, max_iter=100,
tol=0: stop when assignments are stable), and per cell and fold a ridge affine
fit solved with numpy: centre the training part, rho = 1e-6 trace(Xc^T Xc)/r,
predict the other fold. Same definitions as deepcx; only the k-means
implementation (and its random draws) differ.
"""
import json
import sys

import numpy as np
from sklearn.cluster import KMeans


def complexity(X, Y, folds, kmax=256, rmax=64, keep=0.999, seed=0, restarts=3):
    n, dx = X.shape
    X = X - X.mean(0)
    w, V = np.linalg.eigh(X.T @ X)
    w, V = np.clip(w[::-1], 0, None), V[:, ::-1]
    r0 = int(np.searchsorted(np.cumsum(w), keep * w.sum()) + 1)
    r = min(dx, rmax, r0)
    Z = X @ V[:, :r]
    Y = Y - Y.mean(0)
    sst = (Y ** 2).sum()
    kcap = min(kmax, n // (4 * (r + 1)))
    ladder = []
    k = 1
    while k <= kcap:
        if k == 1:
            lab = np.zeros(n, dtype=np.int64)
        else:
            km = KMeans(n_clusters=k, init="k-means++", n_init=restarts, max_iter=100, tol=0.0,
                        random_state=seed)
            lab = km.fit(Z).labels_
        sse = 0.0
        for q in range(k):
            inq = lab == q
            for f in (0, 1):
                tr, te = inq & (folds == f), inq & (folds != f)
                if not te.any():
                    continue
                nt = int(tr.sum())
                if nt == 0:
                    pred = np.zeros(Y.shape[1])
                    sse += ((Y[te] - pred) ** 2).sum()
                    continue
                ym = Y[tr].mean(0)
                if nt < r + 2:
                    sse += ((Y[te] - ym) ** 2).sum()
                    continue
                xm = Z[tr].mean(0)
                Xc, Yc = Z[tr] - xm, Y[tr] - ym
                A = Xc.T @ Xc
                rho = 1e-6 * np.trace(A) / r
                W = np.linalg.solve(A + rho * np.eye(r), Xc.T @ Yc)
                sse += ((Y[te] - ym - (Z[te] - xm) @ W) ** 2).sum()
        c = np.bincount(lab, minlength=k) / n
        c = c[c > 0]
        ladder.append({"k": k, "eta": sse / sst, "entropy": float(-(c * np.log(c)).sum())})
        k *= 2
    return {"n": n, "r": r, "ladder": ladder}


def main():
    X = np.load(sys.argv[1]).astype(np.float64)
    Y = np.load(sys.argv[2]).astype(np.float64)
    X = X.reshape(len(X), -1)
    Y = Y.reshape(len(Y), -1)
    folds = np.load(sys.argv[3]).reshape(-1)
    kmax = int(sys.argv[5]) if len(sys.argv) > 5 else 256
    rmax = int(sys.argv[6]) if len(sys.argv) > 6 else 64
    res = complexity(X, Y, folds, kmax, rmax)
    with open(sys.argv[4], "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
