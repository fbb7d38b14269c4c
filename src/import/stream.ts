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
import { none, isMany, getManyValues } from 'stream-chain/defs.js'
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

async function run(path: string, stages: Stage[], onOut: (x: unknown) => void | Promise<void>, onBytes?: (n: number) => void): Promise<StreamStats> {
  if ((await fileSize(path)) === null) return { exists: false, bytes: 0, items: 0 }
  const tokenizer = jsonParser({ streamValues: false }) as unknown as Stage
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false })
  const out: unknown[] = []
  let bytes = 0
  let items = 0
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
      for (const t of getManyValues(tokens as never) as unknown[]) through(stages, 0, t, out)
    } catch (err) {
      if (err instanceof PrescientError) throw err
      throw new JsonFileError(path, `invalid JSON: ${(err as Error).message.replace(/^Parser (cannot parse input: |has )/, '')}`, where())
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
  await drain()
  return { exists: true, bytes, items }
}

const keyed = (onItem: OnItem) => (x: unknown) => {
  const { key, value } = x as { key: number; value: unknown }
  return onItem(value, key)
}

/** Each element of the top-level array of `path`. A missing file yields nothing. */
export function streamJsonArray(path: string, onItem: OnItem, opts: { onBytes?: (n: number) => void } = {}): Promise<StreamStats> {
  return run(path, [expectTop(path, 'startArray', 'an array'), streamArray() as Stage], keyed(onItem), opts.onBytes)
}

/** Each element of the array under the top-level `key` of an object (e.g. portfolio.json `positions[*]`). */
export function streamJsonArrayAt(path: string, key: string, onItem: OnItem, opts: { onBytes?: (n: number) => void } = {}): Promise<StreamStats> {
  return run(path, [expectTop(path, 'startObject', 'an object'), pick({ filter: key }) as Stage, streamArray() as Stage], keyed(onItem), opts.onBytes)
}

/** The top-level object of `path` without `key` (never assembled); undefined when the file is missing. */
export async function readJsonObjectWithout(path: string, key: string): Promise<Record<string, unknown> | undefined> {
  let value: unknown
  const stats = await run(path, [expectTop(path, 'startObject', 'an object'), ignore({ filter: key }) as Stage, streamValues() as Stage], (x) => {
    value = (x as { value: unknown }).value
  })
  return stats.exists ? (value as Record<string, unknown>) : undefined
}

/** The first token decides the document's shape; anything else is a file-level error. */
function expectTop(path: string, name: string, what: string): Stage {
  let first = true
  return (token) => {
    if (first) {
      first = false
      const got = (token as { name: string }).name
      if (got !== name) throw new JsonFileError(path, `expected ${what} at the top level, got ${got.replace(/^start|Value$/g, '').toLowerCase() || got}`, 'byte 0')
    }
    return token
  }
}
