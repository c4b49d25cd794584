#!/usr/bin/env bash
# Tracking along training, deepcx analyze: schedule, trajectory invariance,
# killed runs, bad input.
set -u
CLI=${DCX_CLI:?}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
DATA=gmm:classes=4,d=10,n=6000
COMMON=(--data "$DATA" --arch mlp:32,32 --epochs 2 --batch 128 --threads 1 --seed 3)

# 1. tracking does not change the trajectory: identical model files
"$CLI" train "${COMMON[@]}" --run "$T/plain" > /dev/null 2> "$T/e1" || bad "plain run failed: $(cat "$T/e1")"
"$CLI" train "${COMMON[@]}" --run "$T/tracked" --track all --probe 800 > "$T/o2" 2> "$T/e2" || bad "tracked run failed: $(cat "$T/e2")"
cmp -s "$T/plain/model.dcx" "$T/tracked/model.dcx" && ok || bad "--track changed the final weights"

# 2. the schedule: 5000 train samples / 128 = 40 steps an epoch, 80 in all;
#    log:10 gives 0 1 2 3 4 5 6 8 10 13 16 20 25 32 40 50 63 79, plus the end (80)
steps=$(grep '"type":"measure"' "$T/tracked/metrics.jsonl" | sed 's/.*"step":\([0-9]*\),.*/\1/' | tr '\n' ' ')
[ "$steps" = "0 1 2 3 4 5 6 8 10 13 16 20 25 32 40 50 63 79 80 " ] && ok || bad "schedule: got '$steps'"
[ "$(grep -c '"type":"epoch"' "$T/tracked/metrics.jsonl")" -eq 2 ] && ok || bad "expected 2 epoch lines"
grep -q '"layer2":{"units":32,"deff":' "$T/tracked/metrics.jsonl" && ok || bad "measure lines lack layer2.deff"
grep -q '"complexity_cum"' "$T/tracked/metrics.jsonl" && grep -q '"pattern_entropy"' "$T/tracked/metrics.jsonl" && ok || bad "observables missing"
grep -q '"tracking_share"' "$T/tracked/summary.json" && ok || bad "summary.json lacks tracking_share"
grep -q 'tracking: 19 measurements' "$T/o2" && ok || bad "expected 'tracking: 19 measurements': $(cat "$T/o2")"
# log:3 over 80 steps: 0 1 2 5 10 22 46 (and epoch ends 40, 80)
"$CLI" train "${COMMON[@]}" --run "$T/sparse" --track dim --track-schedule log:3 --probe 500 > /dev/null 2>&1 || bad "log:3 run failed"
steps=$(grep '"type":"measure"' "$T/sparse/metrics.jsonl" | sed 's/.*"step":\([0-9]*\),.*/\1/' | tr '\n' ' ')
[ "$steps" = "0 1 2 5 10 22 40 46 80 " ] && ok || bad "log:3 schedule: got '$steps'"
grep -q '"eta1"' "$T/sparse/metrics.jsonl" && bad "--track dim should not measure complexity" || ok

# 3. a killed run keeps every complete line, and --resume completes the schedule
"$CLI" train --data gmm:classes=4,d=10,n=60000 --arch mlp:64,64 --epochs 2 --threads 1 --seed 3 \
  --run "$T/killed" --track dim,patterns --probe 500 --checkpoint-steps 50 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ -f "$T/killed/metrics.jsonl" ] && [ "$(wc -l < "$T/killed/metrics.jsonl")" -ge 24 ] && break
  sleep 0.1
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
n=$(wc -l < "$T/killed/metrics.jsonl")
[ "$n" -ge 10 ] && ok || bad "killed run: only $n lines"
"$CLI" fit "$T/killed" > "$T/fitk" 2> "$T/efitk"; rc=$?
[ $rc -eq 0 ] && ok || bad "fit on a killed run: exit $rc $(cat "$T/efitk")"
"$CLI" train --data gmm:classes=4,d=10,n=60000 --arch mlp:64,64 --epochs 2 --threads 1 --seed 3 \
  --run "$T/killed" --track dim,patterns --probe 500 --checkpoint-steps 50 --resume > /dev/null 2> "$T/eres" || bad "resume failed: $(cat "$T/eres")"
"$CLI" train --data gmm:classes=4,d=10,n=60000 --arch mlp:64,64 --epochs 2 --threads 1 --seed 3 \
  --run "$T/whole" --track dim,patterns --probe 500 --checkpoint-steps 50 > /dev/null 2>&1 || bad "uninterrupted run failed"
s1=$(grep '"type":"measure"' "$T/killed/metrics.jsonl" | sed 's/.*"step":\([0-9]*\),.*/\1/' | tr '\n' ' ')
s2=$(grep '"type":"measure"' "$T/whole/metrics.jsonl" | sed 's/.*"step":\([0-9]*\),.*/\1/' | tr '\n' ' ')
[ -n "$s1" ] && [ "$s1" = "$s2" ] && ok || bad "resumed schedule differs: '$s1' vs '$s2'"
cmp -s "$T/killed/model.dcx" "$T/whole/model.dcx" && ok || bad "resumed tracked run ends with different weights"
# the measurements themselves are identical (the probe and the weights are)
a=$(grep '"step":200,' "$T/killed/metrics.jsonl" | sed 's/"measure_seconds":[0-9.e-]*//')
b=$(grep '"step":200,' "$T/whole/metrics.jsonl" | sed 's/"measure_seconds":[0-9.e-]*//')
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "measurement at step 200 differs after resume"

# 4. analyze
"$CLI" analyze --model "$T/tracked/model.dcx" --data "$DATA" --data-seed 3 --probe 800 \
  --save-activations "$T/acts" --json "$T/an.json" > "$T/an.txt" 2> "$T/ean" || bad "analyze failed: $(cat "$T/ean")"
for f in input layer1 layer1.pre layer2 logits labels; do [ -s "$T/acts/$f.npy" ] && ok || bad "missing $f.npy"; done
grep -q '^layer2 ' "$T/an.txt" && ok || bad "analyze table lacks layer2"
# the profile equals the last tracked measurement (same probe, seed, weights)
last=$(grep '"type":"measure"' "$T/tracked/metrics.jsonl" | tail -1 | sed 's/.*"logits":{"units":4,"deff":\([0-9.e-]*\),.*/\1/')
an=$(tr -d ' \t\n' < "$T/an.json" | sed 's/.*"logits":{"units":4,"deff":\([0-9.e-]*\),.*/\1/')
awk -v a="$last" -v b="$an" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(a!="" && d<=1e-9*a)}' && ok || bad "analyze logits deff $an != tracked $last"

expect2() { local d=$1; shift; "$@" > /dev/null 2> "$T/e"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/e")" -eq 1 ]; then ok; else bad "$d: exit $rc: $(cat "$T/e")"; fi; }
expect2 "unknown observable" "$CLI" train "${COMMON[@]}" --run "$T/x1" --track dim,entropy
grep -q "'entropy'" "$T/e" && ok || bad "message should name 'entropy'"
expect2 "bad schedule" "$CLI" train "${COMMON[@]}" --run "$T/x2" --track dim --track-schedule lin:3
expect2 "analyze: bad observable" "$CLI" analyze --model "$T/tracked/model.dcx" --data "$DATA" --observables foo
expect2 "analyze: data mismatch" "$CLI" analyze --model "$T/tracked/model.dcx" --data gmm:classes=3,d=10,n=600
expect2 "analyze: missing model" "$CLI" analyze --model "$T/none.dcx" --data "$DATA"
[ ! -e "$T/x1" ] && ok || bad "a refused run left a directory"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
