import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, dryRunArgs, envArgs, jsonArgs, yesArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { requireDb } from '../src/db/require.ts'
import { usageError } from '../src/errors.ts'
import { importData, resolveTables, type ImportProgress, type ImportReport } from '../src/import/index.ts'
import { logger } from '../src/logger.ts'
import { fmtBytes, printJson, printTable } from '../src/output.ts'
import { jsonIsTruth, phaseRow } from '../src/phase.ts'
import { askConfirm, isInteractive } from '../src/prompts.ts'

/** A single stderr line, redrawn at most 5 times a second, only on a terminal. */
function progressLine(): { update(p: ImportProgress): void; clear(): void } {
  if (!process.stderr.isTTY) return { update() {}, clear() {} }
  let last = 0
  let shown = false
  return {
    update(p) {
      const now = Date.now()
      if (now - last < 200) return
      last = now
      shown = true
      const rate = p.seconds > 0 ? p.bytes / p.seconds : 0
      const pct = p.totalBytes ? ` ${Math.floor((p.bytes / p.totalBytes) * 100)}%` : ''
      process.stderr.write(`\r\x1b[K${p.table}: ${p.rows.toLocaleString('en-US')} rows, ${fmtBytes(p.bytes)}${pct}, ${fmtBytes(rate)}/s (${p.file})`)
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K')
    },
  }
}

const n = (x: number | null) => (x === null ? '' : x.toLocaleString('en-US'))

function printReport(r: ImportReport): void {
  printTable(
    ['table', 'file(s)', 'read', r.dryRun ? 'valid' : 'loaded', 'inserted', 'updated', 'unchanged', 'deleted', 'rejected', 'seconds'],
    r.tables.map((t) => [
      t.table,
      t.mode === 'skipped' ? `(${t.note})` : t.files.length > 3 ? `${t.files[0]} ... (${t.files.length} files)` : t.files.join('\n'),
      n(t.read),
      t.mode === 'failed' ? 'FAILED' : n(t.loaded),
      n(t.inserted),
      n(t.updated),
      n(t.unchanged),
      n(t.deleted),
      n(t.rejected),
      t.seconds.toFixed(2),
    ]),
    { title: r.dryRun ? 'dry run: validated, nothing written to the database' : `imported into ${r.database}` },
  )
}

export default defineCommand({
  meta: {
    name: 'import',
    description:
      'Backfill the JSON files of the data dir into PostgreSQL: each table in one transaction (COPY into a staging table, ' +
      'then a merge by natural key, so re-running changes nothing). Files are read streaming; bad records go to a rejects file.',
  },
  args: {
    table: { type: 'string', valueHint: 'NAME', description: 'Import one table: trades, portfolio_state, portfolio_positions, portfolio_history, signal_archives, trading_signals, events, markets' },
    all: { type: 'boolean', description: 'Import every table, in FK-safe order (the default)' },
    ...dataDirArgs,
    ...dryRunArgs,
    ...jsonArgs,
    ...yesArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    if (args.table !== undefined && args.all) throw usageError('pass either --table NAME or --all, not both')
    if (args.table === '') throw usageError('--table needs a table name', `valid tables: ${resolveTables().join(', ')}`)
    const tables = resolveTables(args.table ? [args.table] : undefined)
    const config = configFrom(args)
    const dryRun = !!args['dry-run']
    const db = dryRun ? undefined : requireDb(config, 'import')
    const row = phaseRow(config.phase)
    if (!dryRun && !jsonIsTruth(row) && !args.yes) {
      // From phase 6 on the database is the truth: JSON files are stale by design.
      const what = `phase ${row.phase} no longer writes JSON: importing would overwrite newer database rows with the JSON files`
      if (!isInteractive()) throw usageError(what, 'pass --yes if that is really what you want (e.g. right after `sync --from-db`)')
      if (!(await askConfirm({ message: `${what}. Continue?`, initialValue: false }))) throw usageError('import cancelled')
    }
    const progress = progressLine()
    let report: ImportReport
    try {
      report = await importData({ url: db, dataDir: config.dataDir, tables, dryRun, onProgress: (p) => progress.update(p) })
    } finally {
      progress.clear()
    }
    if (args.json) printJson(report)
    else printReport(report)
    for (const t of report.tables) {
      if (t.error) logger.error(`${t.table}: ${t.error}; the table was left unchanged`)
      else if (t.note && t.mode !== 'skipped') logger.info(`${t.table}: ${t.note}`)
    }
    if (report.rejected) {
      logger.warn(`${report.rejected.toLocaleString('en-US')} record(s) REJECTED and not loaded; each is listed with its file, index, JSON path and reason in ${report.rejectsFile}`)
    }
    if (!report.ok) return 2
    if (!args.json) logger.success(`${dryRun ? 'validated' : 'imported'} ${report.loaded.toLocaleString('en-US')} rows from ${fmtBytes(report.tables.reduce((s, t) => s + t.bytes, 0))} of JSON in ${report.seconds.toFixed(1)} s`)
    return 0
  },
})
