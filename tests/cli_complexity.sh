#!/usr/bin/env bash
# cli_complexity.sh — end-to-end tests of `deepcx complexity`: results on the
# committed ReLU fixture, reproducible JSON, thread independence, and every
# bad input giving exit 2, one line on stderr and no JSON file.
set -u
CLI=${DCX_CLI:?}
FIX=${DCX_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

X=$FIX/cx_relu_x.npy
Y=$FIX/cx_relu_y.npy

# --- a normal run: table and JSON ---
"$CLI" complexity --x "$X" --y "$Y" --seed 5 --json "$T/a.json" >"$T/out.txt" 2>"$T/err.txt" || fail "normal run exit $?"
grep -q "eta(K)" "$T/out.txt" || fail "no ladder table"
grep -q "C(0.05)" "$T/out.txt" || fail "no C(0.05) line"
for key in '"n":' '"dx":' '"dy":' '"r":' '"eta1":' '"ladder":' '"complexity":' '"gamma":' \
           '"nonlinearity_dim":' '"seed":' '"threads":' '"version":' '"blas":'; do
    grep -q "$key" "$T/a.json" || fail "JSON lacks $key"
done
grep -q '"n":	1200' "$T/a.json" || fail "n is not 1200"
grep -q '"r":	8' "$T/a.json" || fail "r is not 8"
# eta1 in (0.2, 0.32): numpy gives 0.2626 on its own split (tests/fixtures)
eta1=$(sed -n 's/^\t"eta1":\t\([0-9.e-]*\),/\1/p' "$T/a.json")
awk -v e="$eta1" 'BEGIN { exit !(e > 0.2 && e < 0.32) }' || fail "eta1 = $eta1 outside (0.2, 0.32)"
# ladder K = 1 .. 32 (N / (4 (r+1)) = 33)
[ "$(grep -c '"k":' "$T/a.json")" -ge 6 ] || fail "ladder too short"
grep -q '"k":	32' "$T/a.json" || fail "ladder does not reach K = 32"

# --- .npz members
"$CLI" complexity --x "$FIX/cx_xy.npz" --x-array x --y "$FIX/cx_xy.npz" --y-array y --json "$T/z.json" >/dev/null \
    || fail "npz members"
grep -q '"n":	100' "$T/z.json" || fail "npz: n is not 100"
bad_member_rc=0
"$CLI" complexity --x "$FIX/cx_xy.npz" --x-array nope --y "$FIX/cx_xy.npz" --y-array y >/dev/null 2>&1 || bad_member_rc=$?
[ $bad_member_rc -eq 2 ] || fail "missing npz member: exit $bad_member_rc"

# --- the numpy fold split gives numpy's eta(1) (tests/fixtures/make_cx_fixtures.py)
"$CLI" complexity --x "$X" --y "$Y" --folds "$FIX/cx_relu_folds.npy" --json "$T/f.json" >/dev/null || fail "--folds run"
eta1=$(sed -n 's/^\t"eta1":\t\([0-9.e-]*\),/\1/p' "$T/f.json")
awk -v e="$eta1" 'BEGIN { d = e - 0.262615687909693; if (d < 0) d = -d; exit !(d < 1e-6) }' \
    || fail "eta1 with the numpy folds = $eta1, numpy 0.262615687909693"
bad_folds_rc=0
"$CLI" complexity --x "$X" --y "$Y" --folds "$FIX/cx_relu_eta1.npy" >/dev/null 2>&1 || bad_folds_rc=$?
[ $bad_folds_rc -eq 2 ] || fail "a fold file of the wrong length: exit $bad_folds_rc"

# --- same seed and threads: identical JSON; threads 1 vs 2: same numbers ---
"$CLI" complexity --x "$X" --y "$Y" --seed 5 --threads 2 --json "$T/b.json" >/dev/null || fail "run b"
"$CLI" complexity --x "$X" --y "$Y" --seed 5 --threads 2 --json "$T/c.json" >/dev/null || fail "run c"
cmp -s "$T/b.json" "$T/c.json" || fail "same seed and threads: JSON differs"
"$CLI" complexity --x "$X" --y "$Y" --seed 5 --threads 1 --json "$T/d.json" >/dev/null || fail "run d"
nums() { grep -E '"(eta|entropy|value|eta1)":' "$1" | sed 's/.*:\t*//; s/,$//'; }
paste <(nums "$T/b.json") <(nums "$T/d.json") | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-12) bad = 1 }
    END { exit bad }' || fail "threads 1 vs 2 differ by more than 1e-12"
# the reduced X and Y in a scratch file (--memory 0): the same JSON
TMPDIR="$T" "$CLI" complexity --x "$X" --y "$Y" --seed 5 --threads 2 --memory 0 --json "$T/m.json" >/dev/null \
  || fail "--memory 0"
cmp -s "$T/b.json" "$T/m.json" || fail "--memory 0: JSON differs from the run in memory"
ls "$T" | grep -q deepcx-scratch && fail "--memory 0 left a scratch file"
"$CLI" complexity --x "$X" --y "$Y" --json - --eps 0.2 >"$T/stdout.json" || fail "--json -"
grep -q '"eps":	0.2' "$T/stdout.json" || fail "--json - output"

# --- bad inputs: exit 2, one line naming the problem, no JSON file ---
bad() { # expected-substring args...
    local want=$1
    shift
    rm -f "$T/bad.json"
    "$CLI" complexity "$@" --json "$T/bad.json" >/dev/null 2>"$T/err.txt"
    local rc=$?
    [ $rc -eq 2 ] || fail "$*: exit $rc, expected 2"
    [ "$(wc -l <"$T/err.txt")" -eq 1 ] || fail "$*: stderr is not one line: $(cat "$T/err.txt")"
    grep -q "^deepcx complexity: " "$T/err.txt" || fail "$*: no 'deepcx complexity:' prefix"
    grep -q -- "$want" "$T/err.txt" || fail "$*: message lacks '$want': $(cat "$T/err.txt")"
    [ ! -e "$T/bad.json" ] || fail "$*: a JSON file was written"
    ls "$T" | grep -q 'bad.json.tmp' && fail "$*: a temporary file was left"
}
# mismatched rows: 40 rows of X against 1200 of Y
for i in $(seq 1 40); do echo "$i,$((i * i % 7)),$((i % 5))"; done >"$T/x40.csv"
bad "rows" --x "$T/x40.csv" --y "$Y"
# Y of zero variance
for i in $(seq 1 40); do echo "2.5,1"; done >"$T/yconst.csv"
bad "zero variance" --x "$T/x40.csv" --y "$T/yconst.csv"
bad "yconst.csv" --x "$T/x40.csv" --y "$T/yconst.csv"
# too few samples: r = 3 needs 2 * 4 * (3 + 1) = 32 for K = 2; give 20
head -20 "$T/x40.csv" >"$T/x20.csv"
for i in $(seq 1 20); do echo "$((i * 3 % 11)).5"; done >"$T/y20.csv"
bad "at least 32" --x "$T/x20.csv" --y "$T/y20.csv"
bad "eps" --x "$X" --y "$Y" --eps 0
bad "eps" --x "$X" --y "$Y" --eps 0.1,1.5
bad "kmax" --x "$X" --y "$Y" --kmax 0
bad "no-such-file.npy" --x "$T/no-such-file.npy" --y "$Y"
bad "required" --x "$X"
bad "unknown" --x "$X" --y "$Y" --bogus
# a NaN in X
{ echo "1,2"; echo "nan,3"; for i in $(seq 1 38); do echo "$i,$((i % 3))"; done; } >"$T/xnan.csv"
bad "NaN" --x "$T/xnan.csv" --y "$T/yconst.csv"
# a JSON path in a missing directory is refused before the work
"$CLI" complexity --x "$X" --y "$Y" --json "$T/nodir/o.json" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing output directory: exit not 2"

# --- help ---
"$CLI" complexity --help | grep -q "nonlinearity dimension" || fail "--help"

[ $fails -eq 0 ] && echo "cli_complexity: all passed"
exit $((fails > 0))
