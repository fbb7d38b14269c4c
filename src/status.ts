/**
 * `prescient status`: one read-only look at everything a user needs before
 * moving a phase: the phase and where it came from, the database (reachable,
 * schema, row counts, last runs), the JSON files, disk space and the logs.
 * Nothing here throws for an unreachable database: status shows it instead.
 */
import { readBehind, type BehindInfo } from './store/behind.ts'
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync, statfsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Config, DbConfig } from './config.ts'
import { connect, type Q, type Sql } from './db/client.ts'
import { migrationStatus, LATEST_VERSION } from './db/migrations.ts'
import { errorMessage } from './errors.ts'
import { mask } from './mask.ts'
import { GROUPS, GROUP_FILES, GROUP_TABLES, phaseRow, type Group } from './phase.ts'

/** The 11 tables of the schema: every group's tables plus system_metadata. */
export const ALL_TABLES: readonly string[] = [...GROUPS.flatMap((g) => GROUP_TABLES[g]), 'system_metadata']
/** The seed's step timestamps in system_metadata; other last_* keys are shown too. */
export const LAST_RUN_KEYS = ['last_event_export', 'last_market_filter', 'last_signal_generation', 'last_trade_execution'] as const
/** Above this share of the disk in use, status warns. */
export const DISK_WARN_PERCENT = 80

export interface DiskUsage {
  path: string
  total: number | null
  free: number | null
  usedPercent: number | null
  warning: boolean
  error?: string
}

/** Used share as df computes it: blocks reserved for root count as neither used nor free. */
export function usageFromStatfs(s: { bsize: number; blocks: number; bfree: number; bavail: number }) {
  const used = (s.blocks - s.bfree) * s.bsize
  const free = s.bavail * s.bsize
  const usedPercent = used + free > 0 ? Math.round((used / (used + free)) * 1000) / 10 : 0
  return { total: s.blocks * s.bsize, free, usedPercent, warning: usedPercent > DISK_WARN_PERCENT }
}

/** Free space of the filesystem holding `path` (or its nearest existing parent), as `df` counts it. */
export function diskUsage(path: string): DiskUsage {
  let p = path
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  try {
    return { path: p, ...usageFromStatfs(statfsSync(p)) }
  } catch (err) {
    return { path: p, total: null, free: null, usedPercent: null, warning: false, error: errorMessage(err) }
  }
}

export interface FileInfo {
  path: string
  group: Group
  exists: boolean
  size: number | null
  mtime: string | null
}

/** The JSON files of every group; the monthly signal archives are listed one by one. */
export function jsonFiles(dataDir: string): FileInfo[] {
  const out: FileInfo[] = []
  for (const group of GROUPS) {
    for (const rel of GROUP_FILES[group]) {
      if (rel.includes('YYYY-MM')) {
        const dir = dirname(rel)
        const [prefix, suffix] = rel.slice(dir.length + 1).split('YYYY-MM') as [string, string]
        let names: string[] = []
        try {
          names = readdirSync(join(dataDir, dir)).filter((n) => n.startsWith(prefix) && n.endsWith(suffix)).sort()
        } catch {
          // no folder yet
        }
        if (!names.length) out.push({ path: `${dir}/${prefix}*${suffix}`, group, exists: false, size: null, mtime: null })
        for (const n of names) out.push(fileInfo(dataDir, `${dir}/${n}`, group))
      } else out.push(fileInfo(dataDir, rel, group))
    }
  }
  return out
}

function fileInfo(dataDir: string, rel: string, group: Group): FileInfo {
  try {
    const s = statSync(join(dataDir, rel))
    return { path: rel, group, exists: true, size: s.size, mtime: s.mtime.toISOString() }
  } catch {
    return { path: rel, group, exists: false, size: null, mtime: null }
  }
}

export interface LogInfo {
  dir: string
  exists: boolean
  files: number
  newest: { name: string; size: number; mtime: string } | null
  lastError: { file: string; line: string } | null
}

const TAIL_BYTES = 2 * 1024 * 1024

function tail(path: string, size: number): string {
  const start = Math.max(0, size - TAIL_BYTES)
  const buf = Buffer.alloc(size - start)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, buf, 0, buf.length, start)
  } finally {
    closeSync(fd)
  }
  return buf.toString('utf8')
}

/** The log folder: its newest file and the last ERROR line, searching newest to oldest. */
export function logInfo(dir: string): LogInfo {
  let entries: { name: string; size: number; mtimeMs: number }[]
  try {
    entries = readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .map((name) => {
        const s = statSync(join(dir, name))
        return { name, size: s.size, mtimeMs: s.mtimeMs, file: s.isFile() }
      })
      .filter((e) => e.file)
      .sort((a, b) => b.mtimeMs - a.mtimeMs || b.name.localeCompare(a.name))
  } catch {
    return { dir, exists: existsSync(dir), files: 0, newest: null, lastError: null }
  }
  let lastError: LogInfo['lastError'] = null
  for (const e of entries) {
    let text: string
    try {
      text = tail(join(dir, e.name), e.size)
    } catch {
      continue
    }
    const lines = text.split(/\r?\n/)
    for (let i = lines.length - 1; i >= 0; i--) {
      if (/\b(ERROR|FATAL)\b|\[(error|fatal)\]/.test(lines[i]!)) {
        lastError = { file: e.name, line: mask(lines[i]!.trim()).slice(0, 400) }
        break
      }
    }
    if (lastError) break
  }
  const n = entries[0]
  return {
    dir,
    exists: true,
    files: entries.length,
    newest: n ? { name: n.name, size: n.size, mtime: new Date(n.mtimeMs).toISOString() } : null,
    lastError,
  }
}

export interface DbStatus {
  configured: boolean
  source: DbConfig['source'] | null
  url: string | null
  database: string | null
  host: string | null
  port: number | null
  reachable: boolean | null
  error: string | null
  serverVersion: string | null
  migrations: { applied: number; pending: number; edited: number; latest: number; current: boolean } | null
  tables: { table: string; group: Group | 'metadata'; rows: number | null; error?: string }[]
  lastRuns: { key: string; value: string | null; updatedAt: string | null }[]
}

const groupOf = (table: string): Group | 'metadata' => GROUPS.find((g) => GROUP_TABLES[g].includes(table)) ?? 'metadata'

async function exists(sql: Q, table: string): Promise<boolean> {
  const r = await sql<{ t: string | null }[]>`select to_regclass(${table})::text as t`
  return !!r[0]?.t
}

export async function dbStatus(db: DbConfig | undefined, opts: { connectTimeout?: number } = {}): Promise<DbStatus> {
  const base: DbStatus = {
    configured: !!db,
    source: db?.source ?? null,
    url: db?.display ?? null,
    database: db?.database ?? null,
    host: db?.host ?? null,
    port: db?.port ?? null,
    reachable: null,
    error: null,
    serverVersion: null,
    migrations: null,
    tables: [],
    lastRuns: [],
  }
  if (!db) return base
  let sql: Sql | undefined
  try {
    // The database name is passed decoded: postgres.js does not decode the URL's path.
    sql = connect(db, { max: 1, connectTimeout: opts.connectTimeout ?? 5, database: db.database })
    const v = await sql<{ v: string }[]>`select current_setting('server_version') as v`
    base.reachable = true
    base.serverVersion = v[0]?.v ?? null
  } catch (err) {
    base.reachable = false
    base.error = mask(errorMessage(err))
    await sql?.end({ timeout: 1 }).catch(() => {})
    return base
  }
  try {
    const m = await migrationStatus(sql)
    const count = (s: string) => m.filter((x) => x.state === s).length
    base.migrations = { applied: count('applied'), pending: count('pending'), edited: count('edited'), latest: LATEST_VERSION, current: count('applied') === m.length }
    for (const table of ALL_TABLES) {
      let rows: number | null = null
      let error: string | undefined
      if (await exists(sql, table)) {
        try {
          const r = await sql<{ n: string }[]>`select count(*) as n from ${sql(table)}`
          rows = Number(r[0]?.n ?? 0)
        } catch (err) {
          error = mask(errorMessage(err))
        }
      } else error = 'missing'
      base.tables.push({ table, group: groupOf(table), rows, ...(error ? { error } : {}) })
    }
    const found = new Map<string, { value: string | null; updatedAt: string | null }>()
    if (await exists(sql, 'system_metadata')) {
      const rows = await sql<{ key: string; value: string | null; updated_at: Date | null }[]>`
        select key, value, updated_at from system_metadata where key like 'last\\_%' order by key`
      for (const r of rows) // the seed seeds these keys empty: an empty value has never run, whatever updated_at says
        found.set(r.key, { value: r.value || null, updatedAt: r.value && r.updated_at ? new Date(r.updated_at).toISOString() : null })
    }
    const keys = [...new Set<string>([...LAST_RUN_KEYS, ...found.keys()])]
    base.lastRuns = keys.map((key) => ({ key, value: found.get(key)?.value ?? null, updatedAt: found.get(key)?.updatedAt ?? null }))
  } catch (err) {
    base.error = mask(errorMessage(err))
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {})
  }
  return base
}

export interface StatusReport {
  phase: {
    number: number
    name: string
    source: string
    seedFlags: Record<'USE_DATABASE_WRITE' | 'USE_DATABASE_READ' | 'DATABASE_FALLBACK_TO_JSON', string | null>
    jsonWrites: readonly Group[]
    dbWrites: readonly Group[]
    reads: string
    onDbFailure: string
    dbRequired: boolean
  }
  database: DbStatus
  dataDir: string
  files: FileInfo[]
  disk: DiskUsage
  logs: LogInfo
  /** the last cycle as the data dir recorded it (works without a database) */
  lastCycle: { at: string | null; phase: string | null; clock: string | null }
  /** set while the database is behind the JSON files (a failed or interrupted DB write) */
  dbBehind: BehindInfo | null
  warnings: string[]
}

function readJsonMetadata(dataDir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(dataDir, '.prescient', 'metadata.json'), 'utf8')) as Record<string, string>
  } catch {
    return {}
  }
}

export async function gatherStatus(config: Config): Promise<StatusReport> {
  const row = phaseRow(config.phase)
  const flag = (k: string) => config.env[k] ?? null
  const database = await dbStatus(config.db)
  const disk = diskUsage(config.dataDir)
  const warnings: string[] = []
  if (disk.warning) warnings.push(`the disk holding ${disk.path} is ${disk.usedPercent}% full (warning above ${DISK_WARN_PERCENT}%)`)
  if (database.reachable === false) warnings.push(`database ${database.database} is unreachable: ${database.error}`)
  if (database.migrations && !database.migrations.current) warnings.push('the database schema is not current: run `prescient migrate`')
  const meta = readJsonMetadata(config.dataDir)
  const lastCycle = { at: meta.last_cycle_at ?? null, phase: meta.last_cycle_phase ?? null, clock: meta.last_cycle_clock ?? null }
  const dbBehind = readBehind(config.dataDir)
  if (dbBehind) warnings.push(`the database is behind the JSON files since ${dbBehind.since} (${dbBehind.reason}); the next cycle or \`prescient sync\` catches it up`)
  return {
    phase: {
      number: row.phase,
      name: row.name,
      source: config.phaseSource,
      seedFlags: {
        USE_DATABASE_WRITE: flag('USE_DATABASE_WRITE'),
        USE_DATABASE_READ: flag('USE_DATABASE_READ'),
        DATABASE_FALLBACK_TO_JSON: flag('DATABASE_FALLBACK_TO_JSON'),
      },
      jsonWrites: row.jsonWrites,
      dbWrites: row.dbWrites,
      reads: row.reads,
      onDbFailure: row.onDbFailure,
      dbRequired: row.onDbFailure === 'abort',
    },
    database,
    dataDir: config.dataDir,
    files: jsonFiles(config.dataDir),
    disk,
    logs: logInfo(config.logDir),
    lastCycle,
    dbBehind,
    warnings,
  }
}
