/**
 * Finding and running PostgreSQL's client tools (pg_dump, pg_restore, psql).
 *
 * Search order: PRESCIENT_PG_BIN (a folder), then PATH, then the usual install
 * folders, newest version first: `C:\Program Files\PostgreSQL\<v>\bin` on
 * Windows (the EDB installer does not add itself to PATH), `/usr/lib/postgresql/<v>/bin`
 * (Debian, Ubuntu) and `/usr/pgsql-<v>/bin` (RHEL), Homebrew and Postgres.app on macOS.
 * The first tool at least as new as required wins, so an old pg_dump on PATH
 * does not hide a current one in its install folder.
 *
 * The password goes to the child in PGPASSWORD, never on its command line
 * (command lines are visible to every user of the machine).
 */
import { existsSync, readdirSync, realpathSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { DbConfig } from '../config.ts'
import { Exit, PrescientError } from '../errors.ts'
import { mask } from '../mask.ts'

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql'

export interface ToolVersion {
  major: number
  minor: number
  text: string
}

export interface FoundTool {
  tool: PgTool
  path: string
  version: ToolVersion
}

/** "pg_dump (PostgreSQL) 16.4", "psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", "pg_dump (PostgreSQL) 9.6.24" */
export function parseToolVersion(output: string): ToolVersion | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output) ?? /\b(\d+)\.(\d+)/.exec(output)
  if (!m) return null
  let major = Number(m[1])
  let minor = Number(m[2] ?? 0)
  // before PostgreSQL 10 the major version had two parts (9.6)
  if (major < 10) {
    const old = /(\d+)\.(\d+)\.(\d+)/.exec(output)
    if (old) [major, minor] = [Number(`${old[1]}${old[2]}`) / 10, Number(old[3])]
  }
  return { major, minor, text: output.trim().split(/\r?\n/)[0]! }
}

/** server_version_num 150008 -> 15, 90624 -> 9.6 */
export const serverMajor = (num: number) => (num >= 100000 ? Math.floor(num / 10000) : Math.floor(num / 10000) + (Math.floor(num / 100) % 100) / 10)

const versionSort = (names: string[]) =>
  names
    .filter((n) => /^\d+(\.\d+)?$/.test(n))
    .sort((a, b) => Number(b) - Number(a))

type ListDir = (dir: string) => string[]
const listDir: ListDir = (dir) => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** The install folders of one platform, newest version first (pure, given `list`). */
export function installDirs(platform: string, env: Record<string, string | undefined>, list: ListDir = listDir): string[] {
  const out: string[] = []
  const versioned = (parent: string, make: (v: string) => string, prefix = '') =>
    versionSort(list(parent).filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length))).forEach((v) => out.push(make(v)))
  if (platform === 'win32') {
    const roots = [env.ProgramFiles, env.ProgramW6432, 'C:\\Program Files', env['ProgramFiles(x86)']].filter((r): r is string => !!r)
    for (const root of [...new Set(roots)]) {
      const base = `${root.replace(/[\\/]+$/, '')}\\PostgreSQL`
      versioned(base, (v) => `${base}\\${v}\\bin`)
    }
  } else {
    versioned('/usr/lib/postgresql', (v) => `/usr/lib/postgresql/${v}/bin`)
    versioned('/usr', (v) => `/usr/pgsql-${v}/bin`, 'pgsql-')
    if (platform === 'darwin') {
      for (const brew of ['/opt/homebrew/opt', '/usr/local/opt']) versioned(brew, (v) => `${brew}/postgresql@${v}/bin`, 'postgresql@')
      versioned('/Applications/Postgres.app/Contents/Versions', (v) => `/Applications/Postgres.app/Contents/Versions/${v}/bin`)
      versioned('/Library/PostgreSQL', (v) => `/Library/PostgreSQL/${v}/bin`)
    }
  }
  return out
}

/** Every place to look for a tool, in order, without duplicates. */
export function searchDirs(platform = process.platform, env: Record<string, string | undefined> = process.env, list: ListDir = listDir): string[] {
  const path = (platform === 'win32' ? (env.Path ?? env.PATH) : env.PATH) ?? ''
  const sep = platform === 'win32' ? ';' : delimiter
  const dirs = [env.PRESCIENT_PG_BIN, ...path.split(sep), ...installDirs(platform, env, list)].filter((d): d is string => !!d)
  return [...new Set(dirs)]
}

async function versionOf(path: string): Promise<ToolVersion | null> {
  try {
    const p = Bun.spawn([path, '--version'], { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
    const [out] = await Promise.all([new Response(p.stdout).text(), p.exited])
    return parseToolVersion(out)
  } catch {
    return null
  }
}

/**
 * The first `tool` at least `minMajor` (when given). Exit 2 with what was
 * found when there is none: a missing or old client is a setup problem.
 */
export async function findTool(tool: PgTool, minMajor?: number, why = ''): Promise<FoundTool> {
  const exe = process.platform === 'win32' ? `${tool}.exe` : tool
  const seen = new Set<string>()
  const tooOld: string[] = []
  for (const dir of searchDirs()) {
    const path = join(dir, exe)
    if (!existsSync(path)) continue
    let real = path
    try {
      real = realpathSync(path)
    } catch {}
    if (seen.has(real)) continue
    seen.add(real)
    const version = await versionOf(path)
    if (!version) continue
    if (minMajor === undefined || version.major >= minMajor) return { tool, path, version }
    tooOld.push(`${path} (${version.major})`)
  }
  const where = 'PATH, PRESCIENT_PG_BIN and the usual install folders'
  if (tooOld.length) {
    throw new PrescientError(
      `${tool} ${minMajor} or newer is needed${why}, but only ${tooOld.join(', ')} was found`,
      Exit.usage,
      `install the PostgreSQL ${minMajor} client tools (on Windows: the EDB installer, "Command Line Tools"), or set PRESCIENT_PG_BIN to their bin folder; --format json needs no tools`,
    )
  }
  throw new PrescientError(
    `${tool} was not found (looked in ${where})`,
    Exit.usage,
    'install the PostgreSQL client tools (Windows: C:\\Program Files\\PostgreSQL\\<version>\\bin is searched; Debian/Ubuntu: apt install postgresql-client), ' +
      'or set PRESCIENT_PG_BIN to the folder holding them; `--format json` needs no PostgreSQL tools',
  )
}

/** libpq environment for a child tool: connection from the config, password in PGPASSWORD, `database` as PGDATABASE. */
export function pgEnv(db: DbConfig, database: string): Record<string, string> {
  const u = new URL(db.url)
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  env.PGHOST = u.searchParams.get('host') ?? db.host
  env.PGPORT = String(db.port)
  env.PGUSER = db.user
  env.PGDATABASE = database
  env.PGAPPNAME = 'prescient'
  env.PGCONNECT_TIMEOUT = env.PGCONNECT_TIMEOUT ?? '10'
  const password = decodeURIComponent(u.password)
  if (password) env.PGPASSWORD = password
  const sslmode = u.searchParams.get('sslmode')
  if (sslmode) env.PGSSLMODE = sslmode
  else if (db.ssl) env.PGSSLMODE = 'require'
  // a PGSERVICE from the environment would override the connection set here
  delete env.PGSERVICE
  return env
}

/** A libpq conninfo holding only the database name (tools that need -d take it; the rest comes from pgEnv). */
export const dbnameConninfo = (database: string) => `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/** Run a tool to completion; a non-zero exit is an error carrying the end of its stderr (masked). */
export async function runTool(found: FoundTool, args: string[], env: Record<string, string>): Promise<void> {
  const p = Bun.spawn([found.path, ...args], { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  if (code !== 0) {
    const tail = err.trim().split(/\r?\n/).slice(-6).join('\n')
    throw new PrescientError(`${found.tool} failed (exit ${code}): ${mask(tail) || 'no message'}`, Exit.runtime)
  }
}
