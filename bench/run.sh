#!/usr/bin/env bash
# `make bench`: run every bench/bench_*.sh in turn (each compares deepcx with
# the Python tools in the same run; figures go to docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap --bench
for b in bench/bench_*.sh; do
  echo "== $b"
  bash "$b"
done
