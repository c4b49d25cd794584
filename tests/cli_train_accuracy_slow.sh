#!/bin/bash
# cli_train_accuracy_slow.sh (label "slow") — accuracy targets on
# Fashion-MNIST, 5 epochs each, cosine schedule, seed 1, one thread
# (deterministic):
#   mlp:256,256, SGD momentum 0.9, lr 0.05, batch 64     test accuracy >= 88 %
#   cnn:c16k5p2,pool2,c32k5p2,pool2,fc128, Adam lr 0.002, batch 128
#                                                         test accuracy >= 90 %
# Also checks that `deepcx eval` on the saved model reproduces the final test
# accuracy of summary.json. Skipped (exit 0 with a note) when the data set is
# not installed.
set -u
CLI=${DCX_CLI:-build/deepcx}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "SKIP: dataset-fashion-mnist not installed"
    exit 0
fi
check() { # name arch min_acc training-options...
    local name=$1 arch=$2 min=$3 t0=$SECONDS
    shift 3
    "$CLI" train --data fashion-mnist --arch "$arch" --epochs 5 --schedule cosine --seed 1 --threads 1 "$@" \
        --run "$T/$name" || fail "$name: training failed"
    local acc
    acc=$(sed -nE 's/.*"test_acc":[[:space:]]*([0-9.]+).*/\1/p' "$T/$name/summary.json")
    [ -n "$acc" ] || fail "$name: no test_acc in summary.json"
    echo "$name ($arch): test accuracy $acc after 5 epochs, $((SECONDS - t0)) s"
    awk -v a="$acc" -v m="$min" 'BEGIN {exit !(a >= m)}' || fail "$name: test accuracy $acc < $min"
    "$CLI" eval --model "$T/$name/model.dcx" --data fashion-mnist --json "$T/$name.eval.json" > /dev/null ||
        fail "$name: eval failed"
    local ev
    ev=$(sed -nE 's/.*"accuracy":[[:space:]]*([0-9.]+).*/\1/p' "$T/$name.eval.json")
    awk -v a="$acc" -v b="$ev" 'BEGIN {d = a - b; exit !(d < 1e-9 && d > -1e-9)}' ||
        fail "$name: eval accuracy $ev differs from the run's $acc"
}
check mlp mlp:256,256 0.88 --optimizer sgd --lr 0.05 --momentum 0.9 --batch 64
check cnn cnn:c16k5p2,pool2,c32k5p2,pool2,fc128 0.90 --optimizer adam --lr 0.002 --batch 128
echo "ok"
