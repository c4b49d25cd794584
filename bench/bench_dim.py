#!/usr/bin/python3
"""Benchmark of `deepcx dim` against scikit-learn PCA and numpy cov+eigvalsh.

Generates a 60,000 x 1,024 float32 .npy with a power-law spectrum
(lambda_n ~ n^-1, random rotation), then, in the same run and with the same
number of BLAS threads (OpenBLAS for all three; OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are left as the environment sets them, for every side):
  deepcx   build/deepcx dim FILE --threads T
  sklearn  np.load + PCA(svd_solver='full').fit + the entropy of explained_variance_
  numpy    np.load + np.cov(X, rowvar=False) + np.linalg.eigvalsh + the entropy
each timed as a whole process (imports and loading included), median of REPS
runs. Peak memory from /usr/bin/time -v. Then bench_cov (bench/bench_cov.c):
GFLOP/s of the covariance step (N·D² flops) and the machine's dgemm peak.
Usage: bench_dim.py [--threads T] [--reps R] [--rows N] [--cols D] [--keep]"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "build", "deepcx")

SKLEARN = r"""
import sys, numpy as np
from sklearn.decomposition import PCA
x = np.load(sys.argv[1])
lam = PCA(svd_solver='full').fit(x).explained_variance_.astype(np.float64)
lam = np.clip(lam, 0, None); p = lam / lam.sum(); p = p[p > 0]
print('deff %.10f' % np.exp(-(p * np.log(p)).sum()))
"""
NUMPY = r"""
import sys, numpy as np
x = np.load(sys.argv[1])
lam = np.clip(np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1], 0, None)
p = lam / lam.sum(); p = p[p > 0]
print('deff %.10f' % np.exp(-(p * np.log(p)).sum()))
"""


def generate(path, n, d, seed=1):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scale = (np.arange(1, d + 1) ** -0.5)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for r0 in range(0, n, 5000):
        r1 = min(n, r0 + 5000)
        mm[r0:r1] = ((rng.standard_normal((r1 - r0, d)) * scale) @ q.T + 0.5).astype(np.float32)
    mm.flush()
    del mm


def run(cmd, env):
    """(seconds, peak RSS in MiB, stdout, CPU seconds user+sys) of one whole process."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench_dim: %s failed:\n%s" % (cmd[0], p.stderr))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024.0
    cpu = sum(float(re.search(r"%s time \(seconds\): ([0-9.]+)" % w, p.stderr).group(1)) for w in ("User", "System"))
    return t, rss, p.stdout, cpu


def deff_of(out):
    m = re.search(r"D_eff = exp\(H\)\s+([0-9.]+)", out) or re.search(r"deff ([0-9.]+)", out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--cols", type=int, default=1024)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    tmp = tempfile.mkdtemp(prefix="bench_dim.")
    path = os.path.join(tmp, "x.npy")
    generate(path, a.rows, a.cols)
    print("data: %d x %d float32 (%.0f MiB), threads %d, OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s"
          % (a.rows, a.cols, os.path.getsize(path) / 2 ** 20, a.threads,
             os.environ.get("OPENBLAS_CORETYPE", "-"), os.environ.get("OPENBLAS_L2_SIZE", "-")))
    cmds = {
        "deepcx": [CLI, "dim", path, "--threads", str(a.threads)],
        "sklearn": [sys.executable, "-c", SKLEARN, path],
        "numpy": [sys.executable, "-c", NUMPY, path],
    }
    res = {k: [] for k in cmds}
    for rep in range(a.reps):  # interleaved, so that load changes hit every tool
        for k, c in cmds.items():
            res[k].append(run(c, env))
    med = {k: statistics.median(r[0] for r in v) for k, v in res.items()}
    cpu = {k: statistics.median(r[3] for r in v) for k, v in res.items()}
    rss = {k: max(r[1] for r in v) for k, v in res.items()}
    deff = {k: deff_of(v[0][2]) for k, v in res.items()}
    for k in cmds:
        print("%-8s median %7.2f s  (runs %s)  CPU %6.2f s  peak RSS %7.1f MiB  D_eff %.6f"
              % (k, med[k], ", ".join("%.2f" % r[0] for r in res[k]), cpu[k], rss[k], deff[k]))
    print("speed-up of deepcx (wall): %.1fx vs sklearn PCA(full), %.2fx vs numpy cov+eigvalsh"
          % (med["sklearn"] / med["deepcx"], med["numpy"] / med["deepcx"]))
    print("CPU-time ratio (user+sys): %.1fx vs sklearn, %.2fx vs numpy"
          % (cpu["sklearn"] / cpu["deepcx"], cpu["numpy"] / cpu["deepcx"]))
    print("load average at the end: %s" % " ".join("%.2f" % v for v in os.getloadavg()))
    cov_mib = a.cols * a.cols * 8 / 2 ** 20
    print("deepcx peak RSS above the %.0f MiB covariance: %.1f MiB" % (cov_mib, rss["deepcx"] - cov_mib))
    print("D_eff agreement: |deepcx - numpy| = %.2e, |deepcx - sklearn| = %.2e"
          % (abs(deff["deepcx"] - deff["numpy"]), abs(deff["deepcx"] - deff["sklearn"])))
    bc = os.path.join(tmp, "bench_cov")
    libs = subprocess.run(["pkg-config", "--libs", "openblas", "lapacke", "libcjson", "zlib"],
                          capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-I", os.path.join(ROOT, "include"), os.path.join(ROOT, "bench", "bench_cov.c"),
                    os.path.join(ROOT, "build", "libdeepcx.a")] + libs + ["-lm", "-lpthread", "-o", bc], check=True)
    out = subprocess.run([bc, path, str(a.threads)], env=env, capture_output=True, text=True, check=True).stdout.split()
    t_file, t_mem, n, d, peak = float(out[0]), float(out[1]), int(out[2]), int(out[3]), float(out[4])
    flops = n * d * d
    print("covariance step: %.2f s from the file (%.1f GFLOP/s), %.2f s in memory (%.1f GFLOP/s); "
          "dgemm peak %.1f GFLOP/s -> %.0f%% / %.0f%% of peak"
          % (t_file, flops / t_file / 1e9, t_mem, flops / t_mem / 1e9, peak,
             100 * flops / t_file / 1e9 / peak, 100 * flops / t_mem / 1e9 / peak))
    if not a.keep:
        os.remove(path)
        os.remove(bc)
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
