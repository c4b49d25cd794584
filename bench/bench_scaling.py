#!/usr/bin/python3
"""Scaling benchmark of deepcx (docs/benchmarks.md, "Scaling").

A. Strong scaling of `deepcx dim` on a 1,000,000 x 512 float32 .npy (2 GB),
   one BLAS thread per process (OPENBLAS_NUM_THREADS=1, --threads 1), file in
   the page cache:
     serial   build/deepcx dim F --threads 1                 (non-MPI build)
     np1      mpirun -np 1 build-mpi/deepcx dim F --threads 1
     np2      mpirun -np 2 build-mpi/deepcx dim F --threads 1
     numpy    the same streaming computation in numpy (memmap, 16 MiB blocks
              cast to float64, shift by the first block's means, X^T X by
              BLAS, eigvalsh), one BLAS thread
   interleaved, median of REPS runs each; efficiency = t(np1) / (2 t(np2)).
B. Out-of-core: `deepcx dim` on a 2,000,000 x 256 float32 .npy (2 GB): peak
   RSS (/usr/bin/time -v), time with the file in the page cache (warm) and
   after evicting it (cold: posix_fadvise DONTNEED on the file only), the
   disk's sequential read speed (dd after the same eviction), numpy's
   blocked equivalent; 2 threads.
C. Strong scaling of `deepcx complexity` on X 100,000 x 256 float32 (a
   spread spectrum, as in A) -> Y = tanh(X W), 16 outputs: mpirun -np 1 and
   -np 2 of build-mpi/deepcx, --threads 1, one BLAS thread, waiting ranks
   yielding (OMPI_MCA_mpi_yield_when_idle=1); per rank CPU time, elapsed
   time and peak RSS (/usr/bin/time inside mpirun), medians of REPS;
   the largest relative difference of eta(K) and H(K) between the two.
Usage: bench_scaling.py [--reps R] [--dir DIR] [--keep] [--parts A,B,C]"""
import json
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "build", "deepcx")
CLI_MPI = os.path.join(ROOT, "build-mpi", "deepcx")
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]

NUMPY = r"""
import sys, numpy as np
x = np.load(sys.argv[1], mmap_mode='r')
n, d = x.shape
b = max(64, min(4096, (2 << 20) // d))
s = np.zeros((d, d)); t = np.zeros(d); shift = None
for r in range(0, n, b):
    y = np.asarray(x[r:r + b], dtype=np.float64)
    if shift is None: shift = y.mean(axis=0)
    y -= shift; t += y.sum(axis=0); s += y.T @ y
c = (s - np.outer(t, t) / n) / (n - 1)
lam = np.clip(np.linalg.eigvalsh(c)[::-1], 0, None)
p = lam / lam.sum(); p = p[p > 0]
print('deff %.10f' % np.exp(-(p * np.log(p)).sum()))
"""


def generate(path, n, d, seed):
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scale = np.arange(1, d + 1) ** -0.5
    tmp = path + ".part"
    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, d))
    for r0 in range(0, n, 20000):
        r1 = min(n, r0 + 20000)
        mm[r0:r1] = ((rng.standard_normal((r1 - r0, d)) * scale) @ q.T + 0.5).astype(np.float32)
    mm.flush()
    del mm
    os.rename(tmp, path)


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def warm(path):
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def run(cmd, env):
    """(seconds, peak RSS MiB of the timed process, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench_scaling: %s failed:\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return dt, int(m.group(1)) / 1024 if m else float("nan"), p.stdout


def deff_of(out):
    m = re.search(r"D_eff = exp\(H\)\s+([0-9.]+)", out) or re.search(r"deff ([0-9.]+)", out)
    return float(m.group(1))


def per_rank(cmd, env, np_, tag):
    """Per rank of an mpirun (/usr/bin/time inside mpirun): a list of
    (peak RSS MiB, CPU seconds user+sys, elapsed seconds)."""
    outs = ["/tmp/deepcx-bench-rank-%s-%d" % (tag, r) for r in range(np_)]
    wrapped = MPIRUN + ["-np", str(np_), "sh", "-c",
                        '/usr/bin/time -f "%%M %%U %%S %%e" -o /tmp/deepcx-bench-rank-%s-$OMPI_COMM_WORLD_RANK "$@"'
                        % tag, "sh"] + cmd
    subprocess.run(wrapped, env=env, capture_output=True, check=True)
    vals = []
    for o in outs:
        with open(o) as f:
            m, u, s_, e = f.read().split()[-4:]
        vals.append((int(m) / 1024, float(u) + float(s_), float(e)))
        os.unlink(o)
    return vals


def generate_cx(fx, fy, n, d, seed):
    if os.path.exists(fx) and os.path.exists(fy):
        return
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    x = ((rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.5) @ q.T).astype(np.float32)
    w = rng.standard_normal((d, 16)) / np.sqrt(d) * 4
    np.save(fy, np.tanh(x.astype(np.float64) @ w).astype(np.float32))
    np.save(fx, x)


def part_c(a, env1):
    fx = os.path.join(a.dir, "cx_x_100000x256.npy")
    fy = os.path.join(a.dir, "cx_y_100000x16.npy")
    generate_cx(fx, fy, 100000, 256, 3)
    warm(fx)
    js = [os.path.join(a.dir, "cx-np%d.json" % p) for p in (1, 2)]
    # a rank waiting in a collective yields its core instead of spinning: on
    # a shared machine the spinning rank would take CPU from the working one
    env1 = dict(env1, OMPI_MCA_mpi_yield_when_idle="1")
    cpu, wall, rss = {1: [], 2: []}, {1: [], 2: []}, {1: [], 2: []}
    for rep in range(a.reps):
        for p in (1, 2):
            cmd = [CLI_MPI, "complexity", "--x", fx, "--y", fy, "--threads", "1", "--json", js[p - 1]]
            v = per_rank(cmd, env1, p, "c%d" % p)
            cpu[p].append(max(x[1] for x in v))
            wall[p].append(max(x[2] for x in v))
            rss[p].append(max(x[0] for x in v))
        print("  rep %d: np1 %.1f s (CPU %.1f s), np2 %.1f s (CPU of the busiest rank %.1f s)" % (
            rep + 1, wall[1][-1], cpu[1][-1], wall[2][-1], cpu[2][-1]), flush=True)
    lad = []
    for j in js:
        with open(j) as f:
            lad.append(json.load(f)["ladder"])
    diff = max(max(abs(u[k] - v[k]) / abs(u[k]) for k in ("eta", "entropy") if u[k] != 0)
               for u, v in zip(lad[0], lad[1]))
    md = statistics.median
    print("\nC. complexity, 100,000 x 256 float32 -> 16, one BLAS thread per process, medians of %d" % a.reps)
    print("  np1: %.1f s wall, %.1f s CPU, %.0f MiB;  np2: %.1f s wall, %.1f s CPU (busiest rank), %.0f MiB per rank" % (
        md(wall[1]), md(cpu[1]), md(rss[1]), md(wall[2]), md(cpu[2]), md(rss[2])))
    print("  efficiency: wall %.0f %%, CPU (work per rank) %.0f %%; largest relative difference of eta, H: %.2g" % (
        100 * md(wall[1]) / (2 * md(wall[2])), 100 * md(cpu[1]) / (2 * md(cpu[2])), diff))
    if not a.keep:
        for f in [fx, fy] + js:
            os.unlink(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/deepcx-bench-scaling")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--parts", default="A,B,C")
    a = ap.parse_args()
    parts = set(a.parts.split(","))
    os.makedirs(a.dir, exist_ok=True)
    env1 = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if parts == {"C"}:
        print("load average %.2f %.2f %.2f" % os.getloadavg())
        part_c(a, env1)
        return
    fa = os.path.join(a.dir, "scale_1000000x512.npy")
    fb = os.path.join(a.dir, "ooc_2000000x256.npy")
    print("generating data in %s ..." % a.dir, flush=True)
    generate(fa, 1000000, 512, 1)
    generate(fb, 2000000, 256, 2)
    env1 = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env2 = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    print("load average %.2f %.2f %.2f" % os.getloadavg())

    # ---- A. strong scaling ----
    warm(fa)
    cfg = {
        "serial": ([CLI, "dim", fa, "--threads", "1"], env1),
        "np1": (MPIRUN + ["-np", "1", CLI_MPI, "dim", fa, "--threads", "1"], env1),
        "np2": (MPIRUN + ["-np", "2", CLI_MPI, "dim", fa, "--threads", "1"], env1),
        "numpy": (["/usr/bin/python3", "-c", NUMPY, fa], env1),
    }
    times = {k: [] for k in cfg}
    deffs = {}
    for rep in range(a.reps):
        for k, (cmd, env) in cfg.items():
            dt, rss, out = run(cmd, env)
            times[k].append(dt)
            deffs[k] = deff_of(out)
        print("rep %d: %s" % (rep + 1, "  ".join("%s %.2fs" % (k, times[k][-1]) for k in cfg)), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    gb = os.path.getsize(fa) / 1e9
    print("\nA. dim, 1,000,000 x 512 float32 (%.2f GB), one BLAS thread per process, medians of %d" % (gb, a.reps))
    for k in cfg:
        print("  %-7s %7.2f s   D_eff %.6f   runs %s" % (k, med[k], deffs[k], " ".join("%.2f" % t for t in times[k])))
    eff = med["np1"] / (2 * med["np2"])
    print("  speed-up np1/np2 %.2f, efficiency %.0f %%; numpy/np1 %.2f" % (med["np1"] / med["np2"], 100 * eff,
                                                                         med["numpy"] / med["np1"]))
    # CPU time per rank: the work each rank does, whatever else runs on the
    # machine (a shared machine's load stretches the wall-clock times)
    cpu1, cpu2 = [], []
    for rep in range(a.reps):
        r1 = per_rank([CLI_MPI, "dim", fa, "--threads", "1"], env1, 1, "a")
        r2 = per_rank([CLI_MPI, "dim", fa, "--threads", "1"], env1, 2, "b")
        cpu1.append(r1[0][1])
        cpu2.append(max(v[1] for v in r2))
        print("  rep %d: CPU s np1 %.2f; np2 ranks %s; RSS MiB np2 ranks %s" % (
            rep + 1, r1[0][1], " ".join("%.2f" % v[1] for v in r2), " ".join("%.0f" % v[0] for v in r2)), flush=True)
    print("  CPU time of the busiest rank: np1 %.2f s, np2 %.2f s: work efficiency %.0f %%" % (
        statistics.median(cpu1), statistics.median(cpu2), 100 * statistics.median(cpu1) / (2 * statistics.median(cpu2))))

    # ---- B. out-of-core ----
    gb = os.path.getsize(fb) / 1e9
    print("\nB. out-of-core dim, 2,000,000 x 256 float32 (%.2f GB), 2 threads" % gb)
    disk = []
    for _ in range(a.reps):
        evict(fb)
        t0 = time.perf_counter()
        subprocess.run(["dd", "if=" + fb, "of=/dev/null", "bs=16M"], check=True, capture_output=True)
        disk.append(gb / (time.perf_counter() - t0))
    cold, warmt, rss, npy, nrss = [], [], [], [], []
    for _ in range(a.reps):
        evict(fb)
        dt, r, out = run([CLI, "dim", fb, "--threads", "2"], env2)
        cold.append(dt)
        rss.append(r)
        dt, r, out = run([CLI, "dim", fb, "--threads", "2"], env2)
        warmt.append(dt)
        d_deepcx = deff_of(out)
        dt, r, out = run(["/usr/bin/python3", "-c", NUMPY, fb], env2)
        npy.append(dt)
        nrss.append(r)
        d_numpy = deff_of(out)
    md = statistics.median
    print("  disk sequential read (dd, cold)   %.2f GB/s" % md(disk))
    print("  deepcx cold  %.2f s = %.2f GB/s (%.0f %% of the disk)" % (md(cold), gb / md(cold), 100 * gb / md(cold) / md(disk)))
    print("  deepcx warm  %.2f s = %.2f GB/s" % (md(warmt), gb / md(warmt)))
    print("  numpy warm   %.2f s = %.2f GB/s (numpy/deepcx %.2f)" % (md(npy), gb / md(npy), md(npy) / md(warmt)))
    print("  peak RSS: deepcx %.0f MiB, numpy %.0f MiB;  D_eff deepcx %.6f numpy %.6f" % (md(rss), md(nrss), d_deepcx, d_numpy))
    if not a.keep:
        os.unlink(fa)
        os.unlink(fb)
    if "C" in parts:
        part_c(a, env1)


if __name__ == "__main__":
    main()
