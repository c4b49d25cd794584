#!/usr/bin/env bash
# cli_inputs.sh — one matrix sharded over several files (--inputs LIST|GLOB on
# dim and patterns, --x-inputs/--y-inputs on complexity) gives exactly the
# JSON of the single file; errors (a pattern matching nothing, a shard with
# other columns, FILE and --inputs together) exit 2 with one line and no JSON.
set -u
CLI=${DCX_CLI:-build/deepcx}
SRC=${DCX_SRC:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
same() { awk -v tol="$1" -v skip="$2" -f "$SRC/tests/json_near.awk" "$3" "$4" || fail "$5: $3 and $4 differ"; }

# data: 2000 x 16, columns of different scales around an offset (awk's
# seeded generator: the same file on every run of this machine)
awk 'BEGIN { srand(7); for (i = 0; i < 2000; i++) { s = ""; z = 0
  for (j = 0; j < 16; j++) { z = 0.6 * z + (rand() - 0.5) * (1 + j); s = s (j ? "," : "") sprintf("%.6f", 3 + z) }
  print s } }' >"$T/m.csv"
sed -n '1,700p' "$T/m.csv" >"$T/m-0.csv"
sed -n '701p' "$T/m.csv" >"$T/m-1.csv"
sed -n '702,$p' "$T/m.csv" >"$T/m-2.csv"

for cmd in dim patterns; do
  extra=""
  [ $cmd = dim ] && extra="--spectrum"
  [ $cmd = patterns ] && extra="--threshold 3"
  "$CLI" $cmd "$T/m.csv" $extra --json "$T/$cmd-one.json" >/dev/null 2>"$T/err" || fail "$cmd single file: $(cat "$T/err")"
  "$CLI" $cmd --inputs "$T/m-*.csv" $extra --json "$T/$cmd-glob.json" >/dev/null 2>"$T/err" || fail "$cmd glob: $(cat "$T/err")"
  "$CLI" $cmd --inputs "$T/m-0.csv,$T/m-1.csv,$T/m-2.csv" $extra --json "$T/$cmd-list.json" >/dev/null 2>"$T/err" \
    || fail "$cmd list: $(cat "$T/err")"
  same 0 file "$T/$cmd-one.json" "$T/$cmd-glob.json" "$cmd: glob of 3 shards vs the file"
  same 0 file "$T/$cmd-one.json" "$T/$cmd-list.json" "$cmd: list of 3 shards vs the file"
  grep -q '"n":[[:space:]]*2000' "$T/$cmd-glob.json" || fail "$cmd: n is not 2000"
done
grep -qF "\"file\":	\"$T/m-*.csv\"" "$T/dim-glob.json" || fail "dim: the JSON file is not the --inputs value"

# complexity: X = the first 4 columns, Y = a nonlinear map of them, sharded alike
cut -d, -f1-4 "$T/m.csv" >"$T/x.csv"
awk -F, '{ printf "%.6f,%.6f\n", ($1 > 3 ? $1 - 3 : 0) + $2 * $3, ($3 - 3) * ($3 - 3) - $4 }' "$T/x.csv" >"$T/y.csv"
for v in x y; do
  sed -n '1,999p' "$T/$v.csv" >"$T/$v-a.csv"
  sed -n '1000,1500p' "$T/$v.csv" >"$T/$v-b.csv"
  sed -n '1501,$p' "$T/$v.csv" >"$T/$v-c.csv"
done
"$CLI" complexity --x "$T/x.csv" --y "$T/y.csv" --kmax 16 --json "$T/cx-one.json" >/dev/null 2>"$T/err" \
  || fail "complexity single files: $(cat "$T/err")"
"$CLI" complexity --x-inputs "$T/x-?.csv" --y-inputs "$T/y-a.csv,$T/y-b.csv,$T/y-c.csv" --kmax 16 \
  --json "$T/cx-shards.json" >/dev/null 2>"$T/err" || fail "complexity shards: $(cat "$T/err")"
same 0 x,y "$T/cx-one.json" "$T/cx-shards.json" "complexity: shards vs single files"

# errors
expect_bad() {
  local what=$1 name=$2 cmd=$3
  shift 3
  rm -f "$T/out.json"
  "$CLI" $cmd "$@" --json "$T/out.json" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
  [ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "$what: stderr has $(wc -l <"$T/stderr") lines: $(cat "$T/stderr")"
  grep -q "^deepcx $cmd: " "$T/stderr" || fail "$what: message does not start with 'deepcx $cmd: '"
  grep -qF -- "$name" "$T/stderr" || fail "$what: message does not name '$name': $(cat "$T/stderr")"
  [ ! -e "$T/out.json" ] || fail "$what: a JSON file was written"
}
cut -d, -f1-15 "$T/m-1.csv" >"$T/narrow.csv"
expect_bad "no match" "matches no file" dim --inputs "$T/none-*.npy"
expect_bad "other columns" "narrow.csv: 15 columns, but" dim --inputs "$T/m-0.csv,$T/narrow.csv"
expect_bad "other columns (patterns)" "narrow.csv: 15 columns" patterns --inputs "$T/m-0.csv,$T/narrow.csv"
expect_bad "missing shard" "nope.csv: no such file" patterns --inputs "$T/m-0.csv,$T/nope.csv"
expect_bad "FILE and --inputs" "not both" dim "$T/m.csv" --inputs "$T/m-*.csv"
expect_bad "complexity rows differ" "rows" complexity --x-inputs "$T/x-a.csv,$T/x-b.csv" --y "$T/y.csv"
expect_bad "empty list" "no file names" dim --inputs ","

[ $fails -eq 0 ] && echo "cli_inputs: all passed"
exit $((fails > 0))
