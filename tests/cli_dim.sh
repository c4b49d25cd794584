#!/usr/bin/env bash
# cli_dim.sh — end-to-end tests of `deepcx dim`: a valid run with known values
# (table and JSON), bad inputs and bad options (exit 2, one line on stderr
# naming the file, no JSON file left behind).
set -u
CLI=${DCX_CLI:-build/deepcx}
FIX=${DCX_FIXTURES:-tests/fixtures}/dim
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect_bad DESCRIPTION NAME-IN-MESSAGE ARGS...: exit 2, one stderr line naming NAME, no JSON
expect_bad() {
  local what=$1 name=$2
  shift 2
  rm -f "$T/out.json"
  "$CLI" dim "$@" --json "$T/out.json" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
  [ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "$what: stderr has $(wc -l <"$T/stderr") lines: $(cat "$T/stderr")"
  grep -q "^deepcx dim: " "$T/stderr" || fail "$what: message does not start with 'deepcx dim: ': $(cat "$T/stderr")"
  grep -qF -- "$name" "$T/stderr" || fail "$what: message does not name '$name': $(cat "$T/stderr")"
  [ ! -e "$T/out.json" ] || fail "$what: a JSON file was written"
  ls "$T" | grep -q '\.tmp\.' && fail "$what: a temporary file was left"
  return 0
}

# JSON number of a top-level key (cJSON prints one "key":<tab>value per line)
jnum() { grep -E "^[[:space:]]*\"$1\":" "$2" | head -1 | sed -E 's/.*:[[:space:]]*//; s/,$//'; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# ---- a valid run: rows ±e_i in 3 of 5 dimensions: D_eff = PR = 3 exactly ----
"$CLI" dim "$FIX/iso3.npy" --json "$T/iso.json" --spectrum --seed 7 --threads 1 >"$T/table" 2>"$T/err" \
  || fail "valid run exited $?: $(cat "$T/err")"
grep -qE "D_eff = exp\(H\) +3\.000000" "$T/table" || fail "table does not show D_eff 3.000000: $(cat "$T/table")"
grep -qE "participation ratio +3\.000000" "$T/table" || fail "table does not show PR 3"
grep -qE "n90 / n99 +3 / 3" "$T/table" || fail "table does not show n90/n99 3/3"
for k in n d deff pr n90 n99 rank alpha local spectrum seed threads blas version; do
  grep -qE "^[[:space:]]*\"$k\":" "$T/iso.json" || fail "JSON lacks key $k"
done
[ "$(jnum n "$T/iso.json")" = 6 ] || fail "JSON n = $(jnum n "$T/iso.json"), expected 6"
[ "$(jnum d "$T/iso.json")" = 5 ] || fail "JSON d = $(jnum d "$T/iso.json"), expected 5"
near "$(jnum deff "$T/iso.json")" 3 1e-12 || fail "JSON deff = $(jnum deff "$T/iso.json"), expected 3"
near "$(jnum pr "$T/iso.json")" 3 1e-12 || fail "JSON pr = $(jnum pr "$T/iso.json"), expected 3"
[ "$(jnum n99 "$T/iso.json")" = 3 ] || fail "JSON n99 != 3"
[ "$(jnum seed "$T/iso.json")" = 7 ] || fail "JSON seed != 7"
[ "$(jnum threads "$T/iso.json")" = 1 ] || fail "JSON threads != 1"
grep -q '"value":[[:space:]]*null' "$T/iso.json" || fail "alpha of a rank-3 spectrum should be null"
# spectrum: three eigenvalues 0.4 (= 2/(N-1)) then zeros
tr -d ' \t\n' <"$T/iso.json" | grep -qE '"spectrum":\[0\.4,0\.4,0\.4,0,0\]' \
  || fail "spectrum is not [0.4,0.4,0.4,0,0]: $(tr -d ' \t\n' <"$T/iso.json" | grep -oE '"spectrum":\[[^]]*\]')"

# ---- numpy fixture d (300 x 40): D_eff 20.15167624, alpha 1.03348689; local k = N equals global ----
"$CLI" dim "$FIX/d.npy" --local 16,64,300 --anchors 50 --json "$T/d.json" >"$T/table" 2>"$T/err" \
  || fail "fixture d exited $?: $(cat "$T/err")"
near "$(jnum deff "$T/d.json")" 20.15167624 1e-7 || fail "d: deff $(jnum deff "$T/d.json")"
a=$(tr -d ' \t\n' <"$T/d.json" | grep -oE '"alpha":\{"value":[^,]*' | sed 's/.*://')
near "$a" 1.03348689 1e-7 || fail "d: alpha $a"
# the last local entry (k = 300 = N): mean = deff, anchors = 50
last=$(tr -d ' \t\n' <"$T/d.json" | grep -oE '\{"k":300,"mean":[^,]*,"median":[^,]*,"std":[^,]*,"anchors":[0-9]+')
[ -n "$last" ] || fail "d: no local entry for k = 300"
near "$(echo "$last" | sed -E 's/.*"mean":([^,]*),.*/\1/')" 20.15167624 1e-7 || fail "d: local k=N mean: $last"
echo "$last" | grep -q '"anchors":50' || fail "d: local k=N anchors: $last"
grep -qE "^ +16 " "$T/table" || fail "d: table has no k = 16 line"

# ---- channels mode: shape from the 4-D file equals --shape on the flat file ----
"$CLI" dim "$FIX/conv.npy" --mode channels --json "$T/c1.json" >/dev/null 2>"$T/err" || fail "conv: $(cat "$T/err")"
"$CLI" dim "$FIX/conv_flat.npy" --mode channels --shape 3,2,4 --json "$T/c2.json" >/dev/null 2>"$T/err" \
  || fail "conv_flat: $(cat "$T/err")"
near "$(jnum deff "$T/c1.json")" 2.19377508 1e-7 || fail "channels deff $(jnum deff "$T/c1.json")"
[ "$(jnum deff "$T/c1.json")" = "$(jnum deff "$T/c2.json")" ] || fail "channels: 4-D and --shape disagree"
[ "$(jnum n "$T/c1.json")" = 40 ] || fail "channels: n != 5*2*4"

# ---- --array picks the member of an .npz ----
"$CLI" dim "$FIX/two.npz" --array iso --json "$T/z.json" >/dev/null 2>"$T/err" || fail "npz --array: $(cat "$T/err")"
near "$(jnum deff "$T/z.json")" 3 1e-12 || fail "npz --array iso: deff $(jnum deff "$T/z.json")"

# ---- --help explains every option ----
"$CLI" dim --help >"$T/help" || fail "--help exit status"
for o in --rank-window --local --anchors --local-work --mode --shape --spectrum --array --seed --threads --json; do
  grep -q -- "$o" "$T/help" || fail "--help does not explain $o"
done

# ---- bad input: exit 2, one line naming the file, no JSON ----
mkdir "$T/dir"
: >"$T/empty.npy"
head -c 100 "$FIX/d.npy" >"$T/trunc.npy"
printf 'NOTNUMPY\x01\x00garbage-garbage-garbage' >"$T/magic.npy"
expect_bad "missing file" "$T/none.npy" "$T/none.npy"
expect_bad "directory" "$T/dir" "$T/dir"
expect_bad "empty file" "$T/empty.npy" "$T/empty.npy"
expect_bad "truncated npy" "$T/trunc.npy" "$T/trunc.npy"
expect_bad "wrong magic" "$T/magic.npy" "$T/magic.npy"
expect_bad "NaN" "nan.npy" "$FIX/nan.npy"
expect_bad "one sample" "one.npy" "$FIX/one.npy"
expect_bad "constant data" "zero variance" "$FIX/const.npy"
grep -qF "const.npy" "$T/stderr" || fail "constant data: message does not name the file"
expect_bad "k > N" "k = 301" "$FIX/d.npy" --local 301
expect_bad "npz with two arrays, no --array" "two.npz" "$FIX/two.npz"
expect_bad "npz member missing" "two.npz" "$FIX/two.npz" --array nope

# ---- bad options ----
expect_bad "rank window 5:2" "--rank-window" "$FIX/d.npy" --rank-window 5:2
expect_bad "rank window beyond r" "rank r = 40" "$FIX/d.npy" --rank-window 2:41
expect_bad "--local 0" "--local" "$FIX/d.npy" --local 0
expect_bad "--local junk" "--local" "$FIX/d.npy" --local 16,x
expect_bad "channels without shape" "--shape" "$FIX/d.npy" --mode channels
expect_bad "shape product != d" "does not match" "$FIX/d.npy" --mode channels --shape 3,3,3
expect_bad "bad mode" "--mode" "$FIX/d.npy" --mode deep
expect_bad "unknown option" "--frobnicate" "$FIX/d.npy" --frobnicate
expect_bad "no file" "FILE"
"$CLI" dim "$FIX/d.npy" --json "$T/nodir/x.json" >/dev/null 2>"$T/stderr"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/stderr")" -eq 1 ] && grep -qF "$T/nodir/x.json" "$T/stderr" \
  || fail "unwritable --json: exit $rc: $(cat "$T/stderr")"

if [ $fails -ne 0 ]; then
  echo "cli_dim: $fails failure(s)" >&2
  exit 1
fi
echo "cli_dim: all passed"
