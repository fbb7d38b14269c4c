import { defineCommand } from 'citty'
import { basename } from 'node:path'
import { debugArgs, dryRunArgs, envArgs, jsonArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { backupDir, dumpName, FORMATS, prune, type Format, type PruneResult } from '../src/backup/files.ts'
import { pgDumpFor, takeDump, type DumpResult } from '../src/backup/dump.ts'
import { DEFAULT_POLICY, type Policy } from '../src/backup/retention.ts'
import { closeQuietly, connectChecked, type Sql } from '../src/db/client.ts'
import { requireDb } from '../src/db/require.ts'
import { usageError } from '../src/errors.ts'
import { logger } from '../src/logger.ts'
import { fmtBytes, printJson, printTable } from '../src/output.ts'

let sql: Sql | undefined

function keep(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined || value === '') return fallback
  if (!/^\d+$/.test(value.trim())) throw usageError(`${flag} must be a whole number >= 0, got ${JSON.stringify(value)}`)
  return Number(value)
}

function renderPrune(p: PruneResult): void {
  const rows = [...p.deleted.map((d) => [d.item.name, p.dryRun ? 'would delete' : 'deleted', '']), ...p.kept.map((d) => [d.item.name, 'keep', d.reasons.join(', ')])]
  rows.sort((a, b) => (a[0]! < b[0]! ? 1 : -1))
  if (rows.length) printTable(['dump', 'action', 'kept by'], rows)
  logger.info(`retention: ${p.kept.length} kept, ${p.deleted.length} ${p.dryRun ? 'would be deleted' : 'deleted'} (with their manifests)`)
}

export default defineCommand({
  meta: {
    name: 'dump',
    description:
      'Back up the prescient tables into a time-stamped file with a manifest (sha256, rows and a content hash per table). ' +
      'json needs no PostgreSQL tools; sql and custom use pg_dump. With --prune, old dumps are deleted by a daily/weekly/monthly policy.',
  },
  args: {
    format: { type: 'string', valueHint: FORMATS.join('|'), default: 'json', description: 'json (gzip JSON Lines, no tools needed), sql (pg_dump plain) or custom (pg_dump -Fc)' },
    out: { type: 'string', valueHint: 'DIR', description: 'Folder for the dumps (default: PRESCIENT_BACKUP_DIR, else ./backups)' },
    prune: { type: 'boolean', description: 'After the dump, delete old dumps of this database by the retention policy' },
    'keep-daily': { type: 'string', valueHint: 'N', description: `Keep the newest dump of each of the last N days with dumps (default ${DEFAULT_POLICY.daily})` },
    'keep-weekly': { type: 'string', valueHint: 'N', description: `... of the last N ISO weeks (default ${DEFAULT_POLICY.weekly})` },
    'keep-monthly': { type: 'string', valueHint: 'N', description: `... of the last N months (default ${DEFAULT_POLICY.monthly})` },
    ...dryRunArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    const db = requireDb(config, 'dump')
    const format = String(args.format ?? 'json') as Format
    if (!FORMATS.includes(format)) throw usageError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(args.format)}`)
    const policy: Policy = {
      daily: keep(args['keep-daily'], '--keep-daily', DEFAULT_POLICY.daily),
      weekly: keep(args['keep-weekly'], '--keep-weekly', DEFAULT_POLICY.weekly),
      monthly: keep(args['keep-monthly'], '--keep-monthly', DEFAULT_POLICY.monthly),
    }
    const keepFlags = ['keep-daily', 'keep-weekly', 'keep-monthly'].filter((k) => args[k as 'keep-daily'] !== undefined)
    if (keepFlags.length && !args.prune) throw usageError(`--${keepFlags[0]} only applies with --prune`)
    const dir = backupDir(config.cwd, args.out, config.env)
    sql = await connectChecked(db, { max: 2 })

    let dump: DumpResult | undefined
    if (args['dry-run']) {
      if (format !== 'json') await pgDumpFor(sql)
      logger.info(`dry run: would write ${dumpName(db.database, format, new Date())} in ${dir}`)
    } else {
      dump = await takeDump(sql, { db, format, dir })
    }
    const pruned = args.prune ? await prune(dir, db.database, policy, !!args['dry-run']) : undefined

    if (args.json) {
      printJson({
        dryRun: !!args['dry-run'],
        dump: dump && { path: dump.file, manifest_path: dump.manifest, elapsed_ms: dump.elapsed_ms, manifest: dump.manifestData },
        prune: pruned && {
          policy,
          deleted: pruned.deleted.map((d) => d.item.name),
          kept: pruned.kept.map((d) => ({ file: d.item.name, reasons: d.reasons })),
        },
      })
      return 0
    }
    if (dump) {
      const m = dump.manifestData
      printTable(['table', 'rows', 'content hash'], Object.entries(m.tables).map(([t, s]) => [t, s.rows, s.hash]))
      const rows = Object.values(m.tables).reduce((a, s) => a + s.rows, 0)
      logger.success(`${basename(dump.file)}: ${fmtBytes(m.bytes)}, ${rows} rows in ${Object.keys(m.tables).length} tables, ${(dump.elapsed_ms / 1000).toFixed(1)} s (manifest beside it)`)
    }
    if (pruned) renderPrune(pruned)
    return 0
  },
  async cleanup() {
    await closeQuietly(sql)
  },
})
