#!/usr/bin/env bash
# cli_patterns.sh — end-to-end tests of `deepcx patterns`: exact answers on a
# file enumerating every pattern of 6 fair units (plus a dead and an
# always-on unit), reproducible JSON, and bad inputs (exit 2, no JSON).
set -u
CLI=${DCX_CLI:?}
FIX=${DCX_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
jnum() { sed -n "s/.*\"$1\":\t*\([-0-9.e+]*\),*$/\1/p" "$2" | head -1; }

# 64 rows: units 1..6 are the bits of the row number (on = 1.5, off = -0.5),
# unit 0 is dead (0 is not > 0), unit 7 always on.
for i in $(seq 0 63); do
    line="0"
    for j in 0 1 2 3 4 5; do
        if (( (i >> j) & 1 )); then line="$line,1.5"; else line="$line,-0.5"; fi
    done
    echo "$line,2"
done >"$T/fair.csv"

"$CLI" patterns "$T/fair.csv" --json "$T/a.json" >"$T/out.txt" || fail "normal run"
grep -q "SATURATED" "$T/out.txt" || fail "table does not flag saturation"
[ "$(jnum n "$T/a.json")" = 64 ] || fail "n"
[ "$(jnum d "$T/a.json")" = 8 ] || fail "d"
[ "$(jnum dead "$T/a.json")" = 1 ] || fail "dead"
[ "$(jnum always_on "$T/a.json")" = 1 ] || fail "always_on"
[ "$(jnum switching "$T/a.json")" = 6 ] || fail "switching"
[ "$(jnum distinct "$T/a.json")" = 64 ] || fail "distinct"
near "$(jnum entropy_sum "$T/a.json")" 4.1588830833596715 1e-12 || fail "entropy_sum != 6 ln 2"
near "$(jnum entropy "$T/a.json")" 4.1588830833596715 1e-12 || fail "entropy != ln 64"
near "$(jnum entropy_mm "$T/a.json")" 4.6510705833596715 1e-12 || fail "Miller-Madow != ln 64 + 63/128"
grep -q '"saturated":	true' "$T/a.json" || fail "saturated"
for key in '"scale":' '"multi_information":' '"zipf":' '"exponent":' '"ranks":' '"seed":' '"blas":' '"version":'; do
    grep -q "$key" "$T/a.json" || fail "JSON lacks $key"
done
# threshold above every value: one pattern, all dead
"$CLI" patterns "$T/fair.csv" --threshold 5 --json "$T/t.json" >/dev/null || fail "threshold run"
[ "$(jnum dead "$T/t.json")" = 8 ] || fail "threshold 5: dead"
[ "$(jnum distinct "$T/t.json")" = 1 ] || fail "threshold 5: distinct"

# the ReLU fixture: reproducible with the same seed
"$CLI" patterns "$FIX/cx_relu_y.npy" --seed 3 --json "$T/b.json" >/dev/null || fail "run b"
"$CLI" patterns "$FIX/cx_relu_y.npy" --seed 3 --json "$T/c.json" >/dev/null || fail "run c"
cmp -s "$T/b.json" "$T/c.json" || fail "same seed: JSON differs"

bad() {
    local want=$1
    shift
    rm -f "$T/bad.json"
    "$CLI" patterns "$@" --json "$T/bad.json" >/dev/null 2>"$T/err.txt"
    local rc=$?
    [ $rc -eq 2 ] || fail "$*: exit $rc, expected 2"
    [ "$(wc -l <"$T/err.txt")" -eq 1 ] || fail "$*: stderr is not one line: $(cat "$T/err.txt")"
    grep -q "^deepcx patterns: " "$T/err.txt" || fail "$*: no prefix"
    grep -q -- "$want" "$T/err.txt" || fail "$*: message lacks '$want': $(cat "$T/err.txt")"
    [ ! -e "$T/bad.json" ] || fail "$*: a JSON file was written"
}
bad "no-such.npy" "$T/no-such.npy"
bad "groups" "$T/fair.csv" --groups 0
bad "max-group" "$T/fair.csv" --max-group 65
bad "threshold" "$T/fair.csv" --threshold abc
bad "required" --seed 1
{ echo "1,2"; echo "3,inf"; } >"$T/inf.csv"
bad "inf.csv" "$T/inf.csv"
head -c 100 "$FIX/cx_relu_y.npy" >"$T/trunc.npy"
bad "trunc.npy" "$T/trunc.npy"
"$CLI" patterns --help | grep -q "Miller-Madow" || fail "--help"

[ $fails -eq 0 ] && echo "cli_patterns: all passed"
exit $((fails > 0))
