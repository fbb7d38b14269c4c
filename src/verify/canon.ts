/**
 * The canonical text of a row, computed the same way on both sides so equal
 * facts hash equal. The JSON side formats values that the file schemas have
 * already normalised (money 2 dp, prices 6 dp, ISO UTC ms); the DB side formats
 * them in SQL for the bucket digests of flat tables (the work stays in
 * PostgreSQL), and from the stores' own row mappers everywhere else. Nothing is
 * re-rounded here.
 */
import type { PendingQuery } from 'postgres'
import type { Q } from '../db/client.ts'

/** num covers every DECIMAL scale: values arrive rounded to their column's scale. */
export type ColType = 'text' | 'num' | 'int' | 'bool' | 'ts' | 'date' | 'json'

export interface Col {
  name: string
  type: ColType
  /** what a NULL in the database means (the mappers read a NULL boolean as its default) */
  nullAs?: boolean
}

/** Separates values in the row text; NUL_MARK stands for null (chr(30) and chr(31) in SQL). */
export const SEP = '\x1f'
export const NUL_MARK = '\x1e'

/** JSON with object keys sorted at every level: JSONB reorders keys, the files do not. */
export function stableJson(x: unknown): string {
  if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? 'null'
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`
  const o = x as Record<string, unknown>
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`
}

/** One value as text; null and absent are alike. */
export function canonValue(col: Col, x: unknown): string | null {
  if (x === null || x === undefined) return col.type === 'bool' && col.nullAs !== undefined ? String(col.nullAs) : null
  switch (col.type) {
    case 'json':
      return stableJson(x)
    case 'bool':
      return x ? 'true' : 'false'
    default:
      // numbers: -0 prints as "0", as PostgreSQL's NUMERIC does
      return String(x)
  }
}

export const canonRow = (cols: readonly Col[], row: Record<string, unknown>): (string | null)[] => cols.map((c) => canonValue(c, row[c.name]))

/** The row's canonical values joined by SEP (null as NUL_MARK), built in one go: this runs once per row of a million. */
export function rowTextOf(cols: readonly Col[], row: Record<string, unknown>): string {
  let s = ''
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!
    const v = canonValue(c, row[c.name])
    s += i ? SEP + (v ?? NUL_MARK) : (v ?? NUL_MARK)
  }
  return s
}

/** Where two canonical JSON texts first differ, for showing a JSONB difference briefly. */
export function firstJsonDifference(a: string | null, b: string | null): { path: string; a: string; b: string } | null {
  const show = (x: unknown) => (x === undefined ? '(absent)' : stableJson(x))
  const walk = (x: unknown, y: unknown, path: string): { path: string; a: string; b: string } | null => {
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
      const keys = Array.isArray(x) ? [...Array(Math.max(x.length, (y as unknown[]).length)).keys()] : [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()
      for (const k of keys) {
        const d = walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], typeof k === 'number' ? `${path}[${k}]` : `${path}.${k}`)
        if (d) return d
      }
      return null
    }
    return stableJson(x) === stableJson(y) ? null : { path, a: show(x), b: show(y) }
  }
  try {
    return walk(a === null ? undefined : JSON.parse(a), b === null ? undefined : JSON.parse(b), '$')
  } catch {
    return null
  }
}

/** Four signed 32-bit words of an md5: (k1, k2) of the key, (r1, r2) of the row. */
export function md5Words(text: string): [number, number] {
  const h = Bun.CryptoHasher.hash('md5', text) as Uint8Array
  const w1 = (h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!
  const w2 = (h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!
  return [w1, w2]
}

/** Bucket of a key: the top `bits` bits of its md5 (the SQL side takes the same bits). */
export const bucketOf = (k1: number, bits: number) => (bits === 0 ? 0 : (k1 >>> 0) >>> (32 - bits))

// ---- SQL -----------------------------------------------------------------

type Frag = PendingQuery<any>

/** The SQL text of one column, formatted exactly as canonValue formats its mapped value. */
export function sqlValue(sql: Q, col: Col): Frag {
  const c = sql(col.name)
  switch (col.type) {
    case 'num':
      return sql`trim_scale(${c})::text`
    case 'int':
    case 'text':
      return sql`${c}::text`
    case 'bool':
      return col.nullAs === undefined ? sql`${c}::text` : sql`coalesce(${c}, ${col.nullAs})::text`
    case 'ts':
      return sql`to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    case 'date':
      return sql`to_char(${c}, 'YYYY-MM-DD')`
    case 'json':
      throw new Error(`column ${col.name}: JSONB is canonicalised in JS, not in SQL`)
  }
}

const joinFrags = (sql: Q, frags: Frag[], sep: Frag): Frag => frags.reduce((acc, f) => sql`${acc}${sep}${f}`)

/** rowTextOf in SQL: the columns' canonical texts joined by chr(31), null as chr(30). */
export function sqlRowText(sql: Q, cols: readonly Col[]): Frag {
  const parts = cols.map((c) => sql`coalesce(${sqlValue(sql, c)}, chr(30))`)
  return joinFrags(sql, parts, sql` || chr(31) || `)
}

/** The bucket of an md5 hex in SQL: its first 16 bits, shifted down to `bits` bits. */
export function sqlBucket(sql: Q, md5hex: Frag, bits: number): Frag {
  return sql`(('x' || substr(${md5hex}, 1, 4))::bit(16)::int >> ${16 - bits})`
}
