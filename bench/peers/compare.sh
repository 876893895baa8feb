#!/usr/bin/env bash
# Stint beside a peer, graphile-worker 0.18.0 (default) or pg-boss 10.4.2, on the same machine, interleaved.
#
#   bash bench/peers/compare.sh [--peer graphile|pg-boss] [--passes 3] [--scenarios bulk,drain,latency,single] [--runtime deno|bun]
#   PG_ADMIN=postgres://postgres@127.0.0.1:54329 (default) — a superuser URL without a database name.
#
# For every pass and comparison, Stint's own bench (bench/run.ts --no-raw --repeat 1) and the
# peer's script (bench/peers/graphile.mjs or bench/peers/pgboss.mjs) each run on a fresh database,
# created just before and dropped just after. The side that goes first alternates from pass to
# pass (stint first in odd passes).
# The final table shows the median over the passes and every pass's figure. Logs of every run
# are kept in a temp directory (printed at the start and the end).
set -uo pipefail

peer="graphile"
passes=3
scenarios="bulk,drain,latency,single"
runtime="deno"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:54329}"
PG_ADMIN="${PG_ADMIN%/}"

# The same sizes on both sides (they are also both sides' defaults).
JOBS=20000
SINGLE=2000
CONCURRENCY=10
PREFETCH=500
LATENCY_JOBS=500
PACE=4
# pg-boss defaults poll every 2 s for 1 job per worker (about CONCURRENCY/2 jobs/s): its drain gets
# this many jobs instead of JOBS, or it would run for over an hour.
PGBOSS_DEFAULTS_DRAIN_JOBS=200

usage() {
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer="${2:-}"; shift 2 ;;
    --peer=*) peer="${1#*=}"; shift ;;
    --passes) passes="${2:-}"; shift 2 ;;
    --passes=*) passes="${1#*=}"; shift ;;
    --scenarios | --scenario) scenarios="${2:-}"; shift 2 ;;
    --scenarios=* | --scenario=*) scenarios="${1#*=}"; shift ;;
    --runtime) runtime="${2:-}"; shift 2 ;;
    --runtime=*) runtime="${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$passes" =~ ^[1-9][0-9]*$ ]]; then echo "--passes: expected a positive integer, got '$passes'" >&2; exit 2; fi
case "$runtime" in
  deno) stint_cmd=(npx deno run -A bench/run.ts) ;;
  bun) stint_cmd=(npx bun bench/run.ts) ;;
  *) echo "--runtime: deno or bun, got '$runtime'" >&2; exit 2 ;;
esac
# peer_short names the peer in the output, peer_pkg is its npm package.
case "$peer" in
  graphile | graphile-worker) peer_short=graphile; peer_pkg=graphile-worker; peer_script=bench/peers/graphile.mjs ;;
  pg-boss | pgboss) peer_short=pg-boss; peer_pkg=pg-boss; peer_script=bench/peers/pgboss.mjs ;;
  *) echo "--peer: graphile or pg-boss, got '$peer'" >&2; exit 2 ;;
esac
IFS=',' read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
  case "$s" in bulk | single | drain | latency) ;; *) echo "--scenarios: bulk, drain, latency, single; got '$s'" >&2; exit 2 ;; esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1

if [ ! -d "bench/peers/node_modules/$peer_pkg" ]; then
  echo "installing bench/peers dependencies ($peer_pkg) …"
  npm install --prefix bench/peers --no-audit --no-fund >&2 || { echo "npm install failed" >&2; exit 1; }
fi

psql_admin() { psql "$PG_ADMIN/postgres" -X -v ON_ERROR_STOP=1 -q "$@"; }
if ! psql_admin -Atc "select 1" >/dev/null; then
  echo "cannot reach PostgreSQL at $PG_ADMIN/postgres" >&2
  exit 1
fi

logdir="$(mktemp -d "${TMPDIR:-/tmp}/stint-peers.XXXXXX")"
results="$logdir/results.tsv" # pass, comparison, side, value, order
: >"$results"
prefix="peers_$$"
live_dbs=()
failures=0

drop_db() { psql_admin -c "drop database if exists \"$1\" with (force)" >/dev/null 2>&1; }
cleanup() {
  local db
  for db in "${live_dbs[@]}"; do [ -n "$db" ] && drop_db "$db"; done
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# 20000 -> 20,000 (en-US grouping, as bench/run.ts prints its figures).
group() { echo "$1" | sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta'; }
num() { tr -d ', ' | sed -E 's/(jobs\/s|ms)$//'; }

# Stint: the figure in the second column of the final table's row starting with $1.
stint_row() {
  awk -v p="$1" 'index($0, p) == 1 && index($0, " | ") { split($0, c, " \\| "); print c[2]; exit }' "$2" | num
}
# graphile.mjs, pgboss.mjs: a key of their one JSON line.
peer_key() {
  grep '^{"peer"' "$2" | tail -1 | sed -nE "s/.*\"$1\":(-?[0-9.eE+-]+).*/\1/p"
}
is_number() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# run_side PASS NAME SIDE -- command… : runs one side on a fresh database; the log is $logdir/NAME-SIDE-pPASS.log.
# The command's "{URL}" argument is replaced by the fresh database's URL.
last_log=""
last_secs=""
last_rc=0
run_side() {
  local pass="$1" name="$2" side="$3"
  shift 4
  local db="${prefix}_p${pass}_${name//-/_}_${side//-/_}"
  local log="$logdir/${name}-${side}-p${pass}.log"
  local url="$PG_ADMIN/$db"
  local args=() a
  for a in "$@"; do args+=("${a//\{URL\}/$url}"); done
  drop_db "$db"
  if ! psql_admin -c "create database \"$db\"" >"$log" 2>&1; then
    last_rc=1
    last_log="$log"
    last_secs="-"
    return
  fi
  live_dbs+=("$db")
  echo "\$ ${args[*]}" >>"$log"
  local t0 t1
  t0=$(date +%s.%N)
  "${args[@]}" >>"$log" 2>&1
  last_rc=$?
  t1=$(date +%s.%N)
  last_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  last_log="$log"
  drop_db "$db"
  live_dbs=("${live_dbs[@]/$db/}")
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$results"; }

fail_note() {
  failures=$((failures + 1))
  echo "    $1 failed (exit $2), log: $3" >&2
  tail -n 5 "$3" | sed 's/^/      | /' >&2
}

# compare PASS NAME "stint args" "peer args" "stint row label" "peer key" NAME1 ["stint row label 2" "peer key 2" NAME2]
compare() {
  local pass="$1" name="$2" sargs="$3" gargs="$4"
  shift 4
  local order side sv_log sv_secs sv_rc gv_log gv_secs gv_rc
  if [ $((pass % 2)) -eq 1 ]; then order="stint first"; else order="$peer_short first"; fi
  for side in $([ "$order" = "stint first" ] && echo "stint peer" || echo "peer stint"); do
    if [ "$side" = stint ]; then
      # shellcheck disable=SC2086
      run_side "$pass" "$name" stint -- "${stint_cmd[@]}" --url "{URL}" $sargs --no-raw --repeat 1
      sv_log="$last_log" sv_secs="$last_secs" sv_rc="$last_rc"
    else
      # shellcheck disable=SC2086
      run_side "$pass" "$name" "$peer_short" -- node "$peer_script" --url "{URL}" $gargs
      gv_log="$last_log" gv_secs="$last_secs" gv_rc="$last_rc"
    fi
  done
  [ "$sv_rc" -ne 0 ] && fail_note "stint $name" "$sv_rc" "$sv_log"
  [ "$gv_rc" -ne 0 ] && fail_note "$peer_short $name" "$gv_rc" "$gv_log"
  while [ $# -ge 3 ]; do
    local label="$1" key="$2" cmp="$3" sv gv
    shift 3
    sv=""
    gv=""
    [ "$sv_rc" -eq 0 ] && sv="$(stint_row "$label" "$sv_log")"
    [ "$gv_rc" -eq 0 ] && gv="$(peer_key "$key" "$gv_log")"
    if [ "$sv_rc" -eq 0 ] && ! is_number "$sv"; then
      failures=$((failures + 1))
      echo "    stint $cmp: no figure in row '$label' of $sv_log" >&2
    fi
    if [ "$gv_rc" -eq 0 ] && ! is_number "$gv"; then
      failures=$((failures + 1))
      echo "    $peer_short $cmp: no \"$key\" in $gv_log" >&2
    fi
    is_number "$sv" || sv="-"
    is_number "$gv" || gv="-"
    record "$pass" "$cmp" stint "$sv" "$order"
    record "$pass" "$cmp" "$peer_short" "$gv" "$order"
    printf '  pass %d %-15s stint %10s (%ss)  %s %10s (%ss)  [%s]\n' \
      "$pass" "$cmp" "$(group "$sv")" "$sv_secs" "$peer_short" "$(group "$gv")" "$gv_secs" "$order"
  done
}

stint_version="$("${stint_cmd[0]}" "${stint_cmd[1]}" --version 2>/dev/null | head -1)"
fsync="$(psql_admin -Atc "show fsync")"
sync_commit="$(psql_admin -Atc "show synchronous_commit")"
server_version="$(psql_admin -Atc "show server_version")"
commit="$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src drivers mod.ts 2>/dev/null || echo '+dirty')"
started=$(date +%s)

echo "stint vs ${peer_pkg} — $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "stint ${commit} under ${runtime} (${stint_version}); ${peer_pkg} $(node -p "require('./bench/peers/node_modules/${peer_pkg}/package.json').version") under node $(node --version)"
echo "PostgreSQL ${server_version} at ${PG_ADMIN}: fsync=${fsync} synchronous_commit=${sync_commit}"
echo "passes ${passes}, scenarios ${scenarios}; jobs ${JOBS}, single ${SINGLE}, concurrency ${CONCURRENCY}, latency ${LATENCY_JOBS} jobs every ${PACE} ms"
echo "logs: ${logdir}"
echo

common_stint="--jobs $JOBS --single $SINGLE --concurrency $CONCURRENCY --latency-jobs $LATENCY_JOBS --pace $PACE"
common_peer="--jobs $JOBS --single $SINGLE --concurrency $CONCURRENCY --latency-jobs $LATENCY_JOBS --pace $PACE"
# The peer's defaults drain: graphile drains all JOBS; pg-boss gets fewer (see PGBOSS_DEFAULTS_DRAIN_JOBS).
peer_defaults_drain=""
if [ "$peer_short" = pg-boss ]; then
  # pg-boss tuned: each worker fetches up to PREFETCH jobs per poll (graphile's local queue holds as many).
  common_peer="$common_peer --batch-size $PREFETCH"
  peer_defaults_drain="--jobs $PGBOSS_DEFAULTS_DRAIN_JOBS"
fi
jobs_fmt="$(group "$JOBS")"
single_fmt="$(group "$SINGLE")"

for ((pass = 1; pass <= passes; pass++)); do
  echo "pass $pass/$passes"
  for s in "${scenario_list[@]}"; do
    case "$s" in
      bulk)
        compare "$pass" bulk "$common_stint --scenario enqueue" "$common_peer --scenario bulk" \
          "enqueue bulk (" value bulk
        ;;
      single)
        compare "$pass" single "$common_stint --scenario enqueue" "$common_peer --scenario single" \
          "enqueue single (" value single
        ;;
      drain)
        compare "$pass" drain-tuned "$common_stint --scenario drain --prefetch $PREFETCH" \
          "$common_peer --scenario drain --mode tuned" \
          "drain c=$CONCURRENCY prefetch=$PREFETCH (" value drain-tuned
        compare "$pass" drain-defaults "$common_stint --scenario drain --prefetch 0" \
          "$common_peer --scenario drain --mode defaults $peer_defaults_drain" \
          "drain c=$CONCURRENCY (" value drain-defaults
        ;;
      latency)
        compare "$pass" latency "$common_stint --scenario latency --prefetch $PREFETCH" \
          "$common_peer --scenario latency --mode tuned" \
          "latency p50, same instance" p50 latency-p50 \
          "latency p99, same instance" p99 latency-p99
        ;;
    esac
  done
done

echo
PEER_SHORT="$peer_short" PEER_PKG="$peer_pkg" PGBOSS_DEFAULTS_DRAIN_JOBS="$PGBOSS_DEFAULTS_DRAIN_JOBS" \
  RUNTIME="$runtime" PREFETCH="$PREFETCH" CONCURRENCY="$CONCURRENCY" JOBS_FMT="$jobs_fmt" SINGLE_FMT="$single_fmt" \
  LATENCY_JOBS="$LATENCY_JOBS" PACE="$PACE" ORDER="$scenarios" node - "$results" <<'EOF'
const fs = require("node:fs");
const env = process.env;
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean)
  .map((l) => { const [pass, cmp, side, value, order] = l.split("\t"); return { pass: +pass, cmp, side, value: value === "-" ? null : +value, order }; });
const peer = env.PEER_SHORT;
const defaultsJobs = peer === "pg-boss"
  ? ` on ${Number(env.PGBOSS_DEFAULTS_DRAIN_JOBS).toLocaleString("en-US")} jobs`
  : "";
const labels = {
  "bulk": [`enqueue bulk (${env.JOBS_FMT}, 1,000 per call)`, "jobs/s"],
  "single": [`enqueue single (${env.SINGLE_FMT}, awaited one by one)`, "jobs/s"],
  "drain-tuned": [`drain c=${env.CONCURRENCY} (${env.JOBS_FMT} no-op), stint prefetch=${env.PREFETCH} vs ${peer} tuned`, "jobs/s"],
  "drain-defaults": [`drain c=${env.CONCURRENCY} (${env.JOBS_FMT} no-op), stint prefetch=0 vs ${peer} defaults${defaultsJobs}`, "jobs/s"],
  "latency-p50": [`latency p50 (same process, ${env.LATENCY_JOBS} jobs every ${env.PACE} ms), stint prefetch=${env.PREFETCH} vs ${peer} tuned`, "ms"],
  "latency-p99": [`latency p99 (same process, ${env.LATENCY_JOBS} jobs every ${env.PACE} ms), stint prefetch=${env.PREFETCH} vs ${peer} tuned`, "ms"],
};
const order = [];
for (const s of env.ORDER.split(",")) {
  const keys = s === "drain" ? ["drain-tuned", "drain-defaults"] : s === "latency" ? ["latency-p50", "latency-p99"] : [s];
  for (const k of keys) if (!order.includes(k)) order.push(k);
}
const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v, unit) => v === null ? "-" : unit === "ms"
  ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`
  : `${Math.round(v).toLocaleString("en-US")} jobs/s`;
const header = ["scenario", `stint (${env.RUNTIME}) median`, `${env.PEER_PKG} median`, `stint/${peer}`];
const table = [], notes = [];
for (const k of order) {
  const [label, unit] = labels[k];
  const mine = rows.filter((r) => r.cmp === k);
  if (mine.length === 0) continue;
  const vals = (side) => mine.filter((r) => r.side === side && r.value !== null).map((r) => r.value);
  const s = median(vals("stint")), g = median(vals(peer));
  table.push([label, fmt(s, unit), fmt(g, unit), s !== null && g ? `${(s / g).toFixed(2)}x` : "-"]);
  const passes = [...new Set(mine.map((r) => r.pass))].sort((a, b) => a - b);
  notes.push(`${label}:`);
  for (const p of passes) {
    const get = (side) => mine.find((r) => r.pass === p && r.side === side);
    const [a, b] = [get("stint"), get(peer)];
    const ratio = a?.value != null && b?.value ? `${(a.value / b.value).toFixed(2)}x` : "-";
    notes.push(`  pass ${p} (${a?.order ?? b?.order}): stint ${fmt(a?.value ?? null, unit)}, ${peer} ${fmt(b?.value ?? null, unit)}, ${ratio}`);
  }
}
const all = [header, ...table];
const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ");
console.log(line(header));
console.log(w.map((n) => "-".repeat(n)).join("-|-"));
for (const r of table) console.log(line(r));
console.log(`\nthroughput: stint/${peer} above 1 = Stint faster; latency: below 1 = Stint faster.`);
if (peer === "pg-boss") {
  console.log(
    `pg-boss tuned = ${env.CONCURRENCY} work() workers with batchSize ${env.PREFETCH}, pollingIntervalSeconds 0.5 (its minimum); ` +
      `defaults = ${env.CONCURRENCY} work() workers, batchSize 1, pollingIntervalSeconds 2.\n`,
  );
} else {
  console.log("graphile tuned = localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0; defaults = no tuning.\n");
}
console.log("every pass:");
for (const n of notes) console.log(n);
EOF
echo
echo "PostgreSQL: fsync=${fsync} synchronous_commit=${sync_commit}; load average now $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - started)) s"
echo "logs: ${logdir}"
if [ "$failures" -gt 0 ]; then
  echo "$failures run(s) failed or gave no figure (see above)." >&2
  exit 1
fi
