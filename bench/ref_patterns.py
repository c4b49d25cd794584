#!/usr/bin/python3
"""numpy reference of deepcx patterns (docs/observables.md §3).

usage: ref_patterns.py ACT.npy OUT.json [groups] [seed]

np.packbits + np.unique(axis=0) for the distinct patterns, the same plug-in
and Miller-Madow entropies, unit counts, the scale curve (numpy's own random
groups, so only its statistics are comparable) and the Zipf fit over ranks
1..min(100, patterns seen at least twice).
"""
import json
import sys

import numpy as np


def ent(counts, n):
    p = counts / n
    return float(-(p * np.log(p)).sum())


def main():
    a = np.load(sys.argv[1])
    a = a.reshape(len(a), -1)
    groups = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    n, d = a.shape
    b = a > 0
    p = b.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where((p > 0) & (p < 1), -p * np.log(p) - (1 - p) * np.log1p(-p), 0.0)
    packed = np.packbits(b, axis=1)
    _, counts = np.unique(packed, axis=0, return_counts=True)
    m = len(counts)
    H = ent(counts, n)
    scale = []
    g = 1
    while g <= min(d, 64):
        G = 1 if g == d else groups
        hs, mis = [], []
        for _ in range(G):
            units = rng.choice(d, g, replace=False)
            _, c = np.unique(np.packbits(b[:, units], axis=1), axis=0, return_counts=True)
            hm = ent(c, n) + (len(c) - 1) / (2 * n)
            hs.append(hm)
            mis.append(h[units].sum() - hm)
        scale.append({"n": g, "entropy": float(np.mean(hs)), "multi_information": float(np.mean(mis))})
        g *= 2
    c = np.sort(counts)[::-1]
    R = int(min(100, (c >= 2).sum()))
    zipf = None
    if R >= 2:
        slope = np.polyfit(np.log(np.arange(1, R + 1)), np.log(c[:R] / n), 1)[0]
        zipf = -float(slope)
    out = {
        "n": n, "d": d,
        "units": {"dead": int((p == 0).sum()), "always_on": int((p == 1).sum()),
                  "switching": int(((p > 0) & (p < 1)).sum()), "entropy_sum": float(h.sum())},
        "patterns": {"distinct": m, "entropy": H, "entropy_mm": H + (m - 1) / (2 * n), "saturated": m > n / 2},
        "scale": scale,
        "zipf": {"exponent": zipf, "fit_ranks": R},
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
