/**
 * What a backup holds: the 12 prescient tables (the schema's 11 plus
 * prescient_migrations), their columns from the catalog, and the canonical
 * per-table content hash that a restore must reproduce.
 *
 * Content hash of a table (method "sha256-sum64-text/1"):
 *   for every row, sha256 of the UTF-8 bytes of the row as COPY's text format writes it
 *   (the columns' text output in table order, tab-separated, NULL as \N, backslash escapes)
 *   under the dump settings below; the first 8 bytes of each sha256, read as a signed 64-bit
 *   integer, are summed (exactly, as numeric); hash = md5("<rows>:<sum>").
 * It includes the serial ids (every format preserves them). A sum is independent of row
 * order and collation and needs constant memory (a string_agg hits PostgreSQL's 1 GB
 * limit near 3M rows). The json dump hashes each COPY line as it streams, so no table
 * is read twice; the server rebuilds the same line in SQL for the other formats and
 * for restores.
 *
 * Manifests written before version 2 of the json format carry "md5-sum64-json/1"
 * (md5 of json_build_array of the row); restores still check those.
 */
import { createHash } from 'node:crypto'
import type { Q, Sql, Tx } from '../db/client.ts'
import { Exit, PrescientError } from '../errors.ts'
import { GROUPS, GROUP_TABLES } from '../phase.ts'

export const HASH_METHOD = 'sha256-sum64-text/1'
export const LEGACY_HASH_METHOD = 'md5-sum64-json/1'
export const HASH_METHODS = [HASH_METHOD, LEGACY_HASH_METHOD] as const
export type HashMethod = (typeof HASH_METHODS)[number]

/**
 * The session settings under which values are rendered as text, for the dump's COPY
 * and for every content hash: the same value must give the same bytes on any server
 * and client configuration (pg_dump pins the same ones).
 */
export async function setDumpSettings(q: Q): Promise<void> {
  await q`select set_config('timezone', 'UTC', true), set_config('datestyle', 'ISO, YMD', true), set_config('intervalstyle', 'postgres', true),
                  set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true)`
}

/** The tables that hold trading data (restore refuses to overwrite them without --force). */
export const DATA_TABLES: readonly string[] = GROUPS.flatMap((g) => GROUP_TABLES[g])
/** Everything a dump holds, in a load order that satisfies the foreign key (trades before trading_signals). */
export const BACKUP_TABLES: readonly string[] = ['prescient_migrations', ...DATA_TABLES, 'system_metadata']

export interface TableInfo {
  name: string
  schema: string
  columns: string[]
  /** format_type with the modifier: "character varying(255)" */
  types: string[]
  /** the type as schema.name, for casts (the column's own modifier applies on insert): "pg_catalog.varchar" */
  castTypes: string[]
  notNull: boolean[]
}

export interface TableStat {
  rows: number
  hash: string
}

/** The backup tables as the catalog has them; a missing one is an error naming it. */
export async function tableInfo(sql: Q): Promise<TableInfo[]> {
  const rows = await sql<{ name: string; schema: string; columns: string[]; types: string[]; castTypes: string[]; notNull: boolean[] }[]>`
    select t.name, n.nspname as schema,
           array_agg(a.attname::text order by a.attnum) as columns,
           array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum) as types,
           array_agg(tn.nspname || '.' || ty.typname order by a.attnum) as "castTypes",
           array_agg(a.attnotnull order by a.attnum) as "notNull"
    from unnest(string_to_array(${BACKUP_TABLES.join(',')}::text, ',')) as t(name)
    join pg_class c on c.oid = to_regclass(quote_ident(t.name))
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    join pg_type ty on ty.oid = a.atttypid
    join pg_namespace tn on tn.oid = ty.typnamespace
    group by t.name, n.nspname`
  const byName = new Map(rows.map((r) => [r.name, r]))
  const missing = BACKUP_TABLES.filter((t) => !byName.has(t))
  if (missing.length) {
    throw new PrescientError(`the database has no ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}`, Exit.usage, 'run `prescient migrate` (or `prescient setup`) first')
  }
  for (const r of rows) {
    if (r.columns.length > 99) throw new PrescientError(`table ${r.name} has ${r.columns.length} columns; the content hash handles at most 99`, Exit.runtime)
  }
  return BACKUP_TABLES.map((t) => byName.get(t)!)
}

/**
 * The running sum of the rows' first 8 sha256 bytes, read as PostgreSQL reads
 * ('x' || encode(substr(sha256(line), 1, 8), 'hex'))::bit(64)::bigint. Kept as two
 * float sums (high words signed, low words unsigned), exact below 2^53, moved into
 * a BigInt every 2^20 rows: a third cheaper than a BigInt per row at a million rows.
 */
export class RowHashSum {
  private readonly out = new Uint8Array(64)
  private readonly view = new DataView(this.out.buffer)
  private hi = 0
  private lo = 0
  private n = 0
  private total = 0n
  /** rows added so far */
  rows = 0

  add(line: Uint8Array): void {
    this.rows++
    Bun.CryptoHasher.hash('sha256', line, this.out)
    this.hi += this.view.getInt32(0)
    this.lo += this.view.getUint32(4)
    if (++this.n === 1 << 20) this.fold()
  }

  private fold(): void {
    this.total += (BigInt(this.hi) << 32n) + BigInt(this.lo)
    this.hi = this.lo = this.n = 0
  }

  get sum(): bigint {
    this.fold()
    return this.total
  }
}

export const finishHash = (rows: number, sum: bigint | string) => createHash('md5').update(`${rows}:${sum}`).digest('hex')

/** Types whose text output never holds a backslash or a control character, so COPY does not escape it. */
const PLAIN_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'numeric', 'float4', 'float8', 'date', 'time', 'timestamp', 'timestamptz', 'uuid'].map((t) => `pg_catalog.${t}`))

/** Column `c` as COPY's text format writes it: the type's output function, escaped like COPY escapes, \N for NULL. */
function sqlCopyField(q: Q, c: string, type: string) {
  const col = q(c)
  if (type === 'pg_catalog.bool') return q`case when ${col} then 't' when not ${col} then 'f' else '\\N' end`
  if (PLAIN_TYPES.has(type)) return q`coalesce(${col}::text, '\\N')`
  // format('%s') is the output function itself (a cast to text can differ: char(n) drops its padding)
  const text = type === 'pg_catalog.text' || type === 'pg_catalog.varchar' ? q`${col}::text` : q`format('%s', ${col})`
  return q`case when ${col} is null then '\\N' else
    replace(replace(replace(replace(replace(replace(replace(${text},
      chr(92), chr(92) || chr(92)), chr(8), chr(92) || 'b'), chr(12), chr(92) || 'f'), chr(10), chr(92) || 'n'),
      chr(13), chr(92) || 'r'), chr(9), chr(92) || 't'), chr(11), chr(92) || 'v') end`
}

/** A row of `t` as the line COPY's text format writes for it (without the newline), under the dump settings. */
export function sqlCopyLine(q: Q, t: TableInfo) {
  return q`concat_ws(chr(9), ${t.columns.map((c, i) => sqlCopyField(q, c, t.castTypes[i]!)).reduce((a, b) => q`${a}, ${b}`)})`
}

function rowHash(q: Q, t: TableInfo, method: HashMethod) {
  if (method === LEGACY_HASH_METHOD) return q`('x' || left(md5(convert_to(json_build_array(${q(t.columns)})::text, 'UTF8')), 16))::bit(64)::bigint`
  return q`('x' || encode(substr(sha256(convert_to(${sqlCopyLine(q, t)}, 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint`
}

async function statsIn(tx: Tx, tables: readonly TableInfo[], method: HashMethod): Promise<Record<string, TableStat>> {
  await setDumpSettings(tx)
  const out: Record<string, TableStat> = {}
  for (const t of tables) {
    const [r] = await tx<{ n: string; s: string }[]>`
      select count(*)::text as n, coalesce(sum(${rowHash(tx, t, method)}), 0)::text as s from ${tx(t.name)}`
    out[t.name] = { rows: Number(r!.n), hash: finishHash(Number(r!.n), r!.s) }
  }
  return out
}

/**
 * Row count and content hash of each table, computed by the server. Inside a
 * transaction the dump settings stay set to its end; on a pool it takes one.
 */
export async function tableStats(sql: Q, tables: readonly TableInfo[], method: HashMethod = HASH_METHOD): Promise<Record<string, TableStat>> {
  if ('savepoint' in sql) return statsIn(sql, tables, method)
  return (sql as Sql).begin('read only', (tx) => statsIn(tx, tables, method))
}

/** Rows of data in the tables that hold trading data: a target with any refuses a restore without --force. */
export async function dataRows(sql: Q): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of DATA_TABLES) {
    const [exists] = await sql<{ t: string | null }[]>`select to_regclass(quote_ident(${t}))::text as t`
    if (!exists?.t) continue
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from (select 1 from ${sql(t)} limit 1000000) s`
    if (r!.n > 0) out[t] = r!.n
  }
  return out
}

export interface Comparison {
  table: string
  manifest_rows: number
  restored_rows: number | null
  hash_ok: boolean
}

export function compareStats(expected: Record<string, TableStat>, actual: Record<string, TableStat>): Comparison[] {
  const names = [...new Set([...BACKUP_TABLES.filter((t) => t in expected || t in actual), ...Object.keys(expected)])]
  return names.map((table) => {
    const e = expected[table]
    const a = actual[table]
    return { table, manifest_rows: e?.rows ?? 0, restored_rows: a?.rows ?? null, hash_ok: !!e && !!a && e.rows === a.rows && e.hash === a.hash }
  })
}
