#!/usr/bin/env bash
# The main job end to end (deepcx demo --quick) and its report, rendered in
# headless Chromium when it is installed.
set -u
CLI=${DCX_CLI:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$CLI" demo --quick --run "$T/demo" > "$T/out" 2> "$T/err"; rc=$?
[ $rc -eq 0 ] && ok || bad "demo --quick exit $rc: $(tail -5 "$T/err")"
for f in config.json metrics.jsonl fits.json summary.json model.dcx report/report.html; do
  [ -s "$T/demo/$f" ] && ok || bad "demo left no $f"
done
grep -q '^layer3 ' "$T/out" && ok || bad "no depth table printed"
grep -q 'report: .*report.html' "$T/out" && ok || bad "no report path printed"
[ "$(grep -c '"type":"measure"' "$T/demo/metrics.jsonl")" -ge 8 ] && ok || bad "too few measurements"
grep -q '"series":[[:space:]]*"layer1.deff"' "$T/demo/fits.json" && ok || bad "fits.json lacks layer1.deff"
# the quick demo learns: held-out accuracy above 75 % after one epoch
acc=$(sed -n 's/.*"test_acc":[[:space:]]*\([0-9.]*\).*/\1/p' "$T/demo/summary.json" | head -1)
awk -v a="$acc" 'BEGIN{exit !(a > 0.75)}' && ok || bad "test accuracy $acc <= 0.75"

if command -v gnuplot > /dev/null; then
  [ "$(grep -c '<svg' "$T/demo/report/report.html")" -ge 5 ] && ok || bad "report has fewer than 5 inline figures"
fi
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$T/chrome" --window-size=1280,2400 --screenshot="$T/shot.png" \
    "file://$T/demo/report/report.html" > /dev/null 2>&1
  # a PNG, and not blank: a blank 1280x2400 page compresses to a few kB,
  # the report with its tables and figures to hundreds
  if [ -s "$T/shot.png" ] && [ "$(head -c 4 "$T/shot.png" | od -An -tx1 | tr -d ' \n')" = "89504e47" ]; then ok; else bad "no screenshot"; fi
  size=$(stat -c %s "$T/shot.png" 2>/dev/null || echo 0)
  [ "$size" -gt 60000 ] && ok || bad "screenshot looks blank ($size bytes)"
else
  echo "skipped: Chromium not installed, the report was not rendered (scripts/bootstrap --browser)"
fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
