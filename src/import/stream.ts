/**
 * Streaming JSON readers over stream-json's core (stream-free) tokenizer and
 * streamers: a file is read in 64 KB chunks and array elements are handed over
 * one at a time, so a 600 MB paper_trades.json never exists in memory whole.
 * `onItem` may return a promise: reading waits for it (backpressure from COPY).
 * Reused by `import` and `verify`.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { jsonParser } from 'stream-json/core/parser.js'
import { streamArray } from 'stream-json/core/streamers/stream-array.js'
import { streamValues } from 'stream-json/core/streamers/stream-values.js'
import { pick } from 'stream-json/core/filters/pick.js'
import { ignore } from 'stream-json/core/filters/ignore.js'
import { none, isFlushable, isMany, getManyValues } from 'stream-chain/defs.js'
import { Exit, PrescientError } from '../errors.ts'

export type OnItem<T = unknown> = (value: T, index: number) => void | Promise<void>

export interface StreamStats {
  /** false when the file does not exist (the stores read that as the empty state) */
  exists: boolean
  bytes: number
  items: number
}

type Stage = (token: unknown) => unknown

/** A file that is not JSON, or not the shape expected (a file-level problem, not a bad record). */
export class JsonFileError extends PrescientError {
  constructor(path: string, reason: string, where: string) {
    super(`${path}: ${reason} (${where})`, Exit.usage, 'fix the file or restore it from a backup, then run the import again')
    this.name = 'JsonFileError'
  }
}

export async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path)
    if (s.isDirectory()) throw new JsonFileError(path, 'is a directory, expected a JSON file', 'path')
    return s.size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** Push one value through the remaining stages; collect what falls out of the last one. */
function through(stages: Stage[], from: number, value: unknown, out: unknown[]): void {
  if (from === stages.length) return void out.push(value)
  const r = stages[from]!(value)
  if (r === none || r === undefined) return
  if (isMany(r)) for (const v of getManyValues(r)) through(stages, from + 1, v, out)
  else through(stages, from + 1, r, out)
}

/** The document's top-level token must be `top` (startArray / startObject); anything else is a file-level error. */
async function run(path: string, top: 'startArray' | 'startObject', stages: Stage[], onOut: (x: unknown) => void | Promise<void>, onBytes?: (n: number) => void): Promise<StreamStats> {
  if ((await fileSize(path)) === null) return { exists: false, bytes: 0, items: 0 }
  const tokenizer = jsonParser({ streamValues: false }) as unknown as Stage
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false })
  const out: unknown[] = []
  let bytes = 0
  let items = 0
  let checked = false
  const where = () => `after ${items} item(s), near byte ${bytes}`
  const drain = async () => {
    for (const x of out) {
      items++
      const p = onOut(x)
      if (p) await p
    }
    out.length = 0
  }
  // Only tokenizer and streamer errors are the file's fault; onOut's own errors (COPY) pass through.
  const step = (input: unknown) => {
    try {
      const tokens = tokenizer(input)
      if (tokens === none) return
      const list = getManyValues(tokens as never) as unknown[]
      if (!checked && list.length) {
        checked = true
        const got = (list[0] as { name: string }).name
        if (got !== top) throw new JsonFileError(path, `expected ${top === 'startArray' ? 'an array' : 'an object'} at the top level, got ${got.replace(/^start|Value$/g, '').toLowerCase() || got}`, 'byte 0')
      }
      for (const t of list) through(stages, 0, t, out)
    } catch (err) {
      if (err instanceof PrescientError) throw err
      const msg = (err as Error).message
      // streamArray's words for `"positions": 5` and the like
      if (/should be an array/.test(msg)) throw new JsonFileError(path, 'expected an array', where())
      throw new JsonFileError(path, `invalid JSON: ${msg.replace(/^Parser (cannot parse input: |has )/, '')}`, where())
    }
  }
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 })) {
    bytes += (chunk as Buffer).length
    onBytes?.((chunk as Buffer).length)
    const text = decoder.decode(chunk as Buffer, { stream: true })
    if (text) step(text)
    await drain()
  }
  const rest = decoder.decode()
  if (rest) step(rest)
  if (bytes === 0) throw new JsonFileError(path, 'the file is empty', 'byte 0')
  step(none) // flush: a truncated document fails here
  // Filters hold their last token until flushed (ignore() keeps the closing brace).
  for (const [i, stage] of stages.entries()) {
    if (!isFlushable(stage)) continue
    const r = stage(none)
    if (r === none || r === undefined) continue
    for (const x of isMany(r) ? getManyValues(r) : [r]) through(stages, i + 1, x, out)
  }
  await drain()
  return { exists: true, bytes, items }
}

const keyed = (onItem: OnItem) => (x: unknown) => {
  const { key, value } = x as { key: number; value: unknown }
  return onItem(value, key)
}

/** Each element of the top-level array of `path`. A missing file yields nothing. */
export function streamJsonArray(path: string, onItem: OnItem, opts: { onBytes?: (n: number) => void } = {}): Promise<StreamStats> {
  return run(path, 'startArray', [streamArray() as Stage], keyed(onItem), opts.onBytes)
}

/** Each element of the array under the top-level `key` of an object (e.g. portfolio.json `positions[*]`). */
export function streamJsonArrayAt(path: string, key: string, onItem: OnItem, opts: { onBytes?: (n: number) => void } = {}): Promise<StreamStats> {
  return run(path, 'startObject', [pick({ filter: key }) as Stage, streamArray() as Stage], keyed(onItem), opts.onBytes)
}

/** The top-level object of `path` without `key` (which is never assembled); value is undefined when the file is missing. */
export async function readJsonObjectWithout(path: string, key: string): Promise<{ value: Record<string, unknown> | undefined; stats: StreamStats }> {
  let value: Record<string, unknown> | undefined
  const stats = await run(path, 'startObject', [ignore({ filter: key }) as Stage, streamValues() as Stage], (x) => {
    value = (x as { value: Record<string, unknown> }).value
  })
  return { value, stats: { ...stats, items: value ? 1 : 0 } }
}
