/**
 * The native json format: gzip'd JSON Lines, written and read as streams so
 * memory stays bounded whatever the table sizes, and needing no PostgreSQL
 * client tools.
 *
 *   {"format":"prescient-jsonl","version":2,"schema_version":2,...,"tables":[...]}   header
 *   {"table":"trades","columns":["id",...],"types":["integer",...]}                   one per table
 *   ["1","t-1","2026-01-10 12:00:00+00","540816",null,...]                             one per row
 *   {"end":true,"rows":{"trades":123,...}}                                             trailer
 *
 * A row holds each column's PostgreSQL text output (what COPY and psql print,
 * under the dump settings: ISO dates, UTC) as a JSON string, and null for NULL:
 * numerics keep their digits, and a restore casts the text back with the type's
 * own input function, so nothing is re-typed by JavaScript. Version 1 rows were
 * json_build_array output (numbers and nested jsonb); they are still read.
 *
 * The file is a series of gzip members, one per ~1 MiB of text, which every gzip
 * reader (gzip, 7-Zip, Python, zlib) reads as one stream.
 */
import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { DbConfig } from '../config.ts'
import { connect, type Q } from '../db/client.ts'
import { Exit, PrescientError } from '../errors.ts'
import { copyField, CopyWriter } from '../import/copy.ts'
import { quoteLiteral } from '../setup.ts'
import { finishHash, RowHashSum, setDumpSettings, type TableInfo, type TableStat } from './catalog.ts'
import { copyRowsToJson, CopyEscapeError, MAX_EXPANSION } from './copytext.ts'

export const JSONL_FORMAT = 'prescient-jsonl'
export const JSONL_VERSION = 2
const READABLE_VERSIONS = [1, 2]
/** libdeflate level 1: as fast as zlib's level 1 and a quarter smaller (zlib level 6 is 3x slower) */
const GZIP = { level: 1, library: 'libdeflate' } as const
/** text gathered before it is compressed as one gzip member */
const MEMBER_BYTES = 1 << 20

export interface JsonDumpResult {
  stats: Record<string, TableStat>
  sha256: string
  bytes: number
}

/** `pg_export_snapshot()` ids look like 00000003-0000001B-1; anything else is not spliced into SQL. */
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i

/**
 * One table's rows as COPY text, streamed on a short-lived connection that
 * imports the dump's snapshot; `onRows` gets whole lines and works synchronously,
 * so the socket is read no faster than the rows are converted and written (the
 * server waits on TCP) and memory stays bounded. A 'data' handler rather than an
 * async iterator: PostgreSQL sends one message per row, and a promise per row
 * cost a tenth of the dump's time. The connection is closed afterwards rather
 * than reused: postgres.js can leave the socket paused after a COPY TO STDOUT
 * whose last chunk met backpressure (porsager/postgres#1016), and the next query
 * on it would never return.
 */
async function copyTable(db: DbConfig, snapshot: string, t: TableInfo, onRows: (lines: Uint8Array) => void): Promise<void> {
  if (!SNAPSHOT_ID.test(snapshot)) throw new PrescientError(`unexpected snapshot id ${JSON.stringify(snapshot)}`, Exit.runtime)
  const c = connect(db, { max: 1 })
  try {
    await c`begin isolation level repeatable read read only`
    await c.unsafe(`set transaction snapshot ${quoteLiteral(snapshot)}`)
    await setDumpSettings(c)
    const stream = (await c`copy ${c(t.name)} (${c(t.columns)}) to stdout`.readable()) as Readable
    let carry: Buffer | undefined
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        try {
          const buf = carry ? Buffer.concat([carry, chunk]) : chunk
          const last = buf.lastIndexOf(10)
          if (last === -1) {
            carry = Buffer.from(buf)
            return
          }
          carry = last + 1 < buf.length ? Buffer.from(buf.subarray(last + 1)) : undefined
          onRows(buf.subarray(0, last + 1))
        } catch (err) {
          stream.destroy()
          reject(err)
        }
      })
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    if (carry?.length) throw new PrescientError(`COPY of ${t.name} ended in the middle of a row`, Exit.runtime)
  } finally {
    await c.end({ timeout: 0 }).catch(() => {})
  }
}

/** JSON text gathered in one growing buffer and written as gzip members, hashing what reaches the file. */
class GzipMembers {
  private buf = Buffer.allocUnsafe(4 * MEMBER_BYTES)
  private j = 0
  private readonly sha = new Bun.CryptoHasher('sha256')
  bytes = 0

  constructor(private readonly fd: number) {}

  /** Room for `n` more bytes; returns the buffer to write into at `this.end`. */
  room(n: number): Buffer {
    if (this.j + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.j + n))
      this.buf.copy(bigger, 0, 0, this.j)
      this.buf = bigger
    }
    return this.buf
  }

  get end(): number {
    return this.j
  }

  set end(j: number) {
    this.j = j
  }

  line(obj: unknown): void {
    const text = JSON.stringify(obj) + '\n'
    const n = Buffer.byteLength(text)
    this.j += this.room(n).write(text, this.j)
  }

  flushIfFull(): void {
    if (this.j >= MEMBER_BYTES) this.flush()
  }

  /** Compress and write what is gathered (synchronously: 1 MiB of text, a few ms). */
  flush(): void {
    if (!this.j) return
    const z = Bun.gzipSync(this.buf.subarray(0, this.j), GZIP)
    this.j = 0
    // a very large row (a big jsonb) grew the buffer: give that memory back
    if (this.buf.length > 16 * MEMBER_BYTES) this.buf = Buffer.allocUnsafe(4 * MEMBER_BYTES)
    this.sha.update(z)
    this.bytes += z.length
    for (let off = 0; off < z.length; ) off += writeSync(this.fd, z, off)
  }

  digest(): string {
    return this.sha.digest('hex')
  }
}

/** Stream every table into `path` (created exclusively), hashing each row as it passes. */
export async function writeJsonDump(db: DbConfig, snapshot: string, tables: readonly TableInfo[], path: string, header: Record<string, unknown>): Promise<JsonDumpResult> {
  const fd = openSync(path, 'wx')
  try {
    const out = new GzipMembers(fd)
    const stats: Record<string, TableStat> = {}
    out.line({ format: JSONL_FORMAT, version: JSONL_VERSION, ...header, tables: tables.map((t) => t.name) })
    for (const t of tables) {
      out.line({ table: t.name, columns: t.columns, types: t.types })
      const sum = new RowHashSum()
      await copyTable(db, snapshot, t, (lines) => {
        try {
          out.end = copyRowsToJson(lines, out.room(MAX_EXPANSION * lines.length + 2), out.end, sum)
        } catch (err) {
          if (err instanceof CopyEscapeError) throw new PrescientError(`COPY of ${t.name}: ${err.message}`, Exit.runtime)
          throw err
        }
        out.flushIfFull()
      })
      stats[t.name] = { rows: sum.rows, hash: finishHash(sum.rows, sum.sum) }
    }
    out.line({ end: true, rows: Object.fromEntries(Object.entries(stats).map(([k, s]) => [k, s.rows])) })
    out.flush()
    fsyncSync(fd)
    return { stats, sha256: out.digest(), bytes: out.bytes }
  } finally {
    closeSync(fd)
  }
}

const bad = (file: string, why: string) => new PrescientError(`${file} is not a readable prescient json dump: ${why}`, Exit.runtime)

/**
 * The SQL for column `c`, element `i` of the row's array. Version 2 holds the
 * column's text output: cast with the type's input function (its own modifier,
 * e.g. varchar(255), is enforced by the insert). Version 1 held json_build_array
 * output: jsonb nested as is, where JSON null is SQL NULL except in a NOT NULL
 * jsonb column, and json read from the line itself (jsonb would normalise it).
 * The type goes in as a quoted identifier ("pg_catalog"."int4"), like any other name.
 */
function valueOf(tx: Q, t: TableInfo, c: string, i: number, version: number) {
  const k = t.columns.indexOf(c)
  const type = t.castTypes[k]!
  if (version === 1 && type === 'pg_catalog.jsonb') return t.notNull[k] ? tx`p._prescient_j -> ${i}::int` : tx`nullif(p._prescient_j -> ${i}::int, 'null'::jsonb)`
  if (version === 1 && type === 'pg_catalog.json') return tx`nullif((st._prescient_line::json -> ${i}::int)::text, 'null')::json`
  return tx`(p._prescient_j ->> ${i}::int)::${tx(type)}`
}

interface Section {
  table: TableInfo
  columns: string[]
  rows: number
  writer: CopyWriter
}

export interface LoadOptions {
  /** the schema version the header must carry (the manifest's) */
  schemaVersion: number
  /** called when a COPY stalls, after its stream is destroyed: end the connection */
  onStall?: () => unknown
}

/**
 * Load a json dump into empty tables, inside the caller's transaction: each
 * table's rows go by COPY into a temp table as text, then one INSERT ... SELECT
 * casts convert them on the server. Returns rows per table.
 */
export async function loadJsonDump(tx: Q, file: string, tables: readonly TableInfo[], opts: LoadOptions): Promise<Record<string, number>> {
  const byName = new Map(tables.map((t) => [t.name, t]))
  await tx`create temp table _prescient_stage (_prescient_line text) on commit drop`
  const loaded: Record<string, number> = {}
  let section: Section | undefined
  let header = false
  let version = JSONL_VERSION
  let ended = false
  let lineNo = 0

  const finish = async () => {
    if (!section) return
    const s = section
    section = undefined
    await s.writer.end()
    const r = await tx`
      insert into ${tx(s.table.name)} (${tx(s.columns)})
      select ${s.columns.map((c, i) => valueOf(tx, s.table, c, i, version)).reduce((a, b) => tx`${a}, ${b}`)}
      from _prescient_stage st
      cross join lateral (select st._prescient_line::jsonb as _prescient_j offset 0) p`
    if (r.count !== s.rows) throw bad(file, `table ${s.table.name}: ${s.rows} rows read, ${r.count} inserted`)
    await tx`truncate _prescient_stage`
    loaded[s.table.name] = s.rows
  }

  const control = async (text: string) => {
    let obj: Record<string, unknown>
    try {
      obj = JSON.parse(text)
    } catch {
      throw bad(file, `line ${lineNo} is neither a row nor a section header`)
    }
    if (!header) {
      if (obj.format !== JSONL_FORMAT || !READABLE_VERSIONS.includes(obj.version as number)) throw bad(file, `the header says format ${String(obj.format)} version ${String(obj.version)}`)
      version = obj.version as number
      if (obj.schema_version !== opts.schemaVersion) throw bad(file, `the header says schema ${String(obj.schema_version)}, the manifest ${opts.schemaVersion}`)
      header = true
      return
    }
    if (ended) throw bad(file, `line ${lineNo} follows the trailer`)
    await finish()
    if (obj.end === true) {
      const expected = (obj.rows ?? {}) as Record<string, number>
      for (const [t, n] of Object.entries(expected)) if ((loaded[t] ?? 0) !== n) throw bad(file, `the trailer says ${n} rows for ${t}, ${loaded[t] ?? 0} were read`)
      ended = true
      return
    }
    const name = String(obj.table)
    const table = byName.get(name)
    if (!table) throw bad(file, `unknown table ${name} at line ${lineNo}`)
    if (name in loaded) throw bad(file, `table ${name} appears twice`)
    const columns = Array.isArray(obj.columns) ? obj.columns.map(String) : []
    const unknown = columns.filter((c) => !table.columns.includes(c))
    if (!columns.length || unknown.length) throw bad(file, `table ${name}: columns ${unknown.join(', ') || '(none)'} are not in the restored schema`)
    section = { table, columns, rows: 0, writer: await CopyWriter.open(tx, '_prescient_stage', ['_prescient_line'], { onStall: opts.onStall }) }
  }

  const decoder = new TextDecoder('utf-8', { fatal: true })
  // the start of a line whose end has not arrived yet, in pieces: a long row (a big jsonb) spans
  // many chunks, and joining once keeps that linear
  let carry: string[] = []
  const consume = async (text: string) => {
    lineNo++
    if (text.charCodeAt(0) === 91 /* [ */) {
      if (!section) throw bad(file, `row at line ${lineNo} comes before any table header`)
      section.rows++
      const p = section.writer.push(copyField(text) + '\n')
      if (p) await p
    } else if (text.length) await control(text)
  }
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }).pipe(createGunzip())) {
      let text: string
      try {
        text = decoder.decode(chunk as Buffer, { stream: true })
      } catch {
        throw bad(file, `invalid UTF-8 after line ${lineNo}`)
      }
      let nl = text.indexOf('\n')
      if (nl === -1) {
        carry.push(text)
        continue
      }
      await consume(carry.join('') + text.slice(0, nl))
      carry = []
      let start = nl + 1
      for (nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
        await consume(text.slice(start, nl))
        start = nl + 1
      }
      if (start < text.length) carry.push(text.slice(start))
    }
    if (carry.length) await consume(carry.join(''))
  } catch (err) {
    section?.writer.close()
    if (err instanceof PrescientError) throw err
    throw bad(file, (err as Error).message)
  }
  if (!ended) throw bad(file, 'it ends before its trailer (truncated)')
  return loaded
}

/** After an explicit-id load, serial sequences continue after the highest id. */
export async function resetSequences(tx: Q, tables: readonly TableInfo[]): Promise<void> {
  for (const t of tables) {
    const seqs = await tx<{ col: string; seq: string }[]>`
      select a.attname::text as col, pg_get_serial_sequence(quote_ident(${t.name}), a.attname::text) as seq
      from pg_attribute a
      where a.attrelid = to_regclass(quote_ident(${t.name})) and a.attnum > 0 and not a.attisdropped
        and pg_get_serial_sequence(quote_ident(${t.name}), a.attname::text) is not null`
    for (const s of seqs) {
      const [m] = await tx<{ m: string | null }[]>`select max(${tx(s.col)})::text as m from ${tx(t.name)}`
      if (m?.m === null || m?.m === undefined) await tx`select setval(${s.seq}::regclass, 1, false)`
      else await tx`select setval(${s.seq}::regclass, ${m.m}::bigint, true)`
    }
  }
}
