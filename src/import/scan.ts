/**
 * Read one table's records, validate each with the stores' own schema plus the
 * column checks, drop duplicates by the file's rule, and hand every good row to
 * a sink as a COPY text line. Every bad record becomes a reject; none stops
 * the scan. The scan is the same for a real import and a dry run.
 */
import * as v from 'valibot'
import { FILES, validate } from '../schema/files.ts'
import { formatPath } from '../schema/json-text.ts'
import { columnProblem } from './columns.ts'
import { copyLine } from './copy.ts'
import { KeySet } from './keyset.ts'
import type { RejectLog } from './rejects.ts'
import type { ImportTable, OnBytes, Rec, Source, TableSpec } from './tables.ts'

const OPTS = { abortPipeEarly: true } as const

export interface TableCounts {
  table: ImportTable
  read: number
  /** rows handed to the sink */
  valid: number
  rejected: number
}

export interface ScanResult {
  /** keys of rejected records of a mirror table: never deleted because of a bad record */
  protectedKeys: string[]
  /** trading_signals: the keys of current_signals.json in file order */
  currentKeys: [string, string][]
}

export interface ScanCtx {
  rejects: RejectLog
  onBytes?: OnBytes
  /** test-only: send records to PostgreSQL as they are, to prove the failed-COPY path */
  skipValidation?: boolean
}

type Suspect = { rec: Rec; out: unknown; row: unknown[]; key: string }
type Checked = { ok: true; out: unknown; row: unknown[] } | { ok: false; keys: (string | number)[]; reason: string }

/** The record's validated output and row, or where and why it is bad. */
function check(spec: TableSpec, value: unknown, skip = false): Checked {
  if (skip) return { ok: true, out: value, row: spec.row(value) }
  const r = v.safeParse(spec.schema, value, OPTS)
  if (!r.success) {
    const keys = (r.issues[0].path ?? []).map((p) => p.key as string | number)
    let msg = r.issues[0].message
    try {
      validate(spec.schema, value, '')
    } catch (err) {
      msg = (err as Error).message.trim() // the stores' own wording: "$.amount: must not be negative, got -1"
    }
    const rel = formatPath(keys)
    return { ok: false, keys, reason: msg.startsWith(`${rel}: `) ? msg.slice(rel.length + 2) : msg }
  }
  const row = spec.row(r.output)
  for (let i = 0; i < row.length; i++) {
    const col = spec.columns[i]!
    const problem = columnProblem(col, row[i])
    if (problem) return { ok: false, keys: [spec.fields?.[col.name] ?? col.name], reason: problem }
  }
  return { ok: true, out: r.output, row }
}

const recId = (rec: Rec) => `${rec.file} ${formatPath(rec.keys)}`
const firstIndex = (keys: Rec['keys']) => (keys.find((k) => typeof k === 'number') as number | undefined) ?? null

/** keep 'last': key -> the last valid record carrying it (a first pass over the files). */
async function lastWinners(spec: TableSpec, sources: Source[]): Promise<Map<string, string>> {
  const winners = new Map<string, string>()
  await spec.read(sources, (rec) => {
    if (rec.problem) return
    const c = check(spec, rec.value)
    if (c.ok) winners.set(spec.keyOf(c.out), recId(rec))
  })
  return winners
}

export async function scan(
  ctx: ScanCtx,
  spec: TableSpec,
  sources: Source[],
  counts: TableCounts,
  /** null in a dry run: count only */
  sink: ((line: string) => void | Promise<void>) | null,
  staged: boolean,
): Promise<ScanResult> {
  const winners = spec.keep === 'last' && !ctx.skipValidation ? await lastWinners(spec, sources) : undefined
  const seen = new KeySet()
  const suspects: Suspect[] = []
  const result: ScanResult = { protectedKeys: [], currentKeys: [] }
  const keyCol = spec.key[0]!

  const reject = (rec: Rec, keys: Rec['keys'], reason: string) => {
    counts.rejected++
    const k = (rec.value as Record<string, unknown> | null)?.[keyCol]
    if (spec.mirror && typeof k === 'string') result.protectedKeys.push(k)
    return ctx.rejects.add({ table: spec.table, file: rec.file, index: firstIndex(rec.keys), path: formatPath(keys), reason, value: rec.value })
  }

  const handle = (rec: Rec): void | Promise<void> => {
    counts.read++
    if (rec.problem) return reject(rec, rec.keys, rec.problem)
    const c = check(spec, rec.value, ctx.skipValidation)
    if (!c.ok) return reject(rec, [...rec.keys, ...c.keys], c.reason)
    if (winners || rec.unique) {
      const key = spec.keyOf(c.out)
      if (winners) {
        const w = winners.get(key)
        if (w !== undefined && w !== recId(rec)) {
          return reject(rec, rec.keys, `superseded by a later record with the same ${spec.keyName} ${JSON.stringify(key)} (${w}): the last one wins, as in the JSON store`)
        }
      } else if (!seen.add(key)) {
        // maybe a duplicate, maybe two keys with one hash: settled after the pass
        suspects.push({ rec, out: c.out, row: c.row, key })
        return
      }
    }
    return accept(rec, c.out, c.row)
  }

  const accept = (rec: Rec, out: unknown, row: unknown[]): void | Promise<void> => {
    if (spec.table === 'trading_signals' && rec.file === FILES.signals.rel) {
      const s = out as { market_id: string; timestamp: string }
      result.currentKeys.push([s.market_id, s.timestamp])
    }
    counts.valid++
    if (sink) return sink(copyLine(staged ? [...row, rec.ord ?? 0n, `${rec.file}\t${formatPath(rec.keys)}`] : row))
  }

  await spec.read(sources, handle, ctx.onBytes)
  if (suspects.length) await settle(spec, sources, suspects, reject, accept)
  return result
}

/** Second pass, only when the key set had hits: the first valid record of each suspect key is the one kept. */
async function settle(
  spec: TableSpec,
  sources: Source[],
  suspects: Suspect[],
  reject: (rec: Rec, keys: Rec['keys'], reason: string) => void | Promise<void>,
  accept: (rec: Rec, out: unknown, row: unknown[]) => void | Promise<void>,
): Promise<void> {
  const keys = new Set(suspects.map((s) => s.key))
  const first = new Map<string, Rec>()
  await spec.read(sources, (rec) => {
    if (!rec.unique || rec.problem) return
    const c = check(spec, rec.value)
    if (!c.ok) return
    const k = spec.keyOf(c.out)
    if (keys.has(k) && !first.has(k)) first.set(k, rec)
  })
  for (const s of suspects) {
    const f = first.get(s.key)!
    const p =
      recId(f) === recId(s.rec)
        ? accept(s.rec, s.out, s.row)
        : reject(s.rec, s.rec.keys, `duplicate ${spec.keyName} ${JSON.stringify(s.key)} (first at ${formatPath(f.keys)}); the first is kept`)
    if (p) await p
  }
}
