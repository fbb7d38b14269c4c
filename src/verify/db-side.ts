/**
 * The PostgreSQL side. Flat tables are digested inside PostgreSQL (one scan,
 * B rows back); tables with JSONB are streamed through a cursor and hashed with
 * the store's own row mappers. Either way rows are only fetched one by one for
 * the buckets whose digests differ.
 */
import type { Q } from '../db/client.ts'
import type { Row } from '../db/queries/_util.ts'
import { bucketOf, canonRow, md5Words, rowTextOf, sqlBucket, sqlRowText } from './canon.ts'
import { Digest } from './digest.ts'
import type { CompareSpec } from './tables.ts'

const CURSOR = 2000

/** A database row reduced to what the bucket comparison needs. */
export interface DbHashRow {
  bucket: number
  key: string
  k1: number
  k2: number
  r1: number
  r2: number
}

export async function dbDigest(sql: Q, spec: CompareSpec, bits: number): Promise<Digest> {
  const d = new Digest(bits)
  if (spec.mode === 'js') {
    for await (const r of jsHashRows(sql, spec, bits)) d.add(r.bucket, r.r1, r.r2)
    return d
  }
  const rows = await sql`
    select b, count(*)::int as n, sum(('x' || substr(m, 1, 8))::bit(32)::int)::text as s1, sum(('x' || substr(m, 9, 8))::bit(32)::int)::text as s2
    from (
      select ${sqlBucket(sql, sql`md5(${spec.sqlKey(sql)})`, bits)} as b, md5(${sqlRowText(sql, spec.cols)}) as m
      from ${sql(spec.name)}
    ) x
    group by b`
  for (const r of rows) d.set(Number(r.b), Number(r.n), Number(r.s1), Number(r.s2))
  return d
}

function hashRow(spec: CompareSpec, raw: Row, bits: number): DbHashRow {
  const row = spec.map(raw)
  const key = spec.key(row)
  const [k1, k2] = md5Words(key)
  const [r1, r2] = md5Words(rowTextOf(spec.cols, row))
  return { bucket: bucketOf(k1, bits), key, k1, k2, r1, r2 }
}

async function* jsHashRows(sql: Q, spec: CompareSpec, bits: number): AsyncGenerator<DbHashRow> {
  for await (const batch of sql`select ${spec.select(sql)} from ${sql(spec.name)}`.cursor(CURSOR)) {
    for (const raw of batch) yield hashRow(spec, raw, bits)
  }
}

/**
 * Rows of the given buckets, in ascending bucket order, hashed here from the
 * stores' row mappers: the SQL digest only decides which buckets to look at,
 * so a formatting quirk on the SQL side can cost time but never invent a difference.
 */
export async function* dbRowsIn(sql: Q, spec: CompareSpec, bits: number, buckets: number[]): AsyncGenerator<DbHashRow> {
  if (!buckets.length) return
  if (spec.mode === 'js') {
    // JSONB tables hold the filtered set or one row per cycle: small enough to sort here.
    const wanted = new Set(buckets)
    const rows: DbHashRow[] = []
    for await (const r of jsHashRows(sql, spec, bits)) if (wanted.has(r.bucket)) rows.push(r)
    yield* rows.sort((a, b) => a.bucket - b.bucket)
    return
  }
  const q = sql`
    select ${spec.select(sql)}, b
    from (select *, ${sqlBucket(sql, sql`md5(${spec.sqlKey(sql)})`, bits)} as b from ${sql(spec.name)}) x
    where b = any(${buckets}::int[])
    order by b`
  for await (const batch of q.cursor(CURSOR)) {
    for (const raw of batch) {
      const r = hashRow(spec, raw, bits)
      if (r.bucket !== Number(raw.b)) {
        throw new Error(`verify: ${spec.name} key ${JSON.stringify(r.key)} is formatted differently in SQL and in the row mapper (bucket ${raw.b} vs ${r.bucket})`)
      }
      yield r
    }
  }
}

/** The mapped rows of some keys, as canonical values (for showing differences). */
export async function dbRowsByKey(sql: Q, spec: CompareSpec, keys: string[]): Promise<Map<string, (string | null)[]>> {
  const out = new Map<string, (string | null)[]>()
  if (!keys.length) return out
  const rows = await sql`select ${spec.select(sql)} from ${sql(spec.name)} where ${spec.sqlKey(sql)} = any(${keys}::text[])`
  for (const raw of rows) {
    const row = spec.map(raw)
    out.set(spec.key(row), canonRow(spec.cols, row))
  }
  return out
}

export async function dbCount(sql: Q, table: string): Promise<number> {
  const [r] = await sql`select count(*)::bigint::text as n from ${sql(table)}`
  return Number(r!.n)
}
