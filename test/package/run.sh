#!/usr/bin/env bash
# The npm package installed as a user installs it: `npm pack` (which builds dist/), then, in
# scratch projects outside the repository (a temp dir), the tarball installed with each
# runtime's own route and the README's quick starts run and type-checked there:
#
#   node  npm install <tarball> hono @types/node; node main.ts, node worker.ts + node enqueue.ts;
#         tsc with "module": "nodenext" and @types/node (no DOM lib); npx stint
#   bun   bun init; bun add <tarball> hono; bun main.ts, bun worker.ts + bun enqueue.ts; bun check
#         and the project's own tsc over bun init's tsconfig; bunx --bun stint
#   deno  a package.json project: npm install <tarball> hono, deno.json with "nodeModulesDir":
#         "manual" and "stint": "npm:stint@^<version>"; deno run -A main.ts, worker.ts +
#         enqueue.ts; deno check; deno run -A npm:stint
#
# and, on each, stint/hono (and stint/client) imported and run, and a database client that is
# not installed (postgres, mysql2) a ConfigError naming the package. tsc and bun check read the
# installed .d.ts with skipLibCheck off.
#
#   bash test/package/run.sh             every check
#   STINT_PACKAGE_RUNTIMES="node deno"   only these runtimes ("node bun deno" by default)
#   STINT_PACKAGE_KEEP=1                 keep the scratch directory (its path is printed)
#
# Prints "package: ok <check> (<time>)" or "package: FAILED <check>" (with the tail of its
# output) per check, a timing line, and last "package: N passed, N failed". test/run.sh counts
# these lines. Needs the npm registry (the tarball's dependencies, bun init's, @types/node).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
RUNTIMES=${STINT_PACKAGE_RUNTIMES:-node bun deno}
NODE=$BIN/node
# Node 26 from npm first on PATH: npm, tsc and the bin's `#!/usr/bin/env node` run on it, as on a
# user's Node 26 machine (the `node` on PATH may be an older one).
export PATH=$BIN:$PATH
export NO_COLOR=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }
T0=$(now)
WORK=$(mktemp -d /tmp/stint-package.XXXXXX)
WORKER_PID=
# The worker is timeout's child: KILL it (its pid from /proc, no procps needed), then timeout.
stop_worker() {
  local child
  for child in $(cat /proc/"$WORKER_PID"/task/*/children 2>/dev/null); do kill -KILL "$child" 2>/dev/null; done
  kill -KILL "$WORKER_PID" 2>/dev/null
  wait "$WORKER_PID" 2>/dev/null
}
cleanup() {
  if [ -n "$WORKER_PID" ]; then stop_worker; fi
  if [ "${STINT_PACKAGE_KEEP:-0}" = 1 ]; then echo "package: scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASSED=0 FAILED=0 TIMINGS=() N=0
# check NAME COMMAND...: one counted check; its output goes to a log, shown when it fails.
check() {
  local name=$1 t rc log
  shift
  N=$((N + 1)) log=$WORK/check-$N.log t=$(now)
  "$@" >"$log" 2>&1 </dev/null
  rc=$?
  if [ "$rc" = 0 ]; then
    PASSED=$((PASSED + 1))
    echo "package: ok $name ($(secs "$t" "$(now)"))"
  else
    FAILED=$((FAILED + 1))
    echo "package: FAILED $name (exit $rc, $(secs "$t" "$(now)"))"
    tail -40 "$log" | sed 's/^/  | /'
  fi
  return "$rc"
}
# skip NAME REASON: a check that cannot run because one it depends on failed (counted as failed).
skip() {
  FAILED=$((FAILED + 1))
  echo "package: FAILED $1 (not run: $2)"
}
expect() { # expect REGEX COMMAND...: the command succeeds and its output matches
  local re=$1 out
  shift
  out=$("$@" 2>&1)
  local rc=$?
  printf '%s\n' "$out"
  [ "$rc" = 0 ] || { echo "(exit $rc)"; return 1; }
  grep -qE "$re" <<<"$out" || { echo "(output does not match /$re/)"; return 1; }
}

# ---- the tarball ----
VERSION=$("$NODE" -p 'require("./package.json").version')
TARBALL=$WORK/stint-$VERSION.tgz
pack() {
  npm pack --pack-destination "$WORK" >"$WORK/pack.txt" 2>&1 || { cat "$WORK/pack.txt"; return 1; }
  [ -f "$TARBALL" ] || { echo "no $TARBALL"; return 1; }
  grep -E 'npm notice (package size|unpacked size|total files)' "$WORK/pack.txt"
}
# Only the build: package.json, README.md and dist/ (.js, .d.ts), the entry points, the modules
# an isolate starts on, and no TypeScript source.
contents() {
  local files
  files=$(tar tzf "$TARBALL" | sed 's|^package/||' | sort)
  printf '%s\n' "$files" | grep -vE '^(package\.json|README\.md|LICENSE|dist/.*\.(js|d\.ts))$' && {
    echo "(files outside the build, above)"
    return 1
  }
  printf '%s\n' "$files" | grep -E '\.ts$' | grep -vE '\.d\.ts$' && { echo "(TypeScript source, above)"; return 1; }
  local want
  for want in dist/mod.js dist/mod.d.ts dist/hono.js dist/hono.d.ts dist/cli.js dist/src/runtime/isolate.js \
    dist/adapters/node-isolate.js dist/drivers/libsql/mod.js dist/drivers/postgres/mod.js dist/drivers/mysql/mod.js; do
    grep -qxF "$want" <<<"$files" || { echo "missing $want"; return 1; }
  done
  if [ -f client.ts ]; then grep -qxF dist/client.js <<<"$files" || { echo "missing dist/client.js"; return 1; }; fi
  tar xzOf "$TARBALL" package/dist/cli.js | head -1 | grep -qxF '#!/usr/bin/env node' || { echo "dist/cli.js has no shebang"; return 1; }
  echo "$(wc -l <<<"$files") files"
}
PACKED=0
check "npm pack (builds dist/)" pack && check "tarball holds the build only" contents && PACKED=1
# JSR: the Deno source as `deno publish` would take it (slow types included); offline, nothing is sent.
check "jsr: deno publish --dry-run" expect 'Dry run complete' timeout -k 5 120 "$BIN/deno" publish --dry-run --allow-dirty

# ---- the README's quick starts, and a program for a missing client ----
QUICK=$WORK/quick
mkdir -p "$QUICK"
check "README quick-start files" "$NODE" test/package/readme-files.ts "$QUICK" || PACKED=0
cat >"$QUICK/missing.ts" <<'EOF'
// A database client that is not installed: createStint must throw a ConfigError naming it.
import { ConfigError, createStint } from "stint";

let failed = false;
for (const [url, client] of [["postgres://stint@127.0.0.1:9/none", "postgres"], ["mysql://stint@127.0.0.1:9/none", "mysql2"]]) {
  try {
    await createStint({ url });
    console.log(`${client}: no error`);
    failed = true;
  } catch (error) {
    const ok = error instanceof ConfigError && error.message.includes(`npm install ${client}`);
    console.log(`${client}: ${ok ? "ConfigError" : "unexpected"}: ${(error as Error).message}`);
    failed ||= !ok;
  }
}
if (failed) throw new Error("a missing client was not a ConfigError naming it");
EOF
cat >"$QUICK/exports.ts" <<'EOF'
// The other entry points resolve and type-check: stint/hono (with hono installed), stint/client.
import { createStint } from "stint";
import { stintApp } from "stint/hono";
import { Hono } from "hono";

const stint = await createStint({ url: "file:exports.db" });
await stint.migrate();
const app = new Hono().route("/stint", stintApp(stint));
const response = await app.request("/stint/stats.json");
console.log("stats.json", response.status);
await stint.close();
EOF
CLIENT=
[ -f client.ts ] && CLIENT=1 && cat >>"$QUICK/exports.ts" <<'EOF'
import { createClient } from "stint/client";
console.log("stint/client", typeof createClient);
EOF

# The worker quick start: worker.ts until it says it runs, enqueue.ts (its job succeeds), then
# SIGINT, on which the worker drains and exits 0.
worker_quick_start() {
  local dir=$1 log=$1/worker.log i
  shift
  rm -f "$dir"/stint.db*
  # A terminal's Ctrl-C reaches the worker once: timeout --foreground passes the SIGINT on to the
  # worker alone (without it, timeout signals the worker and then its whole group, a second SIGINT
  # that can land after the supervisor stopped and removed its handlers: Node then dies of it, 130),
  # exits with its status, and kills one that hangs.
  (cd "$dir" && exec timeout --foreground -k 5 120 "$@" worker.ts) >"$log" 2>&1 &
  WORKER_PID=$!
  for i in $(seq 600); do
    grep -q '^worker running' "$log" && break
    kill -0 "$WORKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^worker running' "$log" || {
    stop_worker
    WORKER_PID=
    cat "$log"
    echo "(the worker did not start)"
    return 1
  }
  (cd "$dir" && expect '^succeeded$' timeout -k 5 60 "$@" enqueue.ts)
  local sent=$?
  kill -INT "$WORKER_PID"
  wait "$WORKER_PID"
  local rc=$?
  WORKER_PID=
  cat "$log"
  [ "$sent" = 0 ] && [ "$rc" = 0 ] || { echo "(enqueue exit $sent, worker exit $rc after SIGINT)"; return 1; }
}

# The common checks of one runtime's scratch project: quick starts, a missing client, the bin as
# the README runs it (`stint migrate` then `stint stats` on a libSQL file).
run_app() {
  local rt=$1 dir=$2 run=() bin=()
  case $rt in
    node) run=("$NODE") bin=(npx stint) ;;
    bun) run=("$BIN/bun") bin=("$BIN/bunx" --bun stint) ;;
    deno) run=("$BIN/deno" run -A) bin=("$BIN/deno" run -A npm:stint) ;;
  esac
  rm -f "$dir"/stint.db*
  check "$rt: async quick start (main.ts)" in_dir "$dir" expect '^succeeded 3$' timeout -k 5 90 "${run[@]}" main.ts
  check "$rt: worker quick start (worker.ts, enqueue.ts, SIGINT)" worker_quick_start "$dir" "${run[@]}"
  check "$rt: a missing client (postgres, mysql2) is a ConfigError naming it" \
    in_dir "$dir" expect '^mysql2: ConfigError: .*"mysql2"' timeout -k 5 60 "${run[@]}" missing.ts
  check "$rt: stint bin (migrate, stats)" in_dir "$dir" bash -c \
    'rm -f cli.db* && timeout -k 5 60 "$@" migrate --url file:cli.db && timeout -k 5 60 "$@" stats --url file:cli.db | grep -q "\"queues\""' \
    _ "${bin[@]}"
}
in_dir() { (cd "$1" && shift && "$@"); }

# ---- Node: npm install, with @types/node and tsc as a Node project would have them ----
node_install() {
  printf '{ "name": "app", "private": true, "type": "module" }\n' >package.json
  timeout -k 5 120 npm install "$TARBALL" hono @types/node@^26 || return 1
  cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "module": "nodenext",
    "target": "esnext",
    "lib": ["esnext"],
    "types": ["node"],
    "strict": true,
    "noEmit": true,
    "allowImportingTsExtensions": true,
    "verbatimModuleSyntax": true,
    "skipLibCheck": false
  }
}
EOF
}
# ---- Bun: a fresh `bun init` project, bun add; its own tsc over bun init's tsconfig ----
bun_install() {
  timeout -k 5 60 "$BIN/bun" init -y >/dev/null || return 1
  timeout -k 5 120 "$BIN/bun" add "$TARBALL" hono
}
# Bun's own checker, as bun init's "typecheck" script runs it, then the project's tsc; with the
# libraries' .d.ts checked too, not just the project's files.
bun_check() {
  "$BIN/bun" check --skipLibCheck false || return 1
  local tsc=./node_modules/.bin/tsc
  [ -x "$tsc" ] || tsc=$BIN/tsc # bun init installs TypeScript as a peer; else the repository's
  "$tsc" --version && "$tsc" -p . --noEmit --skipLibCheck false
}
# ---- Deno: a package.json project with node_modules, "stint" mapped as `deno add npm:stint` would ----
deno_install() {
  printf '{ "name": "app", "private": true, "type": "module" }\n' >package.json
  timeout -k 5 120 npm install "$TARBALL" hono || return 1
  printf '{ "nodeModulesDir": "manual", "imports": { "stint": "npm:stint@^%s" } }\n' "$VERSION" >deno.json
}

for rt in $RUNTIMES; do
  t=$(now)
  dir=$WORK/$rt
  if [ "$PACKED" != 1 ]; then
    skip "$rt: install, quick starts, type-check" "no tarball"
    continue
  fi
  mkdir -p "$dir"
  case $rt in
    node)
      run=("$NODE")
      check "node: npm install <tarball> hono @types/node" in_dir "$dir" node_install || { skip "node: the rest" "no install"; continue; }
      cp "$QUICK"/*.ts "$dir"
      check "node: tsc (nodenext, @types/node, no DOM lib)" in_dir "$dir" "$BIN/tsc" -p .
      ;;
    bun)
      run=("$BIN/bun")
      check "bun: bun init, bun add <tarball> hono" in_dir "$dir" bun_install || { skip "bun: the rest" "no install"; continue; }
      cp "$QUICK"/*.ts "$dir"
      check "bun: bun check and tsc (bun init's tsconfig)" in_dir "$dir" bun_check
      ;;
    deno)
      run=("$BIN/deno" run -A)
      check "deno: npm install <tarball> hono, npm:stint in deno.json" in_dir "$dir" deno_install ||
        { skip "deno: the rest" "no install"; continue; }
      cp "$QUICK"/*.ts "$dir"
      check "deno: deno check" in_dir "$dir" "$BIN/deno" check main.ts worker.ts enqueue.ts tasks.ts missing.ts exports.ts
      ;;
    *) echo "package: unknown runtime $rt" >&2; exit 1 ;;
  esac
  check "$rt: stint/hono${CLIENT:+, stint/client}" in_dir "$dir" expect '^stats.json 200$' timeout -k 5 60 "${run[@]}" exports.ts
  run_app "$rt" "$dir"
  TIMINGS+=("$rt $(secs "$t" "$(now)")")
done

[ -f "$WORK/pack.txt" ] && echo "package: tarball $(sed -nE 's/.*npm notice (package size|unpacked size|total files): *(.*)/\1 \2/p' "$WORK/pack.txt" | paste -sd, - | sed 's/,/, /g')"
echo "package: timing: ${TIMINGS[*]} total $(secs "$T0" "$(now)")"
echo "package: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
