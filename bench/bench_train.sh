#!/bin/bash
# bench_train.sh — training throughput of deepcx against PyTorch CPU in the
# same run: one epoch of Fashion-MNIST at batch 128, SGD momentum, same
# architecture and thread count, REPS repetitions interleaved (deepcx, torch,
# deepcx, torch, ...), medians. Reports wall-clock samples/s and samples per
# CPU-second (process CPU time of the training loop: robust to other load
# on a shared machine, meaningful for THREADS=1).
# usage: bench/bench_train.sh [REPS=3] [THREADS=1 2]   (env CLI=build/deepcx, ARCHS="mlp:512,512 cnn:...")
set -eu
REPS=${1:-3}
shift || true
THREADS=${*:-1 2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CLI=${CLI:-$SRC/build/deepcx}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '| network | threads | deepcx samples/s | PyTorch samples/s | ratio (wall) | deepcx samples/CPU-s | PyTorch samples/CPU-s | ratio (CPU) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for arch in ${ARCHS:-mlp:512,512 cnn:c16k5p2,pool2,c32k5p2,pool2,fc128}; do
    for th in $THREADS; do
        : > "$T/d"; : > "$T/dc"; : > "$T/p"; : > "$T/pc"
        for r in $(seq 1 "$REPS"); do
            rm -rf "$T/run"
            "$CLI" train --data fashion-mnist --arch "$arch" --epochs 1 --batch 128 --threads "$th" --run "$T/run" > /dev/null
            sed -E 's/.*"samples_per_sec":([0-9.]+).*/\1/' "$T/run/metrics.jsonl" >> "$T/d"
            sed -E 's/.*"cpu_seconds":([0-9.]+).*/\1/' "$T/run/metrics.jsonl" | awk '{print 60000/$1}' >> "$T/dc"
            # torch.set_num_threads does not reach the OpenBLAS that Debian's PyTorch
            # uses for its matrix products: pin that too, for the same thread count
            out=$(OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th /usr/bin/python3 "$SRC/bench/ref_train.py" "$arch" "$th" 1 128)
            echo "$out" | sed -E 's/.*samples_per_sec=([0-9.]+) .*/\1/' >> "$T/p"
            echo "$out" | sed -E 's/.*samples_per_cpu_sec=([0-9.]+) .*/\1/' >> "$T/pc"
        done
        d=$(median < "$T/d"); p=$(median < "$T/p"); dc=$(median < "$T/dc"); pc=$(median < "$T/pc")
        printf '| %s | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |\n' "$arch" "$th" "$d" "$p" \
            "$(echo "$d / $p" | bc -l)" "$dc" "$pc" "$(echo "$dc / $pc" | bc -l)"
    done
done
echo
echo "ratio > 1: deepcx faster. Medians of $REPS interleaved runs; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
