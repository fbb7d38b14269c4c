/**
 * Helpers shared by the query modules: batching under PostgreSQL's parameter
 * limit, de-duplication (one INSERT ... ON CONFLICT DO UPDATE may not touch a
 * row twice), and row mapping back to the JSON shapes.
 */
import type postgres from 'postgres'
import type { JSONValue } from 'postgres'
import type { Q } from '../client.ts'

/** A piece of SQL built by a tagged template and embedded in another (never run on its own). */
export type Fragment = postgres.Fragment

/** Rows per INSERT: 1000 x ~20 columns stays far below the 65535 bind parameters. */
export const BATCH = 1000

export function* batches<T>(rows: readonly T[], size = BATCH): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size)
}

/** Last one wins, first position kept: the same rule as the JSON upserts. */
export function dedupeBy<T>(rows: readonly T[], key: (r: T) => string): T[] {
  return [...new Map(rows.map((r) => [key(r), r] as const)).values()]
}

/** TIMESTAMPTZ -> ISO `Z` string with milliseconds, as the JSON files hold it. */
export const iso = (x: unknown): string => (x instanceof Date ? x.toISOString() : new Date(String(x)).toISOString())
export const isoN = (x: unknown): string | null => (x === null || x === undefined ? null : iso(x))
/** NUMERIC is parsed to number by the client; tolerate a pool without that parser. */
export const num = (x: unknown): number => (typeof x === 'number' ? x : Number(x))
export const numN = (x: unknown): number | null => (x === null || x === undefined ? null : num(x))
export const strN = (x: unknown): string | null => (x === null || x === undefined ? null : String(x))
/** JSONB comes back parsed; a text value (json stored as a string) is parsed here. */
export const obj = <T = Record<string, unknown>>(x: unknown): T => (typeof x === 'string' ? JSON.parse(x) : x) as T

export type Row = Record<string, unknown>

/** JSONB parameters: tagged explicitly so postgres.js serialises them as JSON, whatever their TS type. */
export const jsonb = (sql: Q, value: unknown) => sql.json(value as JSONValue)

/**
 * `select <cols>` from rows sent as ONE jsonb parameter, typed by the table's own row type
 * (so each value is converted exactly as a bind parameter of that column would be) and kept
 * in array order. One JSON.stringify instead of a parameter per value, and no parameter limit.
 */
export function jsonRows(sql: Q, table: string, cols: readonly string[], rows: readonly object[]): Fragment {
  const only = rows.map((r) => {
    const out: Record<string, unknown> = {}
    for (const c of cols) {
      const value = (r as Record<string, unknown>)[c]
      // as a bind parameter would: postgres.js refuses undefined rather than guessing null
      if (value === undefined) throw Object.assign(new Error(`Undefined values are not allowed (${table}.${c})`), { code: 'UNDEFINED_VALUE' })
      out[c] = value
    }
    return out
  })
  return sql`select ${sql(cols as string[])} from jsonb_populate_recordset(null::${sql(table)}, ${jsonb(sql, only)}) with ordinality as r order by r.ordinality`
}

/**
 * Data-modifying statements run as ONE statement (`with w0 as (...), w1 as (...) select 1`): one
 * parse and one round trip instead of one each. They share one snapshot, so the parts must touch
 * disjoint rows; foreign keys are checked at the end of the statement, when all parts are done.
 */
export function allInOne(sql: Q, parts: readonly Fragment[]): Fragment {
  if (!parts.length) return sql`select 1`
  return sql`with ${parts.map((p, i) => (i ? sql`, ${sql(`w${i}`)} as (${p})` : sql`${sql('w0')} as (${p})`))} select 1`
}
