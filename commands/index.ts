/**
 * The command registry. Each entry is loaded only when its command runs, so
 * `--help` and `--version` never import postgres.js or the prompts.
 */
import type { CommandDef } from 'citty'

type Lazy = () => Promise<CommandDef<any>>

export const commands: Record<string, Lazy> = {
  setup: () => import('./setup.ts').then((m) => m.default),
  migrate: () => import('./migrate.ts').then((m) => m.default),
  status: () => import('./status.ts').then((m) => m.default),
  cycle: () => import('./cycle.ts').then((m) => m.default),
  sync: () => import('./sync.ts').then((m) => m.default),
  import: () => import('./import.ts').then((m) => m.default),
  schedule: () => import('./schedule.ts').then((m) => m.default),
  archive: () => import('./archive.ts').then((m) => m.default),
  report: () => import('./report.ts').then((m) => m.default),
  verify: () => import('./verify.ts').then((m) => m.default),
  bench: () => import('./bench.ts').then((m) => m.default),
  dump: () => import('./dump.ts').then((m) => m.default),
  restore: () => import('./restore.ts').then((m) => m.default),
}

/** One line each, shown by `prescient --help` without loading the commands. */
export const summaries: Record<string, string> = {
  setup: 'Create the database, role, grants and schema, and write .env (--check verifies)',
  migrate: 'Apply the embedded schema migrations (--status, --dry-run)',
  cycle: 'Run one trading cycle: events -> markets -> signals -> paper trades -> portfolio -> history',
  sync: 'Bring the database level with the JSON files (or, with --from-db, the JSON files with the database)',
  import: 'Backfill the JSON files into PostgreSQL (streaming, COPY + merge, idempotent; bad records go to a rejects file)',
  status: 'Show the phase, the database, row counts, last runs, JSON files and disk space',
  schedule: 'install|remove|print the scheduled jobs: a cycle every 15m and a daily backup (Task Scheduler, cron or systemd)',
  archive: 'Phase 7: pack the JSON files into a .tar.gz with a sha256 manifest (--remove deletes them after checking)',
  report: 'Performance report: P&L, win rate, edge, best/worst markets, exposure; --out FILE.svg|.html for charts',
  verify: 'Compare every table with its JSON twin, column by column (exit 3 on any difference)',
  bench: 'reads|import|cycle: measure JSON against PostgreSQL on a synthetic history, in a scratch database',
  dump: 'Back up the prescient tables (json, sql or custom) with a checksummed manifest; --prune applies the retention policy',
  restore: 'Restore a dump after checking its manifest; --verify restores into a scratch database and compares',
}
