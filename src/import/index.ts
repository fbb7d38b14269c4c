/**
 * `importData`: backfill the JSON files of a data dir into PostgreSQL, one
 * table per transaction, in FK-safe order, on ONE dedicated connection (so a
 * stuck COPY can be torn down without touching anyone else's pool). Reused by
 * the import command, bench and verify; --dry-run needs no database at all.
 */
import { parseDatabaseUrl, type DbConfig } from '../config.ts'
import { closeQuietly, connect, connectChecked, isUnreachable, type Sql } from '../db/client.ts'
import { setMetadata } from '../db/queries/metadata.ts'
import { assertSchemaCurrent } from '../db/migrations.ts'
import { Exit, PrescientError, errorMessage, usageError } from '../errors.ts'
import { acquireLock, type Lock } from '../lock.ts'
import { loadTable, type MergeCounts } from './load.ts'
import { RejectLog, rejectsPath } from './rejects.ts'
import { scan, type TableCounts } from './scan.ts'
import { fileSize, JsonFileError } from './stream.ts'
import { IMPORT_TABLES, SPECS, type ImportTable } from './tables.ts'

export { IMPORT_TABLES, type ImportTable } from './tables.ts'
export { streamJsonArray, streamJsonArrayAt, readJsonObjectWithout } from './stream.ts'

export interface ImportProgress {
  table: ImportTable
  file: string
  rows: number
  bytes: number
  totalBytes: number
  seconds: number
}

export interface ImportOptions {
  /** required unless dryRun */
  url?: string | DbConfig
  dataDir: string
  /** default: all, in FK-safe order */
  tables?: string[]
  dryRun?: boolean
  onProgress?: (p: ImportProgress) => void
  /** take the data-dir lock (default true; pass false when the caller already holds it) */
  lock?: boolean
  /** a COPY whose server makes no progress for this long is torn down (default 60 s) */
  stallMs?: number
  /** TEST ONLY: send records to PostgreSQL unvalidated, to prove the failed-COPY path */
  skipValidation?: boolean
}

export interface TableReport {
  table: ImportTable
  /** files read, relative to the data dir */
  files: string[]
  missing: string[]
  read: number
  /** rows now equal to the file: inserted + updated + unchanged (dry run: rows that would load) */
  loaded: number
  inserted: number | null
  updated: number | null
  unchanged: number | null
  /** mirror tables: rows the file no longer has */
  deleted: number | null
  rejected: number
  bytes: number
  seconds: number
  mode: 'direct' | 'merge' | 'dry-run' | 'skipped' | 'failed'
  note?: string
  error?: string
}

export interface ImportReport {
  dataDir: string
  database: string | null
  dryRun: boolean
  tables: TableReport[]
  read: number
  loaded: number
  rejected: number
  rejectsFile: string | null
  seconds: number
  /** false when a file could not be read at all (its table was left unchanged) */
  ok: boolean
}

/** The tables to import, in FK-safe order; unknown names are a usage error listing the valid ones. */
export function resolveTables(names?: readonly string[]): ImportTable[] {
  if (!names?.length) return [...IMPORT_TABLES]
  const bad = names.filter((n) => !(IMPORT_TABLES as readonly string[]).includes(n))
  if (bad.length) throw usageError(`unknown table ${bad.map((b) => JSON.stringify(b)).join(', ')}; valid tables: ${IMPORT_TABLES.join(', ')}`)
  return IMPORT_TABLES.filter((t) => names.includes(t))
}

const secondsSince = (t0: number) => Math.round((performance.now() - t0) / 10) / 100

/** A DB failure stops the import: say which table, that it was rolled back, and what was already done. */
function tableError(table: string, err: unknown, done: string[], db?: DbConfig): PrescientError {
  if (err instanceof PrescientError && err.exitCode === Exit.locked) return err
  const e = err as { where?: string; code?: string }
  const detail = `${errorMessage(err)}${e?.where ? ` (${e.where})` : ''}`
  const already = done.length ? `; already imported: ${done.join(', ')}` : ''
  const unreachable = !(err instanceof PrescientError) && isUnreachable(err)
  const code = err instanceof PrescientError ? err.exitCode : unreachable ? Exit.dbUnreachable : Exit.runtime
  const hint = err instanceof PrescientError ? err.hint : unreachable ? `check that PostgreSQL is running (${db?.display ?? 'the database'})` : 'fix the cause and run the import again; it is idempotent'
  return new PrescientError(`import of ${table} failed and was rolled back: ${detail}${already}`, code, hint, { cause: err })
}

export async function importData(opts: ImportOptions): Promise<ImportReport> {
  const tables = resolveTables(opts.tables)
  const t0 = performance.now()
  const rejects = new RejectLog(rejectsPath(opts.dataDir))
  const db = opts.dryRun || !opts.url ? undefined : typeof opts.url === 'string' ? parseDatabaseUrl(opts.url, 'DATABASE_URL') : opts.url
  if (!opts.dryRun && !db) throw usageError('import needs a database', 'configure DATABASE_URL, or pass --dry-run to only validate the files')
  let lock: Lock | undefined
  let sql: Sql | undefined
  const reports: TableReport[] = []
  try {
    if (!opts.dryRun && opts.lock !== false) lock = acquireLock(opts.dataDir, 'import')
    if (db) {
      sql = await connectChecked(db, { max: 1 })
      await assertSchemaCurrent(sql)
    }
    for (const table of tables) {
      try {
        reports.push(await importTable(table, opts, rejects, sql, db))
      } catch (err) {
        const e = tableError(table, err, reports.filter((r) => r.mode === 'direct' || r.mode === 'merge').map((r) => r.table), db)
        if (!rejects.file) throw e
        throw new PrescientError(e.message, e.exitCode, `${e.hint ?? ''}${e.hint ? '; ' : ''}${rejects.count} record(s) were rejected so far: ${rejects.file}`, { cause: err })
      }
    }
    if (sql) await setMetadata(sql, { last_import_at: new Date().toISOString(), last_import_tables: tables.join(',') })
  } finally {
    await rejects.close()
    await closeQuietly(sql)
    lock?.release()
  }
  const sum = (f: (r: TableReport) => number) => reports.reduce((n, r) => n + f(r), 0)
  return {
    dataDir: opts.dataDir,
    database: db?.database ?? null,
    dryRun: !!opts.dryRun,
    tables: reports,
    read: sum((r) => r.read),
    loaded: sum((r) => r.loaded),
    rejected: rejects.count,
    rejectsFile: rejects.file,
    seconds: secondsSince(t0),
    ok: reports.every((r) => r.mode !== 'failed'),
  }
}

async function importTable(table: ImportTable, opts: ImportOptions, rejects: RejectLog, sql: Sql | undefined, db?: DbConfig): Promise<TableReport> {
  const t0 = performance.now()
  const spec = SPECS[table]
  const sources = await spec.sources(opts.dataDir)
  const sizes = await Promise.all(sources.map((s) => fileSize(s.path)))
  const counts: TableCounts = { table, read: 0, valid: 0, rejected: 0 }
  const report: TableReport = {
    table, files: sources.filter((_, i) => sizes[i] !== null).map((s) => s.rel), missing: sources.filter((_, i) => sizes[i] === null).map((s) => s.rel),
    read: 0, loaded: 0, inserted: null, updated: null, unchanged: null, deleted: null, rejected: 0, bytes: 0, seconds: 0, mode: 'skipped',
  }
  if (!report.files.length) {
    report.note = sources.length ? `${report.missing.join(', ')} not found` : 'no files'
    return report
  }
  const totalBytes = sizes.reduce<number>((n, s) => n + (s ?? 0), 0)
  let bytes = 0
  const onBytes = (n: number, file: string) => {
    bytes += n
    opts.onProgress?.({ table, file, rows: counts.read, bytes, totalBytes, seconds: secondsSince(t0) })
  }
  const finish = (m?: MergeCounts) => {
    Object.assign(report, { read: counts.read, rejected: counts.rejected, bytes: totalBytes, seconds: secondsSince(t0) })
    if (m) {
      Object.assign(report, { inserted: m.inserted, updated: m.updated, unchanged: m.unchanged, deleted: m.deleted, mode: m.mode })
      report.loaded = m.inserted + m.updated + m.unchanged
      if (m.superseded) report.note = `${m.superseded} signal(s) also in a later file (the later one wins)`
    }
    return report
  }
  const ctx = { rejects, onBytes, skipValidation: opts.skipValidation }
  try {
    if (!sql) {
      await scan(ctx, spec, sources, counts, null, false)
      report.mode = 'dry-run'
      report.loaded = counts.valid
      return finish()
    }
    let original: unknown
    let pid: number | undefined
    // A stalled COPY: drop our socket AND have the server end that backend, which may be stuck in a lock or trigger.
    const onStall = async () => {
      await sql.end({ timeout: 0 })
      if (pid === undefined || !db) return
      const admin = connect(db, { max: 1 })
      await admin`select pg_terminate_backend(${pid})`.catch(() => {})
      await closeQuietly(admin)
    }
    const m = await sql.begin(async (tx) => {
      pid = ((await tx`select pg_backend_pid() as pid`)[0] as { pid: number }).pid
      return loadTable(tx, spec, sources, { ...ctx, stallMs: opts.stallMs ?? 60_000, onStall }, counts).catch((e) => {
        original = e
        throw e
      })
    }).catch((e) => {
      throw original ?? e
    })
    return finish(m)
  } catch (err) {
    if (!(err instanceof JsonFileError)) throw err
    finish()
    report.mode = 'failed'
    report.error = err.message
    return report
  }
}
