#!/usr/bin/env bash
# The whole test suite, under Deno, Bun and then Node, against throwaway PostgreSQL 15 and MariaDB.
#
#   npm test                               every test/**/*.test.ts
#   npm test -- test/a.test.ts ...         only these files
#   PG_URL=... MYSQL_URL=... npm test      use these servers; only an unset one is started here
#   STINT_RUNTIMES=deno npm test           one runtime ("deno bun node" by default)
#   STINT_TEST_TIMEOUT=420                 seconds per runtime before it is killed (a failure)
#   STINT_TEST_DEADLINE=<epoch seconds>    (.ci/run) every phase is also cut to the time left before it
#                                          minus what the phases after it usually take (typical below)
#   STINT_NODE_CONCURRENCY=2               Node's test files run at a time
#   STINT_DB_BASE=/tmp/x                   where throwaway servers live (a fresh /tmp dir by default)
#   STINT_TEST_OUT=dir                     keep the JUnit reports and logs there
#   STINT_CHAOS=0                          skip the fault suite's bounded pass (run after the runtimes
#                                          when no file is named; STINT_CHAOS_TIMEOUT=200 s, STINT_CHAOS_SEED)
#   STINT_PACKAGE=0                        skip the npm package's install checks (test/package/run.sh, run
#                                          last when no file is named; STINT_PACKAGE_TIMEOUT=180 s)
#
# Prints each runtime's own output, then "skipped: N" and, as the last line, "N passed, N failed"
# over every runtime (skipped is not passed). Counts come from the runtimes' JUnit reports,
# leaf tests only. Exits non-zero when a test failed or a runtime crashed, timed out or
# exited non-zero: a runtime that fails without a failed test in its report counts as one
# failed test, so a crash can never read as "0 failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
RUNTIMES=${STINT_RUNTIMES:-deno bun node}
LIMIT=${STINT_TEST_TIMEOUT:-420}
CHAOS_LIMIT=${STINT_CHAOS_TIMEOUT:-200}
DEADLINE=${STINT_TEST_DEADLINE:-}
[ -t 1 ] || export NO_COLOR=1

now() { date +%s.%N; }
# Seconds a phase usually takes on a shared 2-core machine (Node with two files at a time).
typical() { case $1 in deno) echo 370 ;; bun) echo 250 ;; node) echo 240 ;; chaos) echo 85 ;; package) echo 45 ;; *) echo 0 ;; esac; }
# phase_limit OWN LATER...: OWN, or less under a deadline: the time left minus what the LATER phases
# usually take (at least 30 s). Slack goes to whichever phase needs it, and a phase that overruns
# cannot leave the ones after it less than their usual time.
phase_limit() {
  local own=$1 rest=0 phase room
  shift
  [ -n "$DEADLINE" ] || { echo "$own"; return; }
  for phase in "$@"; do rest=$((rest + $(typical "$phase"))); done
  room=$((DEADLINE - $(date +%s) - rest))
  [ "$room" -lt 30 ] && room=30
  if [ "$room" -lt "$own" ]; then echo "$room"; else echo "$own"; fi
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }
TIMINGS=()
T_START=$(now)

# ---- servers: stopped on every exit path; by data dir and pid file (see servers.sh) ----
DB_BASE=
OUT=
CHAOS_PG_BASE=
# A private PostgreSQL the fault suite left running (it was SIGKILLed, say by timeout -k, or this
# script was signalled while it ran): stopped here, and from cleanup on every exit path.
sweep_chaos_pg() {
  [ -n "$CHAOS_PG_BASE" ] || return 0
  local pid_file as pg_ctl
  for pid_file in "$CHAOS_PG_BASE"/*/data/postmaster.pid; do
    [ -f "$pid_file" ] || continue
    echo "run.sh: stopping a PostgreSQL the fault suite left running in ${pid_file%/postmaster.pid}" >&2
    if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); else as=(); fi
    pg_ctl=${PG_BIN:-${PGBIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")}}/pg_ctl
    PATH=$PATH:/usr/sbin:/sbin "${as[@]}" "$pg_ctl" -D "${pid_file%/postmaster.pid}" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  done
  rm -rf "$CHAOS_PG_BASE"
  CHAOS_PG_BASE=
}
cleanup() {
  sweep_chaos_pg
  if [ -n "$DB_BASE" ]; then
    bash "$ROOT/test/support/servers.sh" down "$DB_BASE" || echo "run.sh: stopping servers in $DB_BASE failed" >&2
    DB_BASE=
  fi
  if [ -n "$OUT" ] && [ -z "${STINT_TEST_OUT:-}" ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- dependencies ----
t=$(now)
if [ ! -x "$BIN/deno" ] || [ ! -x "$BIN/bun" ] || [ ! -x "$BIN/node" ]; then
  echo "run.sh: node_modules/.bin/deno, bun or node missing, running npm ci"
  npm ci --no-audit --no-fund </dev/null || { echo "run.sh: npm ci failed" >&2; exit 1; }
fi
for rt in $RUNTIMES; do
  # Without its install script (npm --ignore-scripts, or a strict allowScripts policy) the
  # bun package has no binary: rebuilding runs that script.
  version=$("$BIN/$rt" --version 2>&1 </dev/null) || {
    echo "run.sh: $rt does not run, running npm rebuild $rt"
    npm rebuild "$rt" </dev/null && version=$("$BIN/$rt" --version 2>&1 </dev/null)
  } || {
    echo "run.sh: $BIN/$rt does not run: $version" >&2
    exit 1
  }
  echo "run.sh: $rt $(echo "$version" | head -1)"
done
TIMINGS+=("deps $(secs "$t" "$(now)")")

# ---- test files: the same explicit list for every runtime ----
# (`bun test test/` would treat "test/" as a substring filter over the whole tree and also
# run e.g. tmp/x/test/y.test.ts; both runtimes also accept more name patterns than *.test.ts.)
if [ $# -gt 0 ]; then
  FILES=("$@")
else
  mapfile -t FILES < <(find test -name node_modules -prune -o -type f -name '*.test.ts' -print | sort)
fi
if [ ${#FILES[@]} = 0 ]; then
  echo "run.sh: no test files (test/**/*.test.ts)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
BUN_FILES=()
for f in "${FILES[@]}"; do
  case $f in /* | ./*) BUN_FILES+=("$f") ;; *) BUN_FILES+=("./$f") ;; esac # a path, not a filter
done
echo "run.sh: ${#FILES[@]} test files"

# ---- browser: Debian's chromium for test/hono/browser.test.ts (which skips, saying why, without it) ----
if [ -z "${STINT_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] &&
  printf '%s\n' "${FILES[@]}" | grep -q 'browser\.test\.ts$'; then
  t=$(now)
  echo "run.sh: installing chromium with apt-get for the dashboard's browser test"
  apt_chromium() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium </dev/null >/dev/null; }
  apt_chromium || { apt-get update -q </dev/null >/dev/null && apt_chromium; } ||
    echo "run.sh: apt-get install chromium failed; the browser test will be skipped" >&2
  TIMINGS+=("chromium $(secs "$t" "$(now)")")
  echo "run.sh: chromium step took $(secs "$t" "$(now)")"
fi

# ---- servers ----
if [ -n "${PG_URL:-}" ] && [ -n "${MYSQL_URL:-}" ]; then
  echo "run.sh: using PG_URL and MYSQL_URL from the environment"
else
  want=()
  [ -n "${PG_URL:-}" ] || want+=(pg)
  [ -n "${MYSQL_URL:-}" ] || want+=(mysql)
  t=$(now)
  DB_BASE=${STINT_DB_BASE:-$(mktemp -d /tmp/stint-test.XXXXXX)}
  bash "$ROOT/test/support/servers.sh" up "$DB_BASE" "${want[@]}" || { echo "0 passed, 1 failed"; exit 1; }
  # shellcheck source=/dev/null
  source "$DB_BASE/env.sh"
  TIMINGS+=("servers $(secs "$t" "$(now)")")
fi
export PG_URL MYSQL_URL
[ -n "${MYSQL_ADMIN_URL:-}" ] && export MYSQL_ADMIN_URL
echo "run.sh: PG_URL=$PG_URL MYSQL_URL=$MYSQL_URL"

# ---- counting ----
OUT=${STINT_TEST_OUT:-$(mktemp -d /tmp/stint-results.XXXXXX)}
mkdir -p "$OUT"

# Prints "passed failed skipped" for one runtime from its JUnit report and console log; exits
# non-zero when the report is missing or unreadable.
#  - Bun: every <testcase> is a test (describe blocks are nested <testsuite>s). Failures outside
#    any test (a file that throws on load, a failing hook) are only in its console summary
#    ("N error"), so those are added.
#  - Node: the same shape as Bun's. A file that fails outside any test (on load, or by exiting
#    non-zero) is a failed <testcase> named after the file, and the tests a failing hook
#    stopped are failed ("cancelled") <testcase>s, so the report alone has every failure.
#  - Deno: node:test describe blocks and t.step parents are <testcase>s too, and their children
#    are <testcase>s named "parent > child". A testcase that is the prefix of another is a
#    parent, not counted, except that a failed parent none of whose children failed (a failing
#    hook) counts as one failure. Files that fail outside any test ("Uncaught error from ...
#    FAILED" in the console) are not in the report, so those are added.
count() {
  node - "$1" "$2" "$3" <<'JS'
const fs = require("node:fs");
const [runtime, junitPath, logPath] = process.argv.slice(2);
const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8").replace(/\x1b\[[0-9;]*m/g, "") : "";
// Bun writes no report when no test ran (every file failed to load), yet prints its summary.
const noTests = runtime === "bun" && /^Ran \d+ tests? across \d+ files?\./m.test(log);
const xml = fs.existsSync(junitPath) ? fs.readFileSync(junitPath, "utf8") : noTests ? "<testsuites/>" : "";
if (!/<testsuites[\s>/]/.test(xml) || !/<\/testsuites>|<testsuites[^>]*\/>/.test(xml)) {
  console.error(`incomplete JUnit report ${junitPath}`);
  process.exit(2);
}
const unescape = (s) =>
  s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi, (_, e, d, h) =>
    d ? String.fromCodePoint(+d) : h ? String.fromCodePoint(parseInt(h, 16)) :
    ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]);
const cases = [];
for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const name = unescape((/\bname="([^"]*)"/.exec(m[1]) ?? [, ""])[1]);
  const body = m[3] ?? "";
  const state = /<(failure|error)\b/.test(body) ? "failed" : /<skipped\b/.test(body) ? "skipped" : "passed";
  cases.push({ name, state });
}
const total = { passed: 0, failed: 0, skipped: 0 };
if (runtime === "deno") {
  const SEP = " > ";
  const prefixes = (name) => {
    const parts = name.split(SEP), out = [];
    for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(SEP));
    return out;
  };
  const parents = new Set(), failedParents = new Set();
  for (const c of cases) {
    for (const p of prefixes(c.name)) {
      parents.add(p);
      if (c.state === "failed") failedParents.add(p);
    }
  }
  for (const c of cases) {
    if (!parents.has(c.name)) total[c.state]++;
    else if (c.state === "failed" && !failedParents.has(c.name)) total.failed++;
  }
  total.failed += (log.match(/^Uncaught error from \S+ FAILED\s*$/gm) ?? []).length;
} else {
  for (const c of cases) total[c.state]++;
  const errors = runtime === "bun" && /^\s*(\d+) errors?\s*$/m.exec(log);
  if (errors) total.failed += Number(errors[1]);
}
console.log(`${total.passed} ${total.failed} ${total.skipped}`);
JS
}

# The fault suite runs after the runtimes (below), Deno and Bun only: its fleet is not written for Node.
CHAOS_RUNTIMES=$(for rt in $RUNTIMES; do [ "$rt" = node ] || echo "$rt"; done | xargs)
RUN_CHAOS=0
[ $# = 0 ] && [ "${STINT_CHAOS:-1}" != 0 ] && [ -n "$CHAOS_RUNTIMES" ] && RUN_CHAOS=1
RUN_PACKAGE=0
[ $# = 0 ] && [ "${STINT_PACKAGE:-1}" != 0 ] && RUN_PACKAGE=1
AFTER_RUNTIMES=() AFTER_CHAOS=()
[ "$RUN_PACKAGE" = 1 ] && AFTER_CHAOS+=(package)
[ "$RUN_CHAOS" = 1 ] && AFTER_RUNTIMES+=(chaos)
AFTER_RUNTIMES+=("${AFTER_CHAOS[@]}")

# ---- runtimes, one after the other (they share the databases) ----
PASSED=0 FAILED=0 SKIPPED=0 LINES=()
for rt in $RUNTIMES; do
  later=() seen=0
  for other in $RUNTIMES; do
    [ "$seen" = 1 ] && later+=("$other")
    [ "$other" = "$rt" ] && seen=1
  done
  limit=$(phase_limit "$LIMIT" "${later[@]}" "${AFTER_RUNTIMES[@]}")
  junit=$OUT/$rt.xml log=$OUT/$rt.log
  rm -f "$junit"
  case $rt in
    deno) cmd=("$BIN/deno" test -A --parallel --junit-path="$junit" "${FILES[@]}") ;;
    # Two `bun test` processes at once, on alternate files (support/bun-halves.sh): one at a time
    # took ~360 s once the multi-step scenarios came, against a 20-minute CI for three runtimes.
    bun) cmd=(bash "$ROOT/test/support/bun-halves.sh" "$BIN/bun" "$junit" "${BUN_FILES[@]}") ;;
    # Each file in its own process, two at a time (STINT_NODE_CONCURRENCY): one at a time, like
    # Deno and Bun, the suite took 418 s on 2 cores against Deno's 325. Files share nothing but
    # the servers, each test on its own backend alias. Bun's 20 s default test timeout;
    # --test-force-exit: a file whose tests ended but whose handles linger does not hold the run
    # (the close-exit tests check in child processes that Stint itself lets a process exit).
    node) cmd=("$BIN/node" --test --test-concurrency="${STINT_NODE_CONCURRENCY:-2}" --test-timeout=20000 --test-force-exit
      --test-reporter=spec --test-reporter-destination=stdout
      --test-reporter=junit --test-reporter-destination="$junit" "${FILES[@]}") ;;
    *) echo "run.sh: unknown runtime $rt" >&2; exit 1 ;;
  esac
  echo
  echo "=== $rt (limit ${limit}s): ${cmd[*]#"$ROOT/"}"
  t=$(now)
  # --foreground: the runtime stays in the terminal's process group, so Ctrl-C reaches it.
  timeout --foreground -k 10 "$limit" "${cmd[@]}" </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  took=$(secs "$t" "$(now)")
  TIMINGS+=("$rt $took")
  note=""
  if ! read -r p f s < <(count "$rt" "$junit" "$log") || [ -z "$s" ]; then
    p=0 f=1 s=0 note="crashed: no usable JUnit report"
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    note="${note:+$note; }killed after ${limit}s (STINT_TEST_TIMEOUT${DEADLINE:+ or STINT_TEST_DEADLINE})"
  fi
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    f=1 note="${note:+$note; }exit code $rc without a failed test"
  fi
  LINES+=("$rt: $p passed, $f failed, $s skipped (exit $rc, $took)${note:+ — $note}")
  PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
done

# ---- the fault suite's bounded pass (test/chaos, see test/README.md): each "chaos: db=… runtime=…"
# line is one test, passed when stuck, lost, overlapping and unexited are all 0; a missing line
# (a crash, the time limit) is a failed one. Not when files are named; STINT_CHAOS=0 skips it.
if [ "$RUN_CHAOS" = 1 ]; then
  CHAOS_LIMIT=$(phase_limit "$CHAOS_LIMIT" "${AFTER_CHAOS[@]}")
  chaos_rts=$(echo $CHAOS_RUNTIMES | tr ' ' ',')
  case " $RUNTIMES " in *" deno "*) chaos_cmd=("$BIN/deno" run -A) ;; *) chaos_cmd=("$BIN/bun") ;; esac
  chaos_cmd+=(test/chaos/run.ts --ci --db postgres,libsql --runtime "$chaos_rts" ${STINT_CHAOS_SEED:+--seed "$STINT_CHAOS_SEED"})
  echo
  echo "=== chaos: ${chaos_cmd[*]#"$ROOT/"}"
  t=$(now)
  # The suite stops its private PostgreSQL on every exit it can catch; this sweep is for a SIGKILL.
  CHAOS_PG_BASE=$(mktemp -d /tmp/stint-chaos-base.XXXXXX) && chmod 755 "$CHAOS_PG_BASE" && export CHAOS_PG_BASE
  timeout --foreground -k 10 "$CHAOS_LIMIT" "${chaos_cmd[@]}" </dev/null 2>&1 | tee "$OUT/chaos.log"
  rc=${PIPESTATUS[0]}
  sweep_chaos_pg
  took=$(secs "$t" "$(now)")
  TIMINGS+=("chaos $took")
  p=0 f=0
  for db in postgres libsql; do
    for rt in $CHAOS_RUNTIMES; do
      line=$(grep -E "^chaos: db=$db runtime=$rt " "$OUT/chaos.log" | tail -1)
      if [ -z "$line" ]; then
        f=$((f + 1)) LINES+=("chaos: db=$db runtime=$rt: no result line (exit $rc) — failed")
      elif echo "$line" | grep -qE ' stuck=0 lost=0 overlapping=0 .* unexited=0$'; then
        p=$((p + 1)) LINES+=("$line")
      else
        f=$((f + 1)) LINES+=("$line — failed")
      fi
    done
  done
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && LINES+=("chaos: killed after ${CHAOS_LIMIT}s (STINT_CHAOS_TIMEOUT, exit $rc, $took)")
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    f=1 LINES+=("chaos: exit code $rc with every line clean — counted as one failed test")
  fi
  PASSED=$((PASSED + p)) FAILED=$((FAILED + f))
fi

# ---- the npm package as a user installs it (test/package/run.sh: npm pack, then on Node, Bun and
# Deno a scratch project outside the repository installs the tarball, runs and type-checks the
# README's quick starts): each "package: ok …" line is one passed test, each "package: FAILED …"
# one failed. Not when files are named; STINT_PACKAGE=0 skips it (STINT_PACKAGE_TIMEOUT=180 s).
if [ "$RUN_PACKAGE" = 1 ]; then
  PACKAGE_LIMIT=$(phase_limit "${STINT_PACKAGE_TIMEOUT:-180}")
  echo
  echo "=== package: bash test/package/run.sh"
  t=$(now)
  timeout --foreground -k 10 "$PACKAGE_LIMIT" bash test/package/run.sh </dev/null 2>&1 | tee "$OUT/package.log"
  rc=${PIPESTATUS[0]}
  took=$(secs "$t" "$(now)")
  TIMINGS+=("package $took")
  p=$(grep -c '^package: ok ' "$OUT/package.log")
  f=$(grep -c '^package: FAILED ' "$OUT/package.log")
  note=""
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && note=" — killed after ${PACKAGE_LIMIT}s (STINT_PACKAGE_TIMEOUT${DEADLINE:+ or STINT_TEST_DEADLINE})"
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1 note="$note — exit code $rc without a failed check"; fi
  LINES+=("package: $p passed, $f failed (exit $rc, $took)$note")
  PASSED=$((PASSED + p)) FAILED=$((FAILED + f))
fi

t=$(now)
cleanup
[ -n "${want+x}" ] && TIMINGS+=("stop $(secs "$t" "$(now)")")
TIMINGS+=("total $(secs "$T_START" "$(now)")")
echo
printf '%s\n' "${LINES[@]}"
[ -n "${STINT_TEST_OUT:-}" ] && echo "reports: $OUT"
echo "timing: ${TIMINGS[*]}"
echo "skipped: $SKIPPED (counted as neither passed nor failed)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
