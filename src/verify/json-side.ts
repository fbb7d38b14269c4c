/**
 * The JSON side of each table: exactly the records `prescient import` reads
 * for it (its readers stream every file element by element, skip superseded
 * archive entries, and read portfolio.json without assembling its positions),
 * validated and normalised by the stores' own schemas. A record that fails
 * validation is reported, not fatal: import rejects it too.
 */
import * as v from 'valibot'
import { join } from 'node:path'
import { streamJsonArray } from '../import/stream.ts'
import { SPECS, type ImportTable, type Rec } from '../import/tables.ts'
import { FILES, SignalSchema, validate } from '../schema/files.ts'
import { formatPath } from '../schema/json-text.ts'
import { SEP } from './canon.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

export interface JsonSink {
  /** a valid record, normalised; `index` counts valid records in reading order */
  row(row: Obj, index: number): void
  invalid(where: string, reason: string): void
}

class Stop extends Error {}

/** Where a record sits, for people: "trades/paper_trades.json $[12]". */
export const whereOf = (rec: Rec) => `${rec.file} ${formatPath(rec.keys)}`

function reasonOf(schema: v.GenericSchema, value: unknown, fallback: string): string {
  try {
    validate(schema, value, '')
  } catch (err) {
    return (err as Error).message.trim() // the stores' own wording: "$.amount: must not be negative, got -1"
  }
  return fallback
}

/**
 * Every current signal is also in the newest archive entry, and the current
 * file wins the clash: skip those archive copies up front, so that the digests
 * of an equal table are equal (a duplicate would send its bucket to a recheck).
 */
async function supersededBySignalsFile(dataDir: string): Promise<(row: Obj, rec: Rec) => boolean> {
  const keys = new Set<string>()
  await streamJsonArray(join(dataDir, FILES.signals.rel), (el) => {
    const r = v.safeParse(SignalSchema, el, { abortPipeEarly: true })
    if (r.success) keys.add(`${r.output.market_id}${SEP}${r.output.timestamp}`)
  })
  return (row, rec) => rec.file !== FILES.signals.rel && keys.has(`${row.market_id}${SEP}${row.timestamp}`)
}

/**
 * Feed every JSON record of `table` to the sink. `until` stops the read early
 * once it returns true (checked after each valid row).
 */
export async function readJsonSide(table: ImportTable, dataDir: string, sink: JsonSink, until?: () => boolean): Promise<void> {
  const spec = SPECS[table]
  const skip = table === 'trading_signals' ? await supersededBySignalsFile(dataDir) : null
  let index = 0
  try {
    await spec.read(await spec.sources(dataDir), (rec) => {
      if (rec.problem) return sink.invalid(whereOf(rec), rec.problem)
      const r = v.safeParse(spec.schema, rec.value, { abortPipeEarly: true })
      if (!r.success) return sink.invalid(whereOf(rec), reasonOf(spec.schema, rec.value, r.issues[0].message))
      if (skip?.(r.output as Obj, rec)) return
      sink.row(r.output as Obj, index++)
      if (until?.()) throw new Stop()
    })
  } catch (err) {
    if (!(err instanceof Stop)) throw err
  }
}
