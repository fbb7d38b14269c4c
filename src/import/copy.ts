/**
 * COPY ... FROM STDIN helpers: rows encoded in COPY text format, written with
 * backpressure, and guarded against postgres.js #1173 (a COPY that PostgreSQL
 * rejects near its end never settles the stream and leaves the transaction
 * "idle in transaction (aborted)"). Three guards:
 *  1. the driver hands the server's error to the query's `reject`, which is a
 *     no-op once the query resolved to the stream; we wrap it to hear it;
 *  2. every MB we yield to the event loop so that error is read mid-stream;
 *  3. a watchdog: no progress for `stallMs` while waiting on the server ->
 *     destroy the stream and end the (dedicated) connection.
 */
import type { Writable } from 'node:stream'
import type { Q } from '../db/client.ts'
import { Exit, PrescientError } from '../errors.ts'

const BACKSLASH = /[\\\t\n\r]/
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** One field in COPY text format: \N for null, backslash, tab, newline and CR escaped. */
export function copyField(x: unknown): string {
  if (x === null || x === undefined) return '\\N'
  if (typeof x === 'string') return BACKSLASH.test(x) ? x.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : x
  if (typeof x === 'number') return String(x)
  if (typeof x === 'boolean') return x ? 't' : 'f'
  if (typeof x === 'bigint') return x.toString()
  return copyField(JSON.stringify(x))
}

/** One row (tab-separated fields, newline-terminated). */
export function copyLine(values: readonly unknown[]): string {
  let s = copyField(values[0])
  for (let i = 1; i < values.length; i++) s += '\t' + copyField(values[i])
  return s + '\n'
}

export interface CopyOptions {
  /** no server progress for this long while we wait on it -> give up (default 60 s) */
  stallMs?: number
  /** called on a stall, after the stream is destroyed: end the connection so no session is left behind */
  onStall?: () => unknown
}

const CHUNK = 1 << 16
const YIELD_EVERY = 1 << 20
const tick = () => new Promise<void>((r) => setImmediate(r))

/** A COPY in progress. `push` buffers rows and returns a promise only when the caller must wait. */
export class CopyWriter {
  rows = 0
  bytes = 0
  /** the first failure seen (server error, stream error, stall); the caller prefers it over rollback noise */
  failure: Error | undefined
  private buf = ''
  private sinceYield = 0
  private lastProgress = Date.now()
  private waiting = false
  private finished = false
  private closed = false
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly failed: Promise<never>
  private rejectFailed!: (e: Error) => void

  private constructor(
    private readonly stream: Writable,
    private readonly label: string,
    private readonly stallMs: number,
    private readonly onStall?: () => unknown,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject))
    this.failed.catch(() => {})
    stream.on('error', (e) => this.fail(e))
    stream.on('finish', () => (this.finished = true))
    stream.on('close', () => this.finished || this.fail(new Error('the COPY stream closed before PostgreSQL confirmed it')))
    this.timer = setInterval(() => this.watch(), Math.min(1000, Math.max(50, this.stallMs / 4)))
  }

  static async open(tx: Q, table: string, columns: readonly string[], opts: CopyOptions = {}): Promise<CopyWriter> {
    const query = tx`copy ${tx(table)} (${tx(columns as string[])}) from stdin` as unknown as { reject: (e: unknown) => unknown; writable(): Promise<Writable> }
    let writer: CopyWriter | undefined
    let early: Error | undefined
    const reject = query.reject
    query.reject = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e))
      if (writer) writer.fail(err)
      else early = err
      return reject(e)
    }
    const stream = await query.writable()
    writer = new CopyWriter(stream, table, opts.stallMs ?? 60_000, opts.onStall)
    if (early) writer.fail(early)
    return writer
  }

  private fail(e: Error): void {
    if (this.failure || this.closed) return
    this.failure = e
    this.rejectFailed(e)
  }

  private watch(): void {
    if (this.failure || !this.waiting || Date.now() - this.lastProgress < this.stallMs) return
    this.fail(
      new PrescientError(
        `COPY into ${this.label} made no progress for ${Math.round(this.stallMs / 1000)} s; the connection was closed, so PostgreSQL rolled the transaction back`,
        Exit.runtime,
        'check the server (locks held by other sessions: pg_stat_activity) and run the import again',
      ),
    )
    this.stream.destroy()
    void Promise.resolve(this.onStall?.()).catch(() => {})
  }

  /** Wait for `p`, the server's error, or the watchdog, whichever comes first. */
  private async wait<T>(p: Promise<T>): Promise<T> {
    this.waiting = true
    this.lastProgress = Date.now()
    try {
      return await Promise.race([p, this.failed])
    } finally {
      this.waiting = false
      this.lastProgress = Date.now()
    }
  }

  push(line: string): void | Promise<void> {
    this.rows++
    this.buf += line
    if (this.buf.length >= CHUNK) return this.flush()
  }

  private flush(): void | Promise<void> {
    if (this.failure) throw this.failure
    const chunk = this.buf
    this.buf = ''
    if (!chunk) return
    this.bytes += chunk.length
    this.sinceYield += chunk.length
    const ok = this.stream.write(chunk)
    this.lastProgress = Date.now()
    if (!ok) return this.wait(new Promise<void>((r) => this.stream.once('drain', r))).then(() => this.afterWait())
    if (this.sinceYield >= YIELD_EVERY) {
      this.sinceYield = 0
      return tick().then(() => this.afterWait())
    }
  }

  private afterWait(): void {
    if (this.failure) throw this.failure
  }

  /** Send the rest and wait until PostgreSQL confirms the COPY (or reports why not). */
  async end(): Promise<void> {
    try {
      await this.flush()
      const finished = new Promise<void>((r) => this.stream.once('finish', r))
      this.stream.end()
      await this.wait(finished)
      if (this.failure) throw this.failure
    } finally {
      this.close()
    }
  }

  /**
   * Stop the watchdog; a COPY that did not finish is cancelled (the driver sends CopyFail),
   * so the server leaves COPY mode and the transaction's ROLLBACK can run.
   */
  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.closed = true
    if (!this.finished && !this.stream.destroyed) this.stream.destroy(new Error('import cancelled'))
  }
}
