/**
 * A benchmark's scratch space: a temporary data dir and a temporary database
 * on the configured server, migrated. Both are removed when the benchmark ends,
 * fails or is interrupted (Ctrl-C / SIGTERM), and so is any child it started.
 */
import postgres from 'postgres'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDatabaseUrl, type Config, type DbConfig } from '../config.ts'
import { connect, unreachableError, type Sql } from '../db/client.ts'
import { migrate } from '../db/migrations.ts'
import { Exit, PrescientError, errorMessage } from '../errors.ts'
import { logger } from '../logger.ts'

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface BenchEnv {
  dir: string
  /** the scratch database */
  db: DbConfig
  sql: Sql
  /** processes to kill if the run is interrupted */
  children: Set<{ kill(signal?: number | NodeJS.Signals): void }>
}

/** PRESCIENT_BENCH_ADMIN_URL, else the configured database's server and role, else the local server as postgres. */
export function adminUrl(config: Config): string {
  return config.env.PRESCIENT_BENCH_ADMIN_URL ?? config.db?.url ?? DEFAULT_ADMIN_URL
}

export function urlWithDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

function adminConnection(url: string) {
  const db = parseDatabaseUrl(url, 'DATABASE_URL')
  return { db, sql: postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {}, database: db.database, ssl: db.ssl ? 'require' : false }) }
}

async function dropDatabase(url: string, name: string): Promise<void> {
  const { sql } = adminConnection(url)
  try {
    await sql`drop database if exists ${sql(name)} with (force)`
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {})
  }
}

/** Run `fn` with a fresh scratch dir and database; both are gone afterwards, whatever happens. */
export async function withBenchEnv<T>(config: Config, label: string, fn: (env: BenchEnv) => Promise<T>): Promise<T> {
  const url = adminUrl(config)
  const name = `prescient_bench_${label}_${randomBytes(4).toString('hex')}`
  const admin = adminConnection(url)
  try {
    await admin.sql`create database ${admin.sql(name)}`
  } catch (err) {
    const e = err as { code?: string }
    if (e.code === '42501') {
      throw new PrescientError(`the role ${admin.db.user} may not create databases (${errorMessage(err)})`, Exit.usage, 'set PRESCIENT_BENCH_ADMIN_URL to a role with CREATEDB, e.g. postgres://postgres@127.0.0.1:5432/postgres')
    }
    throw unreachableError(admin.db, err)
  } finally {
    await admin.sql.end({ timeout: 2 }).catch(() => {})
  }

  const dir = mkdtempSync(join(tmpdir(), `prescient-bench-${label}-`))
  const db = parseDatabaseUrl(urlWithDatabase(url, name), admin.db.source)
  const env: BenchEnv = { dir, db, sql: connect(db, { max: 4 }), children: new Set() }
  let cleaned: Promise<void> | undefined
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const c of env.children) c.kill('SIGKILL')
      await env.sql.end({ timeout: 2 }).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
      await dropDatabase(url, name).catch((err) => logger.warn(`could not drop the scratch database ${name}: ${errorMessage(err)}`))
    })())
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn(`${signal}: removing the benchmark's scratch database and folder`)
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await migrate(env.sql)
    return await fn(env)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cleanup()
  }
}
