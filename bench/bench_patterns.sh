#!/usr/bin/env bash
# bench_patterns.sh — deepcx patterns against a numpy reference
# (bench/ref_patterns.py: np.packbits + np.unique(axis=0) + the same
# entropies) on 10,000 x 1,024 float32 ReLU activations: agreement of the
# deterministic outputs, then whole-process wall time, median of 3.
# usage: bench/bench_patterns.sh [build/deepcx]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
CLI=${1:-$SRC/build/deepcx}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
$PY "$SRC/bench/bench_data.py" "$T"
A=$T/act.npy
"$CLI" patterns "$A" --json "$T/d.json" >/dev/null
$PY "$SRC/bench/ref_patterns.py" "$A" "$T/r.json"
echo "== agreement (10,000 x 1,024)"
$PY - "$T/d.json" "$T/r.json" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in ("dead", "always_on", "switching", "entropy_sum"):
    print(f"   units.{k:12s} deepcx {a['units'][k]!r:>22}  numpy {b['units'][k]!r:>22}")
for k in ("distinct", "entropy", "entropy_mm", "saturated"):
    print(f"   patterns.{k:9s} deepcx {a['patterns'][k]!r:>22}  numpy {b['patterns'][k]!r:>22}")
print(f"   zipf exponent      deepcx {a['zipf']['exponent']!r:>22}  numpy {b['zipf']['exponent']!r:>22}")
print("   scale curve (different random groups):  n  H deepcx  H numpy   I deepcx  I numpy")
for x, y in zip(a["scale"], b["scale"]):
    print(f"   {'':38s}{x['n']:3d}  {x['entropy']:8.4f} {y['entropy']:8.4f}  {x['multi_information']:8.4f} {y['multi_information']:8.4f}")
PYEOF
median3() { sort -g | sed -n 2p; }
run_time() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
echo
echo "== time, whole process, median of 3; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
d=() p=()
for i in 1 2 3; do
    d+=("$(run_time "$CLI" patterns "$A" --json "$T/o.json")")
    p+=("$(run_time $PY "$SRC/bench/ref_patterns.py" "$A" "$T/q.json")")
done
md=$(printf '%s\n' "${d[@]}" | median3)
mp=$(printf '%s\n' "${p[@]}" | median3)
printf '   deepcx %6.2f s   numpy %6.2f s   ratio %5.1fx   (runs: deepcx %s; numpy %s)\n' \
    "$md" "$mp" "$(echo "$mp / $md" | bc -l)" "$(printf '%.2f ' "${d[@]}")" "$(printf '%.2f ' "${p[@]}")"
