#!/bin/bash
# cli_train_errors.sh — bad input to `deepcx train` and `deepcx eval`: every
# case exits 2 with ONE line on stderr that names the problem, and leaves no
# partial output (no config.json / model.dcx for a run that never started).
set -u
CLI=${DCX_CLI:-build/deepcx}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect_err PATTERN CMD...: exit 2, one line, matching PATTERN
expect_err() {
    local pat=$1
    shift
    "$@" > "$T/out" 2> "$T/err"
    local rc=$?
    [ $rc = 2 ] || fail "exit $rc (expected 2): $*: $(cat "$T/err")"
    [ "$(wc -l < "$T/err")" = 1 ] || fail "expected one line from $*: $(cat "$T/err")"
    grep -q -- "$pat" "$T/err" || fail "message of $* lacks '$pat': $(cat "$T/err")"
}
G=gmm:classes=3,d=5,n=600

# architecture strings: the error points at the bad token
expect_err "arch 'cnn:c16k5p2,pol2': unknown token 'pol2' at position 2" \
    "$CLI" train --data $G --arch cnn:c16k5p2,pol2 --run "$T/a"
[ -e "$T/a/config.json" ] && fail "config.json written for a run that never started"
expect_err "bad width 'x' at position 2" "$CLI" train --data $G --arch mlp:8,x --run "$T/a"
expect_err "expected 'mlp:WIDTHS' or 'cnn:LAYERS'" "$CLI" train --data $G --arch rnn:3 --run "$T/a"
# data specs
expect_err "unknown key 'dd'" "$CLI" train --data gmm:classes=3,dd=4 --run "$T/a"
expect_err "unknown source 'foo'" "$CLI" train --data foo:1 --run "$T/a"
expect_err "bad value 'x' for n" "$CLI" train --data gmm:n=x --run "$T/a"
expect_err "not found" "$CLI" train --data idx:"$T/nodir" --run "$T/a"
expect_err "nope.csv" "$CLI" train --data csv:"$T/nope.csv" --run "$T/a"
# options
expect_err "--optimizer" "$CLI" train --data $G --optimizer rmsprop --run "$T/a"
expect_err "--run DIR is required" "$CLI" train --data $G

# an IDX directory (raw, 2x2 images) whose test labels exceed the train classes
byte() { printf "\\$(printf %03o "$1")"; }
mk_idx() { # dir prefix labels...
    local d=$1 p=$2
    shift 2
    local n=$#
    { printf '\x00\x00\x08\x03\x00\x00\x00'; byte "$n"; printf '\x00\x00\x00\x02\x00\x00\x00\x02'
      for l in "$@"; do printf '\x10\x20\x30'; byte $((l * 40)); done; } > "$d/$p-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01\x00\x00\x00'; byte "$n"; for l in "$@"; do byte "$l"; done; } \
        > "$d/$p-labels-idx1-ubyte"
}
mkdir -p "$T/idx"
mk_idx "$T/idx" train 0 1 0 1 0 1 0 1
mk_idx "$T/idx" t10k 0 1 5 1
expect_err "t10k-labels-idx1-ubyte: label 5 of sample 2 out of range \[0, 2)" \
    "$CLI" train --data idx:"$T/idx" --arch mlp:4 --run "$T/a"
# the same directory with consistent labels trains
mk_idx "$T/idx" t10k 0 1 1 1
"$CLI" train --data idx:"$T/idx" --arch mlp:4 --epochs 1 --run "$T/ok" > /dev/null || fail "tiny idx run failed"
# a truncated image file
head -c 20 "$T/idx/train-images-idx3-ubyte" > "$T/idx/t" && mv "$T/idx/t" "$T/idx/train-images-idx3-ubyte"
expect_err "train-images-idx3-ubyte" "$CLI" train --data idx:"$T/idx" --arch mlp:4 --run "$T/a"
# CIFAR-10 directory with a file of the wrong size; then a bad label byte
mkdir -p "$T/cifar"
head -c 3000 /dev/zero > "$T/cifar/data_batch_1.bin"
expect_err "data_batch_1.bin: size 3000 is not a multiple" "$CLI" train --data cifar10:"$T/cifar" --run "$T/a"
for i in 1 2 3 4 5; do head -c 3073 /dev/zero > "$T/cifar/data_batch_$i.bin"; done
{ printf '\x0c'; head -c 3072 /dev/zero; } > "$T/cifar/test_batch.bin"
expect_err "test_batch.bin: record 0: label 12 out of range" "$CLI" train --data cifar10:"$T/cifar" --run "$T/a"
# CSV label out of range (negative)
printf '0,1.0,2.0\n1,0.5,0.1\n-1,0.3,0.3\n' > "$T/bad.csv"
expect_err "bad.csv: row 3: label -1" "$CLI" train --data csv:"$T/bad.csv" --run "$T/a"

# a model, then corrupt it
"$CLI" train --data $G --arch mlp:8 --epochs 1 --run "$T/m" > /dev/null || fail "small run failed"
"$CLI" eval --model "$T/m/model.dcx" --data $G > /dev/null || fail "eval of a good model failed"
cp "$T/m/model.dcx" "$T/flip.dcx"
printf '\x55' | dd of="$T/flip.dcx" bs=1 seek=120 conv=notrunc 2> /dev/null
cmp -s "$T/flip.dcx" "$T/m/model.dcx" && fail "byte flip did not change the file"
expect_err "flip.dcx: checksum mismatch" "$CLI" eval --model "$T/flip.dcx" --data $G
{ printf 'XXXX'; tail -c +5 "$T/m/model.dcx"; } > "$T/magic.dcx"
expect_err "magic.dcx: not a deepcx model file (bad magic)" "$CLI" eval --model "$T/magic.dcx" --data $G
{ head -c 4 "$T/m/model.dcx"; printf '\x09\x00\x00\x00'; tail -c +9 "$T/m/model.dcx"; } > "$T/ver.dcx"
expect_err "ver.dcx: unsupported model file version 9" "$CLI" eval --model "$T/ver.dcx" --data $G
head -c 50 "$T/m/model.dcx" > "$T/short.dcx"
expect_err "short.dcx: checksum mismatch" "$CLI" eval --model "$T/short.dcx" --data $G
expect_err "has 1x1x7 samples, the model expects 1x1x5" "$CLI" eval --model "$T/m/model.dcx" --data gmm:classes=3,d=7,n=600
# eval --json into a missing directory fails before work, writes nothing
expect_err "cannot write there" "$CLI" eval --model "$T/m/model.dcx" --data $G --json "$T/nodir/x.json"

# a diverging run: one line, exit 2, no model, the last good checkpoint kept
"$CLI" train --data $G --arch mlp:16 --epochs 3 --lr 1e5 --momentum 0.99 --run "$T/div" > /dev/null 2> "$T/err"
rc=$?
[ $rc = 2 ] || fail "diverging run: exit $rc: $(cat "$T/err")"
grep -q "training diverged: loss is" "$T/err" || fail "diverging run message: $(cat "$T/err")"
[ "$(wc -l < "$T/err")" = 1 ] || fail "diverging run: more than one line"
[ -e "$T/div/model.dcx" ] && fail "diverging run wrote a model"
echo "ok"
