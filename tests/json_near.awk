# json_near.awk — compare two JSON files written by deepcx token by token:
# keys, strings and literals must be equal; numbers equal within a relative
# tolerance. Usage: awk -v tol=1e-10 -v floor=1e-300 -v skip=threads,file \
#   -f json_near.awk A.json B.json. Keys listed in skip are not compared
# (their value token is skipped). Exit 0 when they agree; otherwise prints
# the first difference and the largest relative difference seen.
function tokens(file, arr,    line, all, n, i, t, c, s) {
  all = ""
  while ((getline line < file) > 0) all = all line "\n"
  close(file)
  n = 0; i = 1; s = length(all)
  while (i <= s) {
    c = substr(all, i, 1)
    if (c ~ /[ \t\n\r]/) { i++; continue }
    if (c ~ /[{}\[\]:,]/) { arr[++n] = c; i++; continue }
    if (c == "\"") {
      t = c; i++
      while (i <= s) { c = substr(all, i, 1); t = t c; i++; if (c == "\\") { t = t substr(all, i, 1); i++; continue } if (c == "\"") break }
      arr[++n] = t; continue
    }
    t = ""
    while (i <= s) { c = substr(all, i, 1); if (c ~ /[ \t\n\r{}\[\]:,]/) break; t = t c; i++ }
    arr[++n] = t
  }
  return n
}
function isnum(t) { return t ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
function abs(x) { return x < 0 ? -x : x }
BEGIN {
  if (tol == "") tol = 1e-10
  if (floor == "") floor = 1e-300
  ns = split(skip, sk, ",")
  for (k = 1; k <= ns; k++) skipped["\"" sk[k] "\""] = 1
  na = tokens(ARGV[1], A); nb = tokens(ARGV[2], B)
  if (na != nb) { printf "json_near: %d tokens in %s, %d in %s\n", na, ARGV[1], nb, ARGV[2]; exit 1 }
  worst = 0; bad = 0
  for (i = 1; i <= na; i++) {
    if ((A[i] in skipped) && A[i+1] == ":") {
      if (A[i] != B[i]) { printf "json_near: key %s vs %s\n", A[i], B[i]; exit 1 }
      i += 2; continue
    }
    if (isnum(A[i]) && isnum(B[i])) {
      a = A[i] + 0; b = B[i] + 0
      den = abs(a) > abs(b) ? abs(a) : abs(b); if (den < floor) den = floor
      d = abs(a - b) / den
      if (d > worst) { worst = d; wat = i }
      if (d > tol && !bad) { printf "json_near: %s vs %s (relative %.3g > %.3g) near token %d after %s %s\n", A[i], B[i], d, tol, i, A[i-3], A[i-2]; bad = 1 }
    } else if (A[i] != B[i]) {
      printf "json_near: token %d: %s vs %s (after %s %s)\n", i, A[i], B[i], A[i-3], A[i-2]; exit 1
    }
  }
  printf "json_near: largest relative difference %.3g (tolerance %.3g)\n", worst, tol
  exit bad
}
