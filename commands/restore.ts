import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, yesArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { resolveDumpArg } from '../src/backup/files.ts'
import { connectControl, planRestore, runRestore, type RestoreReport } from '../src/backup/restore.ts'
import { closeQuietly, type Sql } from '../src/db/client.ts'
import { requireDb } from '../src/db/require.ts'
import { Exit, PrescientError, usageError } from '../src/errors.ts'
import { logger } from '../src/logger.ts'
import { printJson, printTable } from '../src/output.ts'
import { acquireLock, type Lock } from '../src/lock.ts'
import { askConfirm } from '../src/prompts.ts'
import { connectAdmin } from '../src/setup.ts'

const pools: Sql[] = []
let lock: Lock | undefined

function render(r: RestoreReport): void {
  printTable(
    ['table', 'manifest rows', 'restored rows', 'hash'],
    r.tables.map((t) => [t.table, t.manifest_rows, t.restored_rows ?? '-', t.hash_ok ? '✓' : '✗']),
  )
}

export default defineCommand({
  meta: {
    name: 'restore',
    description:
      'Restore a dump written by `prescient dump`, after checking it against its manifest. The prescient tables of the target are replaced ' +
      'in one transaction; rows and content hashes are then compared with the manifest. --verify restores into a scratch database, ' +
      'compares, and drops it: the monthly "tested backup".',
  },
  args: {
    file: { type: 'positional', required: true, valueHint: 'FILE', description: 'The dump (its FILE.manifest.json must be beside it), or `latest`: the newest dump of this database in PRESCIENT_BACKUP_DIR or ./backups' },
    database: { type: 'string', valueHint: 'NAME', description: 'Restore into this database on the same server (created when missing) instead of the configured one' },
    force: { type: 'boolean', description: 'Replace the prescient tables even when the target already holds trading data' },
    verify: { type: 'boolean', description: 'Restore into a scratch database, compare with the manifest, drop it; exit 0 when all match, 1 otherwise' },
    'admin-url': { type: 'string', valueHint: 'URL', description: 'A role that may create databases, when the configured one may not (default: PRESCIENT_ADMIN_URL)' },
    ...dataDirArgs,
    ...yesArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    const db = requireDb(config, 'restore')
    if (args.verify && args.database) throw usageError('--verify restores into its own scratch database; leave out --database')
    const file = resolveDumpArg(config.cwd, String(args.file), config.env, db.database)
    const control = await connectControl(db)
    pools.push(control)
    const plan = await planRestore(control, db, { file, database: args.database, verify: args.verify, force: args.force })
    const m = plan.manifest
    logger.info(`${file}: ${m.format} dump of ${m.database}, ${m.created_at}, schema ${m.schema_version}; checksum ok`)
    if (!plan.verify && !args.yes) {
      const rows = Object.values(plan.existing).reduce((a, n) => a + n, 0)
      const ok = await askConfirm({
        message: `Replace the prescient tables of ${plan.target}${rows ? ` (holding ${rows} rows of trading data)` : ''} with this dump?`,
        initialValue: false,
        what: `restore replaces the prescient tables of ${plan.target}`,
      })
      if (!ok) throw new PrescientError('cancelled', Exit.usage)
    }
    // a scheduled cycle must not write while its own database is replaced: it exits 4 meanwhile
    if (!plan.verify && plan.target === db.database) lock = acquireLock(config.dataDir, 'restore')
    const adminUrl = args['admin-url'] ?? config.env.PRESCIENT_ADMIN_URL
    let admin: { sql: Sql; user: string } | undefined
    if (adminUrl && !plan.targetExists) {
      const a = await connectAdmin(adminUrl)
      pools.push(a.sql)
      admin = { sql: a.sql, user: a.db.user }
    }
    const report = await runRestore(control, db, plan, { admin: admin?.sql, adminUser: admin?.user })
    if (args.json) printJson(report)
    else render(report)
    if (report.ok) {
      if (report.verify) logger.success(`verified: every table of ${file} restores to the rows and content in its manifest (scratch database ${report.database} dropped)`)
      else logger.success(`restored ${file} into ${report.database}${report.migrated.length ? `; then applied ${report.migrated.join(', ')}` : ''}`)
      return 0
    }
    const bad = report.tables.filter((t) => !t.hash_ok).map((t) => t.table)
    if (report.verify) logger.error(`verify FAILED: ${bad.join(', ')} differ from the manifest`)
    else if (report.rolled_back) logger.error(`the restored data differs from the manifest (${bad.join(', ')}); rolled back, ${report.database} is unchanged`)
    else logger.error(`the restored data in ${report.database} differs from the manifest: ${bad.join(', ')}`)
    return Exit.runtime
  },
  async cleanup() {
    for (const p of pools.splice(0)) await closeQuietly(p)
    lock?.release()
    lock = undefined
  },
})
