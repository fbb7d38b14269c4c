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
  /**
   * false: skip postgres.js's query of the server's array types on connect (about 2 ms of each
   * cycle's start). Array parameters and array columns then do not work on this pool: the
   * cycle's queries (src/store/postgres.ts, src/sync.ts, src/db/queries) pass lists as jsonb.
   */
  arrayTypes?: boolean
}

export function connect(db: DbConfig, opts: ConnectOptions = {}): Sql {
  return postgres(db.url, {
    max: opts.max ?? 10,
    fetch_types: opts.arrayTypes ?? true,
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

/**
 * Close the pool. An idle connection is told to terminate at once; `graceS` is how long a query
 * still running may take before its connection is dropped (the server then rolls its transaction
 * back). postgres.js waits for that long, or for the server to close its end, whichever is first.
 */
export async function closeQuietly(sql: Sql | undefined, graceS = 2): Promise<void> {
  if (sql) await sql.end({ timeout: graceS }).catch(() => {})
}
