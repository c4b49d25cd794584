#!/usr/bin/env bash
# deepcx fit and deepcx report on synthetic runs with known exponents.
set -u
CLI=${DCX_CLI:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A run whose series follow t^beta with 2% multiplicative noise, 4 decades.
mkrun() { # dir decades
  mkdir -p "$1"
  awk -v dec="$2" 'BEGIN{srand(7);
    print "{\"step\":0,\"train_loss\":2.3,\"layers\":{\"layer1\":{\"deff\":50},\"layer2\":{\"deff\":20}}}";
    for (k = 0; k <= 10 * dec; k++) { t = 10 ^ (k / 10); n1 = exp(0.02 * (rand() - 0.5) * 3.46); n2 = exp(0.02 * (rand() - 0.5) * 3.46);
      printf "{\"step\":%.6f,\"train_loss\":%.8g,\"layers\":{\"layer1\":{\"deff\":%.8g},\"layer2\":{\"deff\":%.8g}}}\n", t, 2.3 * t ^ -0.35 * n1, 50 * t ^ -0.12 * n2, 20 * t ^ 0.2 }}' > "$1/metrics.jsonl"
}
beta_of() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN{ d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }

mkrun "$T/run" 4
"$CLI" fit "$T/run" > "$T/out.txt" 2> "$T/err.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "fit exit $rc: $(cat "$T/err.txt")"
near "$(beta_of "$T/out.txt" train_loss)" -0.35 0.02 && ok || bad "train_loss beta $(beta_of "$T/out.txt" train_loss) != -0.35"
near "$(beta_of "$T/out.txt" layer1.deff)" -0.12 0.02 && ok || bad "layer1.deff beta $(beta_of "$T/out.txt" layer1.deff) != -0.12"
near "$(beta_of "$T/out.txt" layer2.deff)" 0.2 1e-6 && ok || bad "layer2.deff beta $(beta_of "$T/out.txt" layer2.deff) != 0.2"
[ -s "$T/run/fits.json" ] && grep -q '"series":[[:space:]]*"layer1.deff"' "$T/run/fits.json" && ok || bad "fits.json missing or lacks layer1.deff"
grep -q '"blas"' "$T/run/fits.json" && ok || bad "fits.json lacks blas"

# given window
"$CLI" fit "$T/run" --series layer2.deff --window 10:1000 --json "$T/w.json" > "$T/out2.txt" || bad "fit --window failed"
grep -q '"n":[[:space:]]*21' "$T/w.json" && ok || bad "window 10:1000 should hold 21 points: $(cat "$T/w.json")"
[ "$(grep -c deff "$T/out2.txt")" -eq 1 ] && ok || bad "--series should select one series"

# less than a decade: auto has no window, says so, exit 0
mkrun "$T/short" 0.8
"$CLI" fit "$T/short" > "$T/out3.txt" 2>&1 || bad "fit on a short run should still exit 0"
grep -q 'layer1.deff *no fit: no window spanning at least 1 decade' "$T/out3.txt" && ok || bad "short run: expected 'no window': $(cat "$T/out3.txt")"

# truncated last line: warning, earlier lines kept
cp -r "$T/run" "$T/trunc"
printf '{"step":20000,"train_lo' >> "$T/trunc/metrics.jsonl"
"$CLI" fit "$T/trunc" > "$T/out4.txt" 2> "$T/err4.txt" || bad "fit on truncated run failed"
grep -q 'incomplete' "$T/err4.txt" && ok || bad "no warning for a truncated last line"
grep -q '42 measurements' "$T/out4.txt" && ok || bad "truncated run should keep 42 measurements: $(tail -1 "$T/out4.txt")"

# bad input: exit 2, one line naming the problem
expect2() { # description, command...
  local d=$1; shift
  "$@" > /dev/null 2> "$T/e.txt"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/e.txt")" -eq 1 ]; then ok; else bad "$d: exit $rc, stderr: $(cat "$T/e.txt")"; fi
}
mkdir -p "$T/empty"
expect2 "run without metrics" "$CLI" fit "$T/empty"
grep -q 'no metrics.jsonl' "$T/e.txt" && ok || bad "message should say no metrics.jsonl"
expect2 "missing run" "$CLI" fit "$T/nope"
expect2 "unknown series" "$CLI" fit "$T/run" --series nosuch
expect2 "bad window" "$CLI" fit "$T/run" --window 5:2
mkdir -p "$T/corrupt"; printf '{"step":1,"a":1}\n{bad\n{"step":3,"a":2}\n' > "$T/corrupt/metrics.jsonl"
expect2 "corrupt middle line" "$CLI" fit "$T/corrupt"
grep -q 'line 2' "$T/e.txt" && ok || bad "corrupt line number not named"
expect2 "report without metrics" "$CLI" report "$T/empty"

# report: html with inline figures (gnuplot installed) ...
"$CLI" fit "$T/run" > /dev/null
if command -v gnuplot > /dev/null; then
  "$CLI" report "$T/run" > "$T/rep.txt" 2>&1 || bad "report failed: $(cat "$T/rep.txt")"
  [ -s "$T/run/report/report.html" ] && ok || bad "no report.html"
  [ "$(grep -c '<svg' "$T/run/report/report.html")" -ge 3 ] && ok || bad "report.html should inline >= 3 svg figures"
  for f in depth dyn_deff loss; do [ -s "$T/run/report/$f.png" ] && [ -s "$T/run/report/$f.svg" ] && ok || bad "missing figure $f"; done
  grep -q 'layer1.deff' "$T/run/report/report.html" && ok || bad "fit table missing from report"
else
  echo "skipped: gnuplot not installed"
fi
# ... and without gnuplot: a clear message, the tables still written
mkdir -p "$T/bin"; for t in bash awk grep cat; do ln -sf "$(command -v $t)" "$T/bin/$t"; done
PATH="$T/bin" "$CLI" report "$T/run" --out "$T/nogp" > /dev/null 2> "$T/e5.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "report without gnuplot should succeed, exit $rc"
grep -q 'gnuplot not found' "$T/e5.txt" && ok || bad "no 'gnuplot not found' message"
grep -q 'Depth profile' "$T/nogp/report.html" && ok || bad "report without gnuplot lacks the depth table"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
