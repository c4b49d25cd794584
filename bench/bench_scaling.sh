#!/usr/bin/env bash
# Scaling benchmark (bench/bench_scaling.py): strong scaling of `deepcx dim`
# from 1 to 2 MPI ranks on 1,000,000 x 512 float32, and the out-of-core
# throughput and memory of `deepcx dim` on 2,000,000 x 256 float32 against
# the disk's sequential read speed, with numpy's blocked equivalent in the
# same run; strong scaling of `deepcx complexity` on 100,000 x 256 (part C;
# `--parts C` runs it alone). Needs build/ and build-mpi/ (make; make MPI=1).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -qq time >/dev/null 2>&1 || { echo "bench_scaling: install Debian 'time'" >&2; exit 2; }
fi
[ -x build/deepcx ] || make build
if [ ! -x build-mpi/deepcx ]; then
  bash scripts/bootstrap
  make MPI=1
fi
exec /usr/bin/python3 bench/bench_scaling.py "$@"
