import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, phaseArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { gatherStatus, type StatusReport } from '../src/status.ts'
import { logger } from '../src/logger.ts'
import { fmtBytes, printJson, printTable, type Cell } from '../src/output.ts'

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none')
const orDash = (x: Cell) => (x === null || x === undefined || x === '' ? '-' : x)

function render(r: StatusReport): void {
  const p = r.phase
  const flags = Object.entries(p.seedFlags)
    .map(([k, v]) => `${k}=${v ?? '(unset)'}`)
    .join(' ')
  printTable(
    ['phase', `${p.number}: ${p.name}`],
    [
      ['from', p.source],
      ['seed flags', flags],
      ['JSON writes', list(p.jsonWrites)],
      ['DB writes', list(p.dbWrites)],
      ['reads from', p.reads],
      ['on DB failure', p.onDbFailure],
      ['last cycle', r.lastCycle.at ? `${r.lastCycle.at} (phase ${r.lastCycle.phase}, clock ${r.lastCycle.clock})` : 'never (in this data dir)'],
      ['database behind JSON', r.dbBehind ? `yes, since ${r.dbBehind.since}: ${r.dbBehind.reason}` : 'no'],
    ],
  )
  const d = r.database
  const mig = d.migrations
  printTable(
    ['database', d.configured ? `${d.database} (from ${d.source})` : 'not configured'],
    d.configured
      ? [
          ['url', d.url],
          ['reachable', d.reachable ? `yes, PostgreSQL ${d.serverVersion}` : `NO: ${d.error}`],
          ['migrations', mig ? `${mig.applied} applied, ${mig.pending} pending${mig.edited ? `, ${mig.edited} EDITED` : ''} (latest ${mig.latest})` : '-'],
        ]
      : [['hint', 'run `prescient setup`, or set DATABASE_URL / POSTGRES_* in .env']],
  )
  if (d.tables.length) {
    const runs = new Map(d.lastRuns.map((l) => [l.key, l]))
    printTable(
      ['table', 'group', 'rows'],
      d.tables.map((t) => [t.table, t.group, t.rows ?? t.error ?? 'missing']),
    )
    printTable(
      ['last run', 'value', 'updated'],
      [...runs.values()].map((l) => [l.key, orDash(l.value), orDash(l.updatedAt)]),
    )
  }
  printTable(
    ['file (under ' + r.dataDir + ')', 'group', 'size', 'modified'],
    r.files.map((f) => [f.path, f.group, f.exists ? fmtBytes(f.size ?? 0) : 'missing', orDash(f.mtime)]),
  )
  const disk = r.disk
  printTable(
    ['disk and logs', ''],
    [
      ['disk', disk.free === null ? `unknown (${disk.error})` : `${fmtBytes(disk.free)} free, ${disk.usedPercent}% used${disk.warning ? ' (WARNING)' : ''} (${disk.path})`],
      ['log folder', `${r.logs.dir}${r.logs.exists ? ` (${r.logs.files} files)` : ' (absent)'}`],
      ['newest log', r.logs.newest ? `${r.logs.newest.name}, ${fmtBytes(r.logs.newest.size)}, ${r.logs.newest.mtime}` : '-'],
      ['last error', r.logs.lastError ? `${r.logs.lastError.file}: ${r.logs.lastError.line}` : '-'],
    ],
  )
}

export default defineCommand({
  meta: {
    name: 'status',
    description:
      'Show the phase and where it came from, the database (reachable, schema, row counts, last runs), ' +
      'the JSON files, free disk space and the last logged error. Read-only; an unreachable database is shown, ' +
      'not fatal, except in phases 6-7 where it exits 5.',
  },
  args: {
    ...jsonArgs,
    ...dataDirArgs,
    ...phaseArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    const report = await gatherStatus(config)
    for (const w of report.warnings) logger.warn(w)
    if (args.json) printJson(report)
    else render(report)
    if (report.phase.dbRequired && report.database.reachable === false) {
      logger.error(`phase ${report.phase.number} needs the database, and it is unreachable`)
      return 5
    }
    return 0
  },
})
