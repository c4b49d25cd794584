#!/usr/bin/env bash
# bench_complexity.sh — deepcx complexity against a straightforward Python
# reference (bench/ref_complexity.py: numpy + scikit-learn KMeans), same run,
# same machine, same fold split.
#   1. agreement of the eta ladders on the test cases (|x1| + 2|x2|, the
#      smooth map, the ReLU fixture) and on the benchmark input;
#   2. whole-process wall time, median of 3, on X, Y = 10,000 x 256 (a random
#      two-layer ReLU map; r = 64, ladder to K = 32), with the default threads
#      and with one thread for both.
# usage: bench/bench_complexity.sh [build/deepcx]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
CLI=${1:-$SRC/build/deepcx}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
$PY "$SRC/bench/bench_data.py" "$T"
cp "$SRC/tests/fixtures/cx_relu_x.npy" "$T/fix_x.npy"
cp "$SRC/tests/fixtures/cx_relu_y.npy" "$T/fix_y.npy"
cp "$SRC/tests/fixtures/cx_relu_folds.npy" "$T/fix_folds.npy"

echo "== agreement of eta(K) (same folds; k-means partitions differ: own vs sklearn random draws)"
for c in abs smooth fix relu2; do
    "$CLI" complexity --x "$T/${c}_x.npy" --y "$T/${c}_y.npy" --folds "$T/${c}_folds.npy" --json "$T/${c}_dcx.json" >/dev/null
    $PY "$SRC/bench/ref_complexity.py" "$T/${c}_x.npy" "$T/${c}_y.npy" "$T/${c}_folds.npy" "$T/${c}_ref.json"
    $PY - "$c" "$T/${c}_dcx.json" "$T/${c}_ref.json" <<'PYEOF'
import json, sys
name, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
print(f"-- {name}: r = {a['r']} (ref {b['r']})")
print("      K     eta deepcx     eta sklearn   rel.diff    H deepcx  H sklearn")
for x, y in zip(a["ladder"], b["ladder"]):
    rd = abs(x["eta"] - y["eta"]) / max(abs(y["eta"]), 1e-300)
    print(f"   {x['k']:4d}  {x['eta']:13.6g}  {y['eta']:13.6g}  {rd:9.2e}   {x['entropy']:8.4f}  {y['entropy']:8.4f}")
PYEOF
done

median3() { sort -g | sed -n 2p; }
run_time() { # command... -> seconds
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
X=$T/relu2_x.npy Y=$T/relu2_y.npy F=$T/relu2_folds.npy
echo
echo "== time, whole process, median of 3 (10,000 x 256 -> 10,000 x 256, ladder to K = 32)"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in default one; do
    d=() p=()
    for i in 1 2 3; do
        if [ $mode = one ]; then
            d+=("$(run_time "$CLI" complexity --x "$X" --y "$Y" --folds "$F" --threads 1 --json "$T/o.json")")
            p+=("$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 run_time $PY "$SRC/bench/ref_complexity.py" "$X" "$Y" "$F" "$T/r.json")")
        else
            d+=("$(run_time "$CLI" complexity --x "$X" --y "$Y" --folds "$F" --json "$T/o.json")")
            p+=("$(run_time $PY "$SRC/bench/ref_complexity.py" "$X" "$Y" "$F" "$T/r.json")")
        fi
    done
    md=$(printf '%s\n' "${d[@]}" | median3)
    mp=$(printf '%s\n' "${p[@]}" | median3)
    printf '   threads %-7s deepcx %6.2f s   python/sklearn %6.2f s   ratio %5.1fx   (runs: deepcx %s; python %s)\n' \
        $mode "$md" "$mp" "$(echo "$mp / $md" | bc -l)" "$(printf '%.2f ' "${d[@]}")" "$(printf '%.2f ' "${p[@]}")"
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
