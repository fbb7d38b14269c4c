#!/usr/bin/env bash
# The full-length reliability suites (PRESCIENT_FULL=1): 60 SIGKILLs across phases 0/3/5/7,
# every mid-cycle link cut in phases 1-7, the PostgreSQL server stopped and started
# mid-run, every Gamma API failure, the bad-input corpus, and the secrets sweep.
# Prints a summary of the figures. Usage: bash scripts/full-reliability.sh
#
# It stops and restarts the local PostgreSQL 15 cluster for a few seconds
# (pg_ctlcluster); set PRESCIENT_PG_STOP=0 to skip that part on a shared machine.
set -uo pipefail
cd "$(dirname "$0")/.."

BUN=node_modules/.bin/bun
[ -x "$BUN" ] || BUN="npx bun"
STATS=$(mktemp -t prescient-reliability-XXXXXX.jsonl)
LOG=$(mktemp -t prescient-reliability-XXXXXX.log)
export PRESCIENT_FULL=1
export PRESCIENT_RELIABILITY_STATS="$STATS"
export PRESCIENT_PG_STOP="${PRESCIENT_PG_STOP:-1}"
if [ "$PRESCIENT_PG_STOP" = 1 ] && ! command -v pg_ctlcluster >/dev/null; then PRESCIENT_PG_STOP=0; fi

start=$(date +%s)
status=0
for suite in crash outage-network concurrency bad-input secrets; do
  echo "== test/$suite.test.ts (full)"
  if ! $BUN test --timeout 300000 "test/$suite.test.ts" >>"$LOG" 2>&1; then
    status=1
    echo "   FAILED (see $LOG)"
  fi
  grep -E '^ *[0-9]+ (pass|fail|skip|todo)' "$LOG" | tail -4 | sed 's/^/   /'
  mv "$LOG" "$LOG.$suite"; : >"$LOG"
done
elapsed=$(( $(date +%s) - start ))

$BUN -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
const sum = (suite, key) => lines.filter((l) => l.suite.startsWith(suite)).reduce((n, l) => n + (typeof l[key] === "number" ? l[key] : 0), 0)
const crash = lines.find((l) => l.suite === "crash") ?? {}
const db = lines.filter((l) => l.suite === "outage-network/db").at(-1) ?? {}
const api = lines.filter((l) => l.suite === "outage-network/gamma").at(-1) ?? {}
const conc = lines.find((l) => l.suite === "concurrency") ?? {}
const bad = lines.find((l) => l.suite === "bad-input") ?? {}
const sec = lines.find((l) => l.suite === "secrets") ?? {}
const out = [
  ["kills survived (SIGKILL mid-cycle)", `${crash.violations === 0 ? crash.kills : "FAILED"}/${crash.kills ?? 0}` + (crash.byMode ? ` (uniform ${crash.byMode.uniform ?? 0}, in the JSON commit ${crash.byMode["json-commit"] ?? 0}, in the DB commit ${crash.byMode["db-commit"] ?? 0})` : "")],
  ["  where they landed", JSON.stringify(crash.landed ?? {})],
  ["  stale locks recovered / JSON journals rolled forward", `${crash.staleLocks ?? 0} / ${crash.journalsRolledForward ?? 0}`],
  ["  invariant violations", String(crash.violations ?? "?")],
  ["DB outages survived", `${db.dbOutagesSurvived ?? 0}/${db.dbOutages ?? 0}`],
  ["Gamma API failures handled", `${api.apiFailuresHandled ?? 0}/${api.apiFailures ?? 0}`],
  ["concurrent writers refused with exit 4", `${conc.refusedWithExit4 ?? 0} (${conc.races ?? 0} racing cycles, the rest import/sync/verify/archive), stale locks recovered ${conc.staleLocksRecovered ?? 0}`],
  ["bad inputs tried", `${bad.cases ?? 0} (passed ${bad.passed ?? 0}; fatal with one clear line ${bad.fatal ?? 0}; bad source records skipped ${bad.recordRejects ?? 0})`],
  ["secret leaks", `${sec.leaks ?? "?"} in ${sec.runs ?? 0} runs of ${sec.commands ?? 0} commands`],
  ["data lost", String(crash.lost ?? "?")],
]
const w = Math.max(...out.map(([k]) => k.length))
console.log("\nReliability summary (PRESCIENT_FULL=1)")
for (const [k, v] of out) console.log(`  ${k.padEnd(w)}  ${v}`)
' "$STATS"
echo "  elapsed                                             ${elapsed} s"
echo "  raw figures: $STATS; logs: $LOG.*"
exit $status
