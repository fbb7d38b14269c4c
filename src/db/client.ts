/**
 * The postgres.js client. A pool of 10 as in the seed, SSL when the URL asks
 * for it, sessions in UTC, and NUMERIC parsed to numbers (the schema's scales
 * fit a double exactly).
 */
import postgres from 'postgres'
import type { DbConfig } from '../config.ts'
import { PrescientError, Exit, errorMessage } from '../errors.ts'
import { mask } from '../mask.ts'

export type Sql = postgres.Sql<{}>
export type Tx = postgres.TransactionSql<{}>
/** Query modules take either: a transaction's sql is typed TransactionSql, not Sql. */
export type Q = Sql | Tx

export interface ConnectOptions {
  max?: number
  connectTimeout?: number
  /** override the database name (setup, restore, scratch databases) */
  database?: string
}

export function connect(db: DbConfig, opts: ConnectOptions = {}): Sql {
  return postgres(db.url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeout ?? 5,
    idle_timeout: 20,
    ssl: db.ssl ? 'require' : false,
    // postgres.js does not URL-decode the path: pass the decoded name itself
    database: opts.database ?? db.database,
    onnotice: () => {},
    connection: { application_name: 'prescient', TimeZone: 'UTC' },
    types: {
      numeric: { to: 1700, from: [1700], serialize: (x: unknown) => String(x), parse: (x: string) => Number(x) },
    },
  }) as unknown as Sql
}

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P03', '3D000', '28P01', '28000']

/** True when the error means "cannot talk to the database" rather than "the query was wrong". */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; errno?: string; message?: string }
  if (e?.code && UNREACHABLE.includes(e.code)) return true
  if (e?.errno && UNREACHABLE.includes(e.errno)) return true
  return /connect|ECONNREFUSED|timeout|terminat/i.test(e?.message ?? '')
}

/** Open a pool and prove it answers; exits 5 with a clear line when it does not. */
export async function connectChecked(db: DbConfig, opts: ConnectOptions = {}): Promise<Sql> {
  const sql = connect(db, opts)
  try {
    await sql`select 1`
    return sql
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {})
    throw unreachableError(db, err)
  }
}

export function unreachableError(db: DbConfig, err: unknown): PrescientError {
  return new PrescientError(
    `database ${db.database} at ${db.host}:${db.port} is unreachable: ${mask(errorMessage(err))}`,
    Exit.dbUnreachable,
    `check that PostgreSQL is running and that ${db.source} in .env is right (${db.display})`,
    { cause: err },
  )
}

export async function closeQuietly(sql: Sql | undefined): Promise<void> {
  if (sql) await sql.end({ timeout: 2 }).catch(() => {})
}
