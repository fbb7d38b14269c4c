/**
 * `prescient restore`: check, then load, then prove.
 *
 * 1. The dump must match its manifest (size, sha256) before anything is touched.
 * 2. The target is the configured database, --database NAME (created when
 *    missing), or with --verify a scratch database `<db>_verify_<hex>` that is
 *    always dropped afterwards.
 * 3. A target holding trading data is refused without --force.
 * 4. The 12 prescient tables are replaced in ONE transaction: json drops and
 *    recreates them at the dump's schema version and streams the rows back;
 *    sql runs the dump's own DROP ... IF EXISTS / CREATE / COPY under
 *    `psql --single-transaction`; custom uses `pg_restore --single-transaction
 *    --clean --if-exists --no-owner`. A failure changes nothing.
 * 5. Rows and content hashes are compared with the manifest (for json before
 *    COMMIT: a mismatch rolls back), then later migrations are applied.
 */
import { randomBytes } from 'node:crypto'
import type { DbConfig } from '../config.ts'
import { connect, connectChecked, type Q, type Sql } from '../db/client.ts'
import { LATEST_VERSION, MIGRATIONS, migrate } from '../db/migrations.ts'
import { Exit, PrescientError, errorMessage } from '../errors.ts'
import { logger } from '../logger.ts'
import { quoteIdent } from '../setup.ts'
import { BACKUP_TABLES, compareStats, dataRows, setDumpSettings, tableInfo, tableStats, type Comparison } from './catalog.ts'
import { loadJsonDump, resetSequences } from './jsondump.ts'
import { checkDump, type Manifest } from './manifest.ts'
import { dbnameConninfo, findTool, parseToolVersion, pgEnv, runTool, type FoundTool } from './pgtools.ts'

export interface RestorePlan {
  file: string
  manifest: Manifest
  tool?: FoundTool
  target: string
  targetExists: boolean
  verify: boolean
  /** rows per data table in an existing target (what --force overwrites) */
  existing: Record<string, number>
}

export interface RestoreReport {
  file: string
  format: Manifest['format']
  database: string
  created: boolean
  verify: boolean
  ok: boolean
  rolled_back: boolean
  dropped: boolean
  tables: Comparison[]
  migrated: string[]
  elapsed_ms: number
}

/** `<db>_verify_<6 hex>`, within PostgreSQL's 63 bytes. */
export function scratchName(database: string): string {
  const suffix = `_verify_${randomBytes(3).toString('hex')}`
  let base = database
  while (Buffer.byteLength(base + suffix) > 63) base = base.slice(0, -1)
  return base + suffix
}

/** Everything that can be refused is refused here, before any change. */
export async function planRestore(control: Sql, db: DbConfig, opts: { file: string; database?: string; verify?: boolean; force?: boolean }): Promise<RestorePlan> {
  const manifest = await checkDump(opts.file)
  if (manifest.schema_version > LATEST_VERSION) {
    throw new PrescientError(`the dump has schema version ${manifest.schema_version}; this prescient knows up to ${LATEST_VERSION}`, Exit.usage, 'restore it with the prescient version that wrote it, or a newer one')
  }
  if (manifest.format === 'json' && !MIGRATIONS.some((m) => m.version === manifest.schema_version)) {
    throw new PrescientError(`the dump's schema version ${manifest.schema_version} is not one of this binary's migrations`, Exit.usage)
  }
  let tool: FoundTool | undefined
  if (manifest.format !== 'json') {
    const made = manifest.dump_tool ? parseToolVersion(manifest.dump_tool)?.major : undefined
    const why = made ? ` to read a dump made by pg_dump ${made}` : ''
    tool = await findTool(manifest.format === 'sql' ? 'psql' : 'pg_restore', made, why)
  }
  const target = opts.verify ? scratchName(db.database) : (opts.database ?? db.database)
  const [row] = await control<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${target}`
  const targetExists = row!.n > 0
  let existing: Record<string, number> = {}
  if (targetExists && !opts.verify) {
    const t = connect(db, { max: 1, database: target })
    try {
      existing = await dataRows(t)
    } finally {
      await t.end({ timeout: 2 }).catch(() => {})
    }
    if (Object.keys(existing).length && !opts.force) {
      const list = Object.entries(existing).map(([k, n]) => `${k} (${n >= 1_000_000 ? '1000000+' : n})`).join(', ')
      throw new PrescientError(
        `database ${target} already holds data: ${list}`,
        Exit.usage,
        `pass --force to replace the prescient tables of ${target} with the dump (one transaction), restore into another database with --database NAME, or test the dump with --verify`,
      )
    }
  }
  return { file: opts.file, manifest, tool, target, targetExists, verify: !!opts.verify, existing }
}

async function createDatabase(creator: Sql, name: string, owner?: string): Promise<void> {
  const ownerSql = owner ? ` owner ${quoteIdent(owner)}` : ''
  try {
    await creator.unsafe(`create database ${quoteIdent(name)}${ownerSql} template template0 encoding 'UTF8'`)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === '42501') {
      throw new PrescientError(
        `cannot create database ${name}: ${errorMessage(err)}`,
        Exit.usage,
        'pass --admin-url postgres://postgres:PASSWORD@HOST:5432/postgres (or set PRESCIENT_ADMIN_URL), or grant the role CREATEDB, or create the database first',
        { cause: err },
      )
    }
    // a server whose default locale is not UTF-8 compatible (Windows, WIN1252) needs a locale that is
    if (code !== '22023' && code !== '0A000') throw err
    await creator.unsafe(`create database ${quoteIdent(name)}${ownerSql} template template0 encoding 'UTF8' locale 'C'`)
  }
}

class Mismatch extends Error {
  constructor(readonly tables: Comparison[]) {
    super('the restored data does not match the manifest')
  }
}

/** Drop the 12 tables (if there) and create them as the dump's schema version had them. */
async function recreateSchema(tx: Q, version: number): Promise<void> {
  for (const t of [...BACKUP_TABLES].reverse()) await tx`drop table if exists ${tx(t)} cascade`
  await tx`create table prescient_migrations (version integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`
  for (const m of MIGRATIONS) if (m.version <= version) await tx.unsafe(m.sql)
  await tx`truncate ${tx([...BACKUP_TABLES])}`
}

async function loadJson(target: Sql, plan: RestorePlan): Promise<Comparison[]> {
  return target.begin(async (tx) => {
    await setDumpSettings(tx) // the values' text is parsed as it was written, whatever the server's defaults
    await tx`set local lock_timeout = '60s'`
    await recreateSchema(tx, plan.manifest.schema_version)
    const tables = await tableInfo(tx)
    await loadJsonDump(tx, plan.file, tables, { schemaVersion: plan.manifest.schema_version, onStall: () => target.end({ timeout: 0 }) })
    await resetSequences(tx, tables)
    const tablesCmp = compareStats(plan.manifest.tables, await tableStats(tx, tables, plan.manifest.hash_method))
    if (!plan.verify && !tablesCmp.every((c) => c.hash_ok)) throw new Mismatch(tablesCmp)
    return tablesCmp
  })
}

async function loadWithTool(db: DbConfig, target: Sql, plan: RestorePlan): Promise<Comparison[]> {
  const env = pgEnv(db, plan.target)
  // a cycle or a psql session holding a lock must not leave the restore waiting forever
  env.PGOPTIONS = [env.PGOPTIONS, '-c lock_timeout=60s'].filter(Boolean).join(' ')
  if (plan.manifest.format === 'sql') {
    await runTool(plan.tool!, ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', plan.file], env)
  } else {
    await runTool(plan.tool!, ['--single-transaction', '--no-owner', '--no-privileges', '--clean', '--if-exists', '--no-password', '--dbname', dbnameConninfo(plan.target), plan.file], env)
  }
  const tables = await tableInfo(target)
  return compareStats(plan.manifest.tables, await tableStats(target, tables, plan.manifest.hash_method))
}

export interface RunOptions {
  /** creates missing databases when given (CREATE DATABASE ... OWNER <configured user>) */
  admin?: Sql
  adminUser?: string
}

export async function runRestore(control: Sql, db: DbConfig, plan: RestorePlan, opts: RunOptions = {}): Promise<RestoreReport> {
  const t0 = performance.now()
  const creator = opts.admin ?? control
  let created = false
  if (!plan.targetExists) {
    await createDatabase(creator, plan.target, opts.admin && opts.adminUser !== db.user ? db.user : undefined)
    created = true
    logger.info(`created database ${plan.target}`)
  }
  const target = connect(db, { max: 1, database: plan.target })
  let tables: Comparison[] = []
  let rolledBack = false
  let migrated: string[] = []
  let ok = false
  let dropped = false
  try {
    try {
      tables = plan.manifest.format === 'json' ? await loadJson(target, plan) : await loadWithTool(db, target, plan)
    } catch (err) {
      if (!(err instanceof Mismatch)) throw err
      tables = err.tables
      rolledBack = true
    }
    ok = tables.every((c) => c.hash_ok)
    if (ok && !plan.verify) migrated = await migrate(target)
  } finally {
    await target.end({ timeout: 2 }).catch(() => {})
    if (plan.verify || (created && !ok)) {
      await creator.unsafe(`drop database if exists ${quoteIdent(plan.target)} with (force)`).then(
        () => (dropped = true),
        (err) => logger.warn(`could not drop ${plan.target}: ${errorMessage(err)}; drop it by hand`),
      )
    }
  }
  return {
    file: plan.file,
    format: plan.manifest.format,
    database: plan.target,
    created,
    verify: plan.verify,
    ok,
    rolled_back: rolledBack,
    dropped,
    tables,
    migrated,
    elapsed_ms: Math.round(performance.now() - t0),
  }
}

/**
 * A connection for creating and dropping databases: the configured database,
 * or, when that one is gone (the emergency this command exists for), the
 * server's `postgres` maintenance database with the same credentials.
 */
export async function connectControl(db: DbConfig): Promise<Sql> {
  try {
    return await connectChecked(db, { max: 1 })
  } catch (err) {
    const code = ((err as PrescientError).cause as { code?: string } | undefined)?.code
    if (code !== '3D000') throw err
    logger.info(`database ${db.database} does not exist; working from the postgres database`)
    return connectChecked(db, { max: 1, database: 'postgres' })
  }
}
