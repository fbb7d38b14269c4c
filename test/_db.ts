/**
 * A throwaway PostgreSQL database per test file. The server comes from
 * PRESCIENT_TEST_DATABASE_URL (default: the local server as postgres). When it
 * cannot be reached the DB tests skip with a notice, except under CI=true,
 * where a missing database fails the run.
 */
import postgres from 'postgres'
import { randomBytes } from 'node:crypto'
import { parseDatabaseUrl, type DbConfig } from '../src/config.ts'
import { connect, type Sql } from '../src/db/client.ts'
import { migrate } from '../src/db/migrations.ts'

export const ADMIN_URL = process.env.PRESCIENT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function probe(): Promise<boolean> {
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true and the test database is unreachable at ${ADMIN_URL}: ${(err as Error).message}`)
    console.warn(`[skip] PostgreSQL unreachable at ${ADMIN_URL}; DB tests skip (set PRESCIENT_TEST_DATABASE_URL)`)
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}

export const dbAvailable = await probe()

export interface TestDb {
  name: string
  url: string
  db: DbConfig
  sql: Sql
  drop(): Promise<void>
}

export function urlFor(database: string, base = ADMIN_URL): string {
  const u = new URL(base)
  u.pathname = `/${database}`
  return u.toString()
}

/** Create an empty database (migrated unless `migrated: false`). */
export async function createTestDb(label: string, opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const name = `prescient_t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  await admin.end()
  const url = urlFor(name)
  const db = parseDatabaseUrl(url, 'DATABASE_URL')
  const sql = connect(db, { max: 4 })
  if (opts.migrated !== false) await migrate(sql)
  return {
    name,
    url,
    db,
    sql,
    async drop() {
      await sql.end({ timeout: 2 }).catch(() => {})
      await dropDatabases(name)
    },
  }
}

/** A pool on another database of the test server: one a test made, such as a restore target. */
export const connectTo = (database: string, max = 2): Sql => connect(parseDatabaseUrl(urlFor(database), 'DATABASE_URL'), { max })

/** Drop databases a test made, closing their sessions; a missing one is fine. */
export async function dropDatabases(...names: string[]): Promise<void> {
  const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    for (const name of names) await a.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {})
  } finally {
    await a.end()
  }
}
