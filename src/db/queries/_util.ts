/**
 * Helpers shared by the query modules: batching under PostgreSQL's parameter
 * limit, de-duplication (one INSERT ... ON CONFLICT DO UPDATE may not touch a
 * row twice), and row mapping back to the JSON shapes.
 */
import type { JSONValue } from 'postgres'
import type { Q } from '../client.ts'

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
