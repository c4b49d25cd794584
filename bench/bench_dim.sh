#!/usr/bin/env bash
# Benchmark of `deepcx dim` (see bench/bench_dim.py): deepcx vs scikit-learn
# PCA and numpy cov+eigvalsh on a 60,000 x 1,024 float32 .npy, same threads.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -qq time >/dev/null 2>&1 || { echo "bench_dim: install Debian 'time' (/usr/bin/time)" >&2; exit 2; }
fi
[ -x build/deepcx ] || make build
exec /usr/bin/python3 bench/bench_dim.py "$@"
