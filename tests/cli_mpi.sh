#!/usr/bin/env bash
# cli_mpi.sh — the MPI build: `mpirun -np P deepcx dim|patterns …` gives the
# JSON of one process for P = 1, 2, 3 (D_eff, α, the spectrum within 1e-10
# relative; pattern counts and entropies exact, also for patterns of several
# words seen by every rank), on one file, on sharded files and with a rank
# holding no rows; an error in one rank's rows stops
# every rank with exit 2 and one line from rank 0; what is not distributed
# (--local, the Gram routes of dim and complexity) is refused. complexity:
# eta(K), H(K) and the rest of its JSON within 1e-9 of one process.
# Skipped (exit 0 with a message) when the binary is not an MPI build or
# mpirun is missing.
set -u
CLI=${DCX_CLI:-build-mpi/deepcx}
SRC=${DCX_SRC:-.}
FIX=${DCX_FIXTURES:-tests/fixtures}
if ! "$CLI" --version | grep -q "(MPI)"; then
  echo "cli_mpi: SKIPPED: $CLI is not an MPI build (make MPI=1 builds one in build-mpi/)"
  exit 0
fi
MPIEXEC=${DCX_MPIEXEC:-$(command -v mpirun || true)}
if [ -z "$MPIEXEC" ] || [ ! -x "$MPIEXEC" ]; then
  echo "cli_mpi: SKIPPED: mpirun not found (Debian: openmpi-bin)"
  exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# OpenMPI: more ranks than cores, and CI containers run as root
run() { local np=$1; shift; "$MPIEXEC" --oversubscribe --allow-run-as-root -np "$np" "$CLI" "$@"; }
same() { awk -v tol="$1" -v skip="$2" -f "$SRC/tests/json_near.awk" "$3" "$4" || fail "$5"; }

awk 'BEGIN { srand(7); for (i = 0; i < 2000; i++) { s = ""; z = 0
  for (j = 0; j < 16; j++) { z = 0.6 * z + (rand() - 0.5) * (1 + j); s = s (j ? "," : "") sprintf("%.6f", 3 + z) }
  print s } }' >"$T/m.csv"
sed -n '1,700p' "$T/m.csv" >"$T/m-0.csv"
sed -n '701p' "$T/m.csv" >"$T/m-1.csv"
sed -n '702,$p' "$T/m.csv" >"$T/m-2.csv"
printf '1\n3\n' >"$T/two.csv"
# 3,000 rows x 100 units (2 words per pattern) repeating 40 random patterns:
# every rank sees most of them, so the merge at rank 0 adds up counts
awk 'BEGIN { srand(11); for (q = 0; q < 40; q++) for (j = 0; j < 100; j++) b[q, j] = rand() < 0.5
  for (i = 0; i < 3000; i++) { q = int(rand() * 40); s = ""
    for (j = 0; j < 100; j++) s = s (j ? "," : "") (b[q, j] ? sprintf("%.3f", 0.1 + rand()) : "0")
    print s } }' >"$T/rep.csv"

# references: one process without mpirun
"$CLI" dim "$FIX/dim/d.npy" --spectrum --json "$T/d-ref.json" >/dev/null || fail "dim reference"
"$CLI" dim "$T/m.csv" --spectrum --json "$T/m-ref.json" >/dev/null || fail "dim reference (csv)"
"$CLI" patterns "$T/m.csv" --threshold 3 --json "$T/p-ref.json" >/dev/null || fail "patterns reference"
"$CLI" patterns "$T/m.csv" --threshold 3 --max-group 8 --groups 5 --seed 3 --json "$T/p8-ref.json" >/dev/null \
  || fail "patterns reference (groups)"
"$CLI" patterns "$T/rep.csv" --groups 7 --seed 2 --json "$T/rep-ref.json" >/dev/null || fail "patterns reference (repeats)"
grep -q '"distinct":	40,' "$T/rep-ref.json" || fail "patterns of rep.csv: not 40 distinct patterns"
"$CLI" dim "$T/two.csv" --json "$T/two-ref.json" >/dev/null || fail "dim reference (2 rows)"
"$CLI" patterns "$T/two.csv" --threshold 2 --json "$T/ptwo-ref.json" >/dev/null || fail "patterns reference (2 rows)"

for np in 1 2 3; do
  run $np dim "$FIX/dim/d.npy" --spectrum --threads 1 --json "$T/d-$np.json" >"$T/out" 2>"$T/err" \
    || fail "np $np dim: $(cat "$T/err")"
  same 1e-10 threads "$T/d-ref.json" "$T/d-$np.json" "np $np: dim of d.npy differs from one process"
  [ "$(grep -c "effective dimension of" "$T/out")" -eq 1 ] || fail "np $np: the table is not printed exactly once"
  run $np dim --inputs "$T/m-*.csv" --spectrum --threads 1 --json "$T/m-$np.json" >/dev/null 2>"$T/err" \
    || fail "np $np dim shards: $(cat "$T/err")"
  same 1e-10 threads,file "$T/m-ref.json" "$T/m-$np.json" "np $np: dim of 3 shards differs from the file"
  run $np patterns "$T/m.csv" --threshold 3 --json "$T/p-$np.json" >/dev/null 2>"$T/err" \
    || fail "np $np patterns: $(cat "$T/err")"
  same 0 threads "$T/p-ref.json" "$T/p-$np.json" "np $np: patterns differ from one process"
  run $np patterns --inputs "$T/m-0.csv,$T/m-1.csv,$T/m-2.csv" --threshold 3 --max-group 8 --groups 5 --seed 3 \
    --json "$T/p8-$np.json" >/dev/null 2>"$T/err" || fail "np $np patterns shards: $(cat "$T/err")"
  same 0 threads,file "$T/p8-ref.json" "$T/p8-$np.json" "np $np: patterns of shards differ from the file"
  run $np patterns "$T/rep.csv" --groups 7 --seed 2 --json "$T/rep-$np.json" >/dev/null 2>"$T/err" \
    || fail "np $np patterns repeats: $(cat "$T/err")"
  same 0 threads "$T/rep-ref.json" "$T/rep-$np.json" "np $np: patterns of repeated rows differ from one process"
  # 2 rows: with 3 ranks one of them holds none
  run $np dim "$T/two.csv" --json "$T/two-$np.json" >/dev/null 2>"$T/err" || fail "np $np dim 2 rows: $(cat "$T/err")"
  same 1e-12 threads "$T/two-ref.json" "$T/two-$np.json" "np $np: dim of 2 rows"
  run $np patterns "$T/two.csv" --threshold 2 --json "$T/ptwo-$np.json" >/dev/null 2>"$T/err" \
    || fail "np $np patterns 2 rows: $(cat "$T/err")"
  same 0 threads "$T/ptwo-ref.json" "$T/ptwo-$np.json" "np $np: patterns of 2 rows"
done
grep -q '"distinct":' "$T/p-3.json" || fail "patterns JSON lacks distinct"

# complexity: the same ladder as one process (eta(K), H(K), inertia, C(eps),
# gamma within 1e-9 relative; n, r, K and the cell sizes exact), on one file
# and on X and Y sharded differently (with the reduced rows in scratch
# files); the reference runs 2 threads
awk 'BEGIN { srand(11); for (i = 0; i < 2400; i++) {
  for (j = 1; j <= 4; j++) x[j] = (rand() + rand() + rand() - 1.5) * j
  printf "%.6f,%.6f,%.6f,%.6f\n", x[1], x[2], x[3], x[4] > "'"$T"'/cx.csv"
  printf "%.6f,%.6f\n", (x[1] < 0 ? -x[1] : x[1]) + x[2] * x[3], sin(x[1] + x[4]) > "'"$T"'/cy.csv" } }'
sed -n '1,800p' "$T/cx.csv" >"$T/cx-0.csv"
sed -n '801p' "$T/cx.csv" >"$T/cx-1.csv"
sed -n '802,$p' "$T/cx.csv" >"$T/cx-2.csv"
sed -n '1,1300p' "$T/cy.csv" >"$T/cy-0.csv"
sed -n '1301,$p' "$T/cy.csv" >"$T/cy-1.csv"
"$CLI" complexity --x "$T/cx.csv" --y "$T/cy.csv" --seed 4 --threads 2 --json "$T/cx-ref.json" >/dev/null \
  || fail "complexity reference"
"$CLI" complexity --x "$FIX/cx_relu_x.npy" --y "$FIX/cx_relu_y.npy" --json "$T/relu-ref.json" >/dev/null \
  || fail "complexity reference (relu)"
grep -Eq '"k":[[:space:]]*64,' "$T/cx-ref.json" || fail "complexity ladder does not reach K = 64"
for np in 1 2 3; do
  run $np complexity --x "$T/cx.csv" --y "$T/cy.csv" --seed 4 --threads 1 --json "$T/cx-$np.json" >"$T/out" \
    2>"$T/err" || fail "np $np complexity: $(cat "$T/err")"
  same 1e-9 threads "$T/cx-ref.json" "$T/cx-$np.json" "np $np: complexity differs from one process"
  [ "$(grep -c "^complexity of" "$T/out")" -eq 1 ] || fail "np $np: the complexity table is not printed once"
  run $np complexity --x-inputs "$T/cx-*.csv" --y-inputs "$T/cy-0.csv,$T/cy-1.csv" --seed 4 --threads 1 \
    --memory 0 --json "$T/cxs-$np.json" >/dev/null 2>"$T/err" || fail "np $np complexity shards: $(cat "$T/err")"
  same 1e-9 threads,x,y "$T/cx-ref.json" "$T/cxs-$np.json" "np $np: complexity of shards differs from the files"
  run $np complexity --x "$FIX/cx_relu_x.npy" --y "$FIX/cx_relu_y.npy" --json "$T/relu-$np.json" >/dev/null \
    2>"$T/err" || fail "np $np complexity relu: $(cat "$T/err")"
  same 1e-9 threads "$T/relu-ref.json" "$T/relu-$np.json" "np $np: complexity of the relu fixture differs"
done
# the numpy fold split under 2 ranks: numpy's eta(1) (tests/fixtures/make_cx_fixtures.py)
run 2 complexity --x "$FIX/cx_relu_x.npy" --y "$FIX/cx_relu_y.npy" --folds "$FIX/cx_relu_folds.npy" \
  --json "$T/relu-f.json" >/dev/null 2>"$T/err" || fail "np 2 complexity --folds: $(cat "$T/err")"
eta1=$(sed -n 's/.*"eta1":[[:space:]]*\([-0-9.eE+]*\).*/\1/p' "$T/relu-f.json" | head -1)
awk -v e="$eta1" 'BEGIN { d = e - 0.262615687909693; exit !(d < 1e-6 && d > -1e-6) }' \
  || fail "np 2: eta1 with the numpy folds = $eta1, numpy 0.262615687909693"

# channels mode: the ranks split the samples, each sample gives H·W rows
"$CLI" dim "$FIX/dim/conv.npy" --mode channels --json "$T/c-ref.json" >/dev/null || fail "channels reference"
run 3 dim "$FIX/dim/conv.npy" --mode channels --json "$T/c-3.json" >/dev/null 2>"$T/err" \
  || fail "np 3 channels: $(cat "$T/err")"
same 1e-10 threads "$T/c-ref.json" "$T/c-3.json" "np 3: dim --mode channels differs from one process"

# errors: exit 2 on every rank, one line (from rank 0), no JSON
expect_bad() {
  local what=$1 name=$2 np=$3 cmd=$4
  shift 4
  rm -f "$T/out.json"
  run $np $cmd "$@" --json "$T/out.json" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2: $(cat "$T/stderr")"
  [ "$(grep -c "^deepcx $cmd: " "$T/stderr")" -eq 1 ] || fail "$what: not one 'deepcx $cmd:' line: $(cat "$T/stderr")"
  grep -qF -- "$name" "$T/stderr" || fail "$what: message does not name '$name': $(cat "$T/stderr")"
  [ ! -e "$T/out.json" ] || fail "$what: a JSON file was written"
}
sed '1700s/^[^,]*,/nan,/' "$T/m.csv" >"$T/bad.csv"
expect_bad "NaN in rank 1's rows (dim)" "bad.csv: NaN value at row 1699" 2 dim "$T/bad.csv"
expect_bad "NaN in rank 2's rows (patterns)" "bad.csv: NaN value at row 1699" 3 patterns "$T/bad.csv"
expect_bad "--local under mpirun" "local ladder needs all rows" 2 dim "$T/m.csv" --local 16
head -3 "$T/m.csv" >"$T/wide.csv"
expect_bad "N < D under mpirun" "Gram route" 2 dim "$T/wide.csv"
sed '2000s/^[^,]*,/nan,/' "$T/cy.csv" >"$T/cybad.csv"
expect_bad "NaN in rank 2's Y rows (complexity)" "cybad.csv: NaN value at row 1999" 3 complexity --x "$T/cx.csv" \
  --y "$T/cybad.csv"
head -1000 "$T/cy.csv" >"$T/cyshort.csv"
expect_bad "X and Y of different lengths (complexity)" "cyshort.csv: 1000 rows" 2 complexity --x "$T/cx.csv" \
  --y "$T/cyshort.csv"
expect_bad "complexity of a wide X under mpirun" "Gram route" 2 complexity --x "$T/wide.csv" --y "$T/wide.csv"

[ $fails -eq 0 ] && echo "cli_mpi: all passed"
exit $((fails > 0))
