/**
 * Dump file names and the folder they live in. Names sort by time:
 *   prescient_<database>_<YYYYMMDDTHHMMSSZ>.<sql|dump|jsonl.gz>
 * and each dump has `<name>.manifest.json` beside it. Pruning only ever
 * touches files whose names match this pattern exactly.
 */
import { existsSync, readdirSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { resolvePath } from '../config.ts'
import { usageError } from '../errors.ts'
import { applyRetention, type Decision, type Policy } from './retention.ts'

export const FORMATS = ['sql', 'custom', 'json'] as const
export type Format = (typeof FORMATS)[number]

export const EXTENSION: Record<Format, string> = { sql: 'sql', custom: 'dump', json: 'jsonl.gz' }
const FORMAT_OF: Record<string, Format> = { sql: 'sql', dump: 'custom', 'jsonl.gz': 'json' }

export const MANIFEST_SUFFIX = '.manifest.json'
export const manifestPath = (file: string) => `${file}${MANIFEST_SUFFIX}`

/** A database name as it appears in a file name: anything but letters, digits, `_`, `.` and `-` becomes `-`. */
export const fileSafe = (database: string) => database.replace(/[^A-Za-z0-9_.-]/g, '-')

const pad = (n: number) => String(n).padStart(2, '0')
export const stamp = (d: Date) =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`

export function dumpName(database: string, format: Format, time: Date): string {
  return `prescient_${fileSafe(database)}_${stamp(time)}.${EXTENSION[format]}`
}

const NAME = /^prescient_(.+)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.(sql|dump|jsonl\.gz)$/

export interface DumpFile {
  name: string
  database: string
  format: Format
  time: Date
}

export function parseDumpName(name: string): DumpFile | null {
  const m = NAME.exec(name)
  if (!m) return null
  const [y, mo, d, h, mi, s] = m.slice(2, 8).map(Number) as [number, number, number, number, number, number]
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s))
  // 20261399T... is not a time: such a name is not ours
  if (time.getUTCMonth() !== mo - 1 || time.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null
  return { name, database: m[1]!, format: FORMAT_OF[m[8]!]!, time }
}

/** Where dumps go: --out, else PRESCIENT_BACKUP_DIR, else ./backups. */
export function backupDir(cwd: string, out: string | undefined, env: Record<string, string | undefined>): string {
  return resolvePath(cwd, out || env.PRESCIENT_BACKUP_DIR || 'backups')
}

/** The dumps of one database in a folder (any format), oldest first. */
export function listDumps(dir: string, database: string): DumpFile[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const db = fileSafe(database)
  return names
    .map(parseDumpName)
    .filter((f): f is DumpFile => !!f && f.database === db)
    .sort((a, b) => a.time.getTime() - b.time.getTime() || a.name.localeCompare(b.name))
}

export interface PruneResult {
  dryRun: boolean
  kept: Decision<DumpFile>[]
  deleted: Decision<DumpFile>[]
}

/**
 * Apply the policy to the dumps of `database` in `dir`, each format as its own
 * series (a daily json dump and a weekly custom dump do not evict each other).
 * A deleted dump takes its manifest with it.
 */
export async function prune(dir: string, database: string, policy: Policy, dryRun: boolean): Promise<PruneResult> {
  const all = listDumps(dir, database)
  const decisions = FORMATS.flatMap((f) => applyRetention(all.filter((d) => d.format === f), policy))
  decisions.sort((a, b) => b.item.time.getTime() - a.item.time.getTime() || a.item.name.localeCompare(b.item.name))
  const deleted = decisions.filter((d) => !d.keep)
  if (!dryRun) {
    for (const d of deleted) {
      const file = join(dir, d.item.name)
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })
      await unlink(manifestPath(file)).catch(() => {})
    }
  }
  return { dryRun, kept: decisions.filter((d) => d.keep), deleted }
}

/** FILE as given, or with `latest`, the newest dump of `database` (any format) in the backup folder. */
export function resolveDumpArg(cwd: string, arg: string, env: Record<string, string | undefined>, database: string): string {
  const given = resolvePath(cwd, arg)
  if (arg !== 'latest' || existsSync(given)) return given
  const dir = backupDir(cwd, undefined, env)
  const newest = listDumps(dir, database).at(-1)
  if (!newest) throw usageError(`there is no dump of ${database} in ${dir}`, 'run `prescient dump` first, or set PRESCIENT_BACKUP_DIR to the folder that holds the dumps')
  return join(dir, newest.name)
}
