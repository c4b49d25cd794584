#!/bin/bash
# cli_train_resume.sh — exact resume: a run killed with SIGKILL mid-epoch and
# continued with --resume ends with a model.dcx byte-identical (cmp) to an
# uninterrupted run (single-thread deterministic mode). Also: --resume with a
# different setting exits 2 naming the setting; --resume of a missing run
# exits 2; a fresh run into a used directory exits 2.
set -u
CLI=${DCX_CLI:-build/deepcx}
T=$(mktemp -d)
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
PID=
fail() { echo "FAIL: $*"; exit 1; }

ARGS=(--data gmm:classes=10,d=100,n=30000 --arch mlp:512,512 --epochs 2 --batch 32 --threads 1
      --checkpoint-steps 50 --seed 7)

"$CLI" train "${ARGS[@]}" --run "$T/full" > "$T/full.out" || fail "uninterrupted run failed"
[ -s "$T/full/model.dcx" ] || fail "no model.dcx"

# interrupted run: kill it with SIGKILL right after its first mid-epoch checkpoint
"$CLI" train "${ARGS[@]}" --run "$T/part" > "$T/part.out" 2>&1 &
PID=$!
for i in $(seq 1 600); do
    [ -s "$T/part/checkpoint.dcx" ] && break
    sleep 0.02
done
kill -9 $PID
wait $PID 2>/dev/null
[ -s "$T/part/checkpoint.dcx" ] || fail "no checkpoint before the kill"
[ -e "$T/part/model.dcx" ] && fail "run finished before the kill (test data too small)"
[ -s "$T/part/metrics.jsonl" ] && fail "killed after the first epoch, expected mid-epoch"

"$CLI" train "${ARGS[@]}" --run "$T/part" --resume > "$T/resume.out" 2> "$T/resume.err" || {
    cat "$T/resume.err"; fail "resume failed"; }
grep -q "resuming .* at step [1-9]" "$T/resume.err" || fail "did not resume from a checkpoint: $(cat "$T/resume.err")"
echo "$(cat "$T/resume.err")"
cmp "$T/full/model.dcx" "$T/part/model.dcx" || fail "model.dcx differs between the uninterrupted and the resumed run"
# the epoch lines of metrics.jsonl agree in every value except timing
strip() { sed -E 's/,"seconds":.*/}/' "$1"; }
diff <(strip "$T/full/metrics.jsonl") <(strip "$T/part/metrics.jsonl") || fail "metrics.jsonl differs"
[ "$(wc -l < "$T/part/metrics.jsonl")" = 2 ] || fail "metrics.jsonl should have 2 epoch lines"

# --resume with a different configuration: exit 2, one line naming the setting
"$CLI" train "${ARGS[@]}" --lr 0.1 --run "$T/part" --resume > /dev/null 2> "$T/err"
rc=$?
[ $rc = 2 ] || fail "resume with another lr: exit $rc, expected 2"
[ "$(wc -l < "$T/err")" = 1 ] || fail "expected one line: $(cat "$T/err")"
grep -q "setting 'lr' differs" "$T/err" || fail "message does not name lr: $(cat "$T/err")"
"$CLI" train "${ARGS[@]/mlp:512,512/mlp:64}" --run "$T/part" --resume > /dev/null 2> "$T/err"
[ $? = 2 ] && grep -q "setting 'arch' differs" "$T/err" || fail "arch change not refused: $(cat "$T/err")"
# --resume of a directory without a run; fresh run into a used directory
"$CLI" train "${ARGS[@]}" --run "$T/none" --resume > /dev/null 2> "$T/err"
[ $? = 2 ] && grep -q "no run to resume" "$T/err" || fail "resume of nothing: $(cat "$T/err")"
"$CLI" train "${ARGS[@]}" --run "$T/full" > /dev/null 2> "$T/err"
[ $? = 2 ] && grep -q "already holds a run" "$T/err" || fail "reuse of a run directory: $(cat "$T/err")"
echo "ok: resumed run is byte-identical"
