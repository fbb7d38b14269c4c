/**
 * Everything that configures a run, from flags, the environment and `.env`,
 * validated once into one Config.
 *
 * Precedence, highest first:
 *   1. command-line flags (--phase, --data-dir, --database-url)
 *   2. the process environment
 *   3. the .env file (in the working directory, or --env-file)
 * The database URL comes from the first source that has one of, in order:
 *   DATABASE_URL, then the seed's POSTGRES_HOST/PORT/DB/USER/PASSWORD, then libpq's PG* variables.
 */
import { isAbsolute, resolve } from 'node:path'
import * as v from 'valibot'
import { readEnvFile } from './env-file.ts'
import { usageError } from './errors.ts'
import { mask, registerSecret } from './mask.ts'
import { MAX_PHASE, phaseFromFlags } from './phase.ts'

export interface DbConfig {
  url: string
  /** where the URL came from, for `status` */
  source: 'flag' | 'DATABASE_URL' | 'POSTGRES_*' | 'PG*'
  /** the URL with its password masked */
  display: string
  database: string
  user: string
  host: string
  port: number
  ssl: boolean
}

export interface Config {
  cwd: string
  envFile: string
  dataDir: string
  logDir: string
  db?: DbConfig
  phase: number
  phaseSource: string
  gammaUrl: string
  /** the raw merged environment (.env under process env), for modules with their own knobs */
  env: Record<string, string | undefined>
}

export interface ConfigInput {
  phase?: string | number
  dataDir?: string
  envFile?: string
  databaseUrl?: string
  env?: Record<string, string | undefined>
  cwd?: string
}

const PhaseSchema = v.pipe(
  v.string(),
  v.trim(),
  v.regex(/^\d+$/, `must be a whole number from 0 to ${MAX_PHASE}`),
  v.transform(Number),
  v.maxValue(MAX_PHASE, `must be a whole number from 0 to ${MAX_PHASE}`),
)

const BoolSchema = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.picklist(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], 'must be true or false'),
  v.transform((s) => ['true', '1', 'yes', 'on'].includes(s)),
)

function parseWith<T>(schema: v.GenericSchema<string, T>, value: string, what: string): T {
  const r = v.safeParse(schema, value)
  if (!r.success) throw usageError(`${what}: ${JSON.stringify(value)} ${r.issues[0]?.message ?? 'is invalid'}`)
  return r.output
}

/** Windows paths (C:\data, \\server\share) are absolute even when we run elsewhere. */
export function resolvePath(cwd: string, p: string): string {
  if (/^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')) return p
  return isAbsolute(p) ? p : resolve(cwd, p)
}

export function parseDatabaseUrl(url: string, source: DbConfig['source']): DbConfig {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw usageError(`${source === 'flag' ? '--database-url' : source} is not a valid URL: ${mask(url)}`, 'expected postgres://user:password@host:5432/database')
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw usageError(`${source === 'flag' ? '--database-url' : source} must start with postgres:// or postgresql://, got ${u.protocol}//`)
  }
  const password = decodeURIComponent(u.password)
  registerSecret(password)
  const sslmode = u.searchParams.get('sslmode') ?? u.searchParams.get('ssl')
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres'
  return {
    url,
    source,
    display: mask(url),
    database,
    user: decodeURIComponent(u.username) || 'postgres',
    host: u.hostname || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    ssl: !!sslmode && !['disable', 'false', 'allow', 'prefer'].includes(sslmode),
  }
}

export function buildUrl(p: { host?: string; port?: string | number; database?: string; user?: string; password?: string; sslmode?: string }): string {
  const auth = p.user ? `${encodeURIComponent(p.user)}${p.password ? `:${encodeURIComponent(p.password)}` : ''}@` : ''
  const host = p.host && !p.host.startsWith('/') ? p.host : 'localhost'
  const qs = new URLSearchParams()
  if (p.host?.startsWith('/')) qs.set('host', p.host)
  if (p.sslmode) qs.set('sslmode', p.sslmode)
  const q = qs.toString()
  return `postgres://${auth}${host}:${p.port ?? 5432}/${encodeURIComponent(p.database ?? '')}${q ? `?${q}` : ''}`
}

function dbFromEnv(env: Record<string, string | undefined>, flagUrl?: string): DbConfig | undefined {
  if (flagUrl) return parseDatabaseUrl(flagUrl, 'flag')
  if (env.DATABASE_URL) return parseDatabaseUrl(env.DATABASE_URL, 'DATABASE_URL')
  if (env.POSTGRES_DB || env.POSTGRES_HOST || env.POSTGRES_USER) {
    registerSecret(env.POSTGRES_PASSWORD)
    return parseDatabaseUrl(
      buildUrl({ host: env.POSTGRES_HOST, port: env.POSTGRES_PORT, database: env.POSTGRES_DB, user: env.POSTGRES_USER, password: env.POSTGRES_PASSWORD, sslmode: env.POSTGRES_SSLMODE }),
      'POSTGRES_*',
    )
  }
  if (env.PGDATABASE || env.PGHOST || env.PGUSER) {
    registerSecret(env.PGPASSWORD)
    return parseDatabaseUrl(
      buildUrl({ host: env.PGHOST, port: env.PGPORT, database: env.PGDATABASE ?? env.PGUSER, user: env.PGUSER, password: env.PGPASSWORD, sslmode: env.PGSSLMODE }),
      'PG*',
    )
  }
  return undefined
}

export function loadConfig(input: ConfigInput = {}): Config {
  const cwd = input.cwd ?? process.cwd()
  const processEnv = input.env ?? process.env
  const envFile = resolvePath(cwd, input.envFile ?? processEnv.PRESCIENT_ENV_FILE ?? '.env')
  const fileEnv = readEnvFile(envFile)
  const env: Record<string, string | undefined> = { ...fileEnv, ...processEnv }
  registerSecret(env.POSTGRES_PASSWORD)
  registerSecret(env.PGPASSWORD)

  const db = dbFromEnv(env, input.databaseUrl)
  const dataDir = resolvePath(cwd, input.dataDir ?? env.PRESCIENT_DATA_DIR ?? 'data')
  const logDir = resolvePath(cwd, env.PRESCIENT_LOG_DIR ?? resolve(dataDir, 'logs'))

  let phase: number
  let phaseSource: string
  if (input.phase !== undefined && input.phase !== '') {
    phase = parseWith(PhaseSchema, String(input.phase), '--phase')
    phaseSource = '--phase'
  } else if (env.PRESCIENT_PHASE !== undefined && env.PRESCIENT_PHASE !== '') {
    phase = parseWith(PhaseSchema, env.PRESCIENT_PHASE, 'PRESCIENT_PHASE')
    phaseSource = 'PRESCIENT_PHASE'
  } else if (!db) {
    phase = 0
    phaseSource = 'default (no database configured)'
  } else {
    const write = env.USE_DATABASE_WRITE ? parseWith(BoolSchema, env.USE_DATABASE_WRITE, 'USE_DATABASE_WRITE') : false
    const read = env.USE_DATABASE_READ ? parseWith(BoolSchema, env.USE_DATABASE_READ, 'USE_DATABASE_READ') : false
    const fallback = env.DATABASE_FALLBACK_TO_JSON ? parseWith(BoolSchema, env.DATABASE_FALLBACK_TO_JSON, 'DATABASE_FALLBACK_TO_JSON') : true
    const derived = phaseFromFlags(write, read, fallback)
    if (typeof derived !== 'number') throw usageError(derived.error, 'set PRESCIENT_PHASE or pass --phase instead')
    phase = derived
    phaseSource = `USE_DATABASE_WRITE=${write} USE_DATABASE_READ=${read} DATABASE_FALLBACK_TO_JSON=${fallback}`
  }
  if (phase > 0 && !db) {
    throw usageError(
      `phase ${phase} (from ${phaseSource}) needs a database, and none is configured`,
      'set DATABASE_URL (or POSTGRES_HOST/POSTGRES_DB/POSTGRES_USER/POSTGRES_PASSWORD) in .env, or run `prescient setup`',
    )
  }

  return { cwd, envFile, dataDir, logDir, db, phase, phaseSource, gammaUrl: env.GAMMA_API_URL ?? 'https://gamma-api.polymarket.com', env }
}
