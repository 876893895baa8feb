#!/usr/bin/env bash
# Bun runs one test file at a time: test/run.sh runs two `bun test` processes at once instead, on
# alternate files (as Node runs two files at a time), and merges their JUnit reports into one.
#   bun-halves.sh BUN JUNIT FILE...      exits non-zero when either process did
set -uo pipefail
bin=$1 junit=$2
shift 2
a=() b=() i=0
for f in "$@"; do
  if [ $((i % 2)) = 0 ]; then a+=("$f"); else b+=("$f"); fi
  i=$((i + 1))
done
rm -f "$junit" "$junit.a" "$junit.b"
pids=()
# A timeout or Ctrl-C of this script ends both halves.
trap 'kill "${pids[@]}" 2>/dev/null' TERM INT EXIT
"$bin" test --timeout=20000 --reporter=junit --reporter-outfile="$junit.a" "${a[@]}" &
pids+=($!)
if [ ${#b[@]} -gt 0 ]; then
  "$bin" test --timeout=20000 --reporter=junit --reporter-outfile="$junit.b" "${b[@]}" &
  pids+=($!)
fi
rc=0
for pid in "${pids[@]}"; do
  wait "$pid" || rc=$?
done
trap - TERM INT EXIT
# One report: the second's suites inside the first's <testsuites>; nothing when either is incomplete.
node - "$junit.a" "$junit.b" "$junit" <<'JS'
const fs = require("node:fs");
const [a, b, out] = process.argv.slice(2);
const read = (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null);
const complete = (x) => x !== null && /<testsuites[\s>]/.test(x) && /<\/testsuites>\s*$/.test(x);
const first = read(a), second = fs.existsSync(b) ? read(b) : "<testsuites></testsuites>";
if (!complete(first) || !complete(second)) process.exit(0);
const inner = second.replace(/^[\s\S]*?<testsuites[^>]*>/, "").replace(/<\/testsuites>\s*$/, "");
fs.writeFileSync(out, first.replace(/<\/testsuites>\s*$/, inner + "</testsuites>\n"));
JS
rm -f "$junit.a" "$junit.b"
exit "$rc"
