/**
 * One table, JSON against PostgreSQL, in bounded memory (segment hashing, as
 * data-diff and pg_comparator do):
 *   1. rows are spread over 2^bits buckets by the md5 of their natural key;
 *   2. both sides digest each bucket (count + sums of the rows' md5 words):
 *      PostgreSQL in one scan while the JSON file streams (the JSON side also
 *      keeps 16 bytes per row);
 *   3. only buckets whose digests differ are compared row by row: PostgreSQL
 *      streams their rows in bucket order, the JSON side has their hashes;
 *   4. only the first N differences (earliest in the JSON file) are read back
 *      in full, to show their columns.
 */
import type { Q } from '../db/client.ts'
import { bucketOf, canonRow, firstJsonDifference, md5Words, rowTextOf } from './canon.ts'
import { dbCount, dbDigest, dbRowsByKey, dbRowsIn } from './db-side.ts'
import { Digest, HashLog } from './digest.ts'
import { readJsonSide } from './json-side.ts'
import { showKey, type CompareSpec } from './tables.ts'

export type DifferenceKind = 'missing in DB' | 'missing in JSON' | 'differs' | 'duplicate in JSON' | 'invalid in JSON'

export interface Difference {
  key: string
  kind: DifferenceKind
  /** the differing column ('differs' only) */
  column: string | null
  json: string | null
  db: string | null
  /** JSONB columns: the first path where the documents differ, and the values there */
  at?: { path: string; json: string; db: string }
}

export interface TableCounts {
  json: number
  db: number
  missing_in_db: number
  missing_in_json: number
  differing: number
  duplicates_in_json: number
  /** records that fail the file schema (import rejects them; they are in no count above) */
  invalid_in_json: number
  /** buckets compared row by row (how much of the table the digests ruled out) */
  buckets_rechecked: number
  buckets: number
}

export interface CompareResult extends TableCounts {
  differences: Difference[]
}

/** Keep the `limit` items with the smallest `by` (the earliest in the file: the examples pass can stop there). */
function keepFirst<T>(list: T[], item: T, limit: number, by: (x: T) => number): void {
  list.push(item)
  if (list.length > 4 * limit + 16) {
    list.sort((a, b) => by(a) - by(b))
    list.length = limit
  }
}
const settle = <T>(list: T[], limit: number, by: (x: T) => number) => list.sort((a, b) => by(a) - by(b)).slice(0, limit)

/** About 32 rows per bucket, at most 65,536 buckets (16 bits of the key's md5). */
export const bitsFor = (rows: number) => Math.max(0, Math.min(16, Math.ceil(Math.log2(Math.max(1, rows) / 32))))

export async function compareTable(sql: Q, spec: CompareSpec, dataDir: string, limit: number): Promise<CompareResult> {
  const bits = bitsFor(await dbCount(sql, spec.name))
  const dbSide = dbDigest(sql, spec, bits)
  dbSide.catch(() => {}) // awaited below; a JSON error must not leave it unhandled

  // Pass 1: stream the JSON rows while PostgreSQL digests its own.
  const json = new Digest(bits)
  const log = new HashLog()
  const invalid: Difference[] = []
  let invalidCount = 0
  await readJsonSide(spec.name, dataDir, {
    row(row) {
      const [k1, k2] = md5Words(spec.key(row))
      const [r1, r2] = md5Words(rowTextOf(spec.cols, row))
      log.push(k1, k2, r1, r2)
      json.add(bucketOf(k1, bits), r1, r2)
    },
    invalid(where, reason) {
      if (invalidCount++ < limit) invalid.push({ key: where, kind: 'invalid in JSON', column: null, json: reason, db: null })
    },
  })
  const db = await dbSide
  const differing = json.differing(db)
  const counts: TableCounts = {
    json: log.length, db: db.total(), missing_in_db: 0, missing_in_json: 0, differing: 0, duplicates_in_json: 0,
    invalid_in_json: invalidCount, buckets_rechecked: differing.length, buckets: json.size,
  }
  if (!differing.length) return { ...counts, differences: invalid }

  // Pass 2: the differing buckets, row by row, merged in bucket order.
  const groups = log.groupBy((k1) => bucketOf(k1, bits), differing, json.size)
  const ex = { differs: [] as { key: string; idx: number }[], missingInJson: [] as string[], missingInDb: [] as number[], dupes: [] as number[] }
  const pending = new Map<string, number>()
  const open = (b: number) => {
    pending.clear()
    for (const idx of groups.get(b)!) {
      const h = `${log.k1[idx]}:${log.k2[idx]}`
      if (pending.has(h)) {
        counts.json--
        if (spec.keep === 'last') pending.set(h, idx)
        else {
          counts.duplicates_in_json++
          keepFirst(ex.dupes, idx, limit, Number)
        }
      } else pending.set(h, idx)
    }
  }
  const close = () => {
    for (const idx of pending.values()) {
      counts.missing_in_db++
      keepFirst(ex.missingInDb, idx, limit, Number)
    }
    pending.clear()
  }
  let next = 0
  for await (const r of dbRowsIn(sql, spec, bits, differing)) {
    while (next < differing.length && differing[next]! <= r.bucket) {
      if (next) close()
      open(differing[next++]!)
    }
    const h = `${r.k1}:${r.k2}`
    const idx = pending.get(h)
    if (idx === undefined) {
      counts.missing_in_json++
      if (ex.missingInJson.length < limit) ex.missingInJson.push(r.key)
      continue
    }
    pending.delete(h)
    if (log.r1[idx] !== r.r1 || log.r2[idx] !== r.r2) {
      counts.differing++
      keepFirst(ex.differs, { key: r.key, idx }, limit, (d) => d.idx)
    }
  }
  if (next) close()
  while (next < differing.length) {
    open(differing[next++]!)
    close()
  }

  ex.differs = settle(ex.differs, limit, (d) => d.idx)
  ex.missingInDb = settle(ex.missingInDb, limit, Number)
  ex.dupes = settle(ex.dupes, limit, Number)
  return { ...counts, differences: [...(await examples(sql, spec, dataDir, ex, limit)), ...invalid].slice(0, limit) }
}

/** Read back the example rows (one more JSON pass, one keyed query) and list their differences. */
async function examples(
  sql: Q,
  spec: CompareSpec,
  dataDir: string,
  ex: { differs: { key: string; idx: number }[]; missingInJson: string[]; missingInDb: number[]; dupes: number[] },
  limit: number,
): Promise<Difference[]> {
  const wanted = new Set([...ex.differs.map((d) => d.idx), ...ex.missingInDb, ...ex.dupes])
  const jsonRows = new Map<number, { key: string; values: (string | null)[] }>()
  if (wanted.size) {
    const sink = {
      row(row: Record<string, unknown>, i: number) {
        if (wanted.has(i)) jsonRows.set(i, { key: spec.key(row), values: canonRow(spec.cols, row) })
      },
      invalid() {},
    }
    await readJsonSide(spec.name, dataDir, sink, () => jsonRows.size === wanted.size)
  }
  const dbRows = await dbRowsByKey(sql, spec, ex.differs.map((d) => d.key))
  const out: Difference[] = []
  for (const d of ex.differs) {
    const j = jsonRows.get(d.idx)?.values
    const b = dbRows.get(d.key)
    if (!j || !b) continue
    spec.cols.forEach((c, i) => {
      if (j[i] === b[i]) return
      const diff: Difference = { key: showKey(d.key), kind: 'differs', column: c.name, json: j[i] ?? null, db: b[i] ?? null }
      const at = c.type === 'json' ? firstJsonDifference(diff.json, diff.db) : null
      out.push(at ? { ...diff, at: { path: at.path, json: at.a, db: at.b } } : diff)
    })
  }
  for (const idx of ex.missingInDb) {
    const j = jsonRows.get(idx)
    if (j) out.push({ key: showKey(j.key), kind: 'missing in DB', column: null, json: 'row', db: null })
  }
  for (const key of ex.missingInJson) out.push({ key: showKey(key), kind: 'missing in JSON', column: null, json: null, db: 'row' })
  for (const idx of ex.dupes) {
    const j = jsonRows.get(idx)
    if (j) out.push({ key: showKey(j.key), kind: 'duplicate in JSON', column: null, json: 'row', db: null })
  }
  const rank = (k: Difference['kind']) => ['differs', 'missing in DB', 'missing in JSON', 'duplicate in JSON', 'invalid in JSON'].indexOf(k)
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : rank(a.kind) - rank(b.kind)))
  return out.slice(0, limit)
}
