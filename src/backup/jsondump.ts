/**
 * The native json format: gzip'd JSON Lines, written and read as streams so
 * memory stays bounded whatever the table sizes, and needing no PostgreSQL
 * client tools.
 *
 *   {"format":"prescient-jsonl","version":1,"schema_version":2,...,"tables":[...]}   header
 *   {"table":"trades","columns":["id",...],"types":["integer",...]}                   one per table
 *   [1, "t-1", "2026-01-10T12:00:00+00:00", ...]                                       one per row
 *   {"end":true,"rows":{"trades":123,...}}                                             trailer
 *
 * A row is PostgreSQL's own json_build_array of the columns in table order
 * (TimeZone UTC): numerics keep their digits, timestamps are ISO 8601 with
 * microseconds, jsonb is nested as is. Reading goes through a temp table and
 * casts on the server (jsonb keeps numeric digits), so no value is re-typed by JavaScript.
 */
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import type { DbConfig } from '../config.ts'
import { connect, type Q } from '../db/client.ts'
import { Exit, PrescientError } from '../errors.ts'
import { copyField, CopyWriter } from '../import/copy.ts'
import { quoteLiteral } from '../setup.ts'
import { finishHash, RowHashSum, type TableInfo, type TableStat } from './catalog.ts'

export const JSONL_FORMAT = 'prescient-jsonl'
export const JSONL_VERSION = 1
/** gzip level 1: about 6x smaller than the text, and fast enough to keep up with the server (level 6 is 3x slower for ~20% less) */
export const GZIP_LEVEL = 1
const FLUSH_BYTES = 1 << 20
const NL = Buffer.from('\n')

export interface JsonDumpResult {
  stats: Record<string, TableStat>
  sha256: string
  bytes: number
}

/** `pg_export_snapshot()` ids look like 00000003-0000001B-1; anything else is not spliced into SQL. */
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i

/**
 * One table as JSON lines, streamed by COPY on a short-lived connection that
 * imports the dump's snapshot. The connection is closed afterwards rather than
 * reused: postgres.js can leave the socket paused after a COPY TO STDOUT whose
 * last chunk met backpressure (porsager/postgres#1016), and the next query on it
 * would never return.
 */
async function copyTable(db: DbConfig, snapshot: string, t: TableInfo, onLine: (line: Buffer) => void | Promise<void>): Promise<void> {
  if (!SNAPSHOT_ID.test(snapshot)) throw new PrescientError(`unexpected snapshot id ${JSON.stringify(snapshot)}`, Exit.runtime)
  const c = connect(db, { max: 1 })
  try {
    await c`begin isolation level repeatable read read only`
    await c.unsafe(`set transaction snapshot ${quoteLiteral(snapshot)}`)
    await c`set local timezone = 'UTC'`
    // CSV with \x01 as quote and \x02 as delimiter: JSON text never holds either (nor a raw newline),
    // so each line comes out exactly as json_build_array wrote it, with no COPY escaping to undo
    const stream = await c`copy (select json_build_array(${c(t.columns)}) from ${c(t.name)}) to stdout with (format csv, delimiter e'\\x02', quote e'\\x01')`.readable()
    let carry: Buffer | undefined
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk
      let start = 0
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        const p = onLine(buf.subarray(start, nl))
        if (p) await p
        start = nl + 1
      }
      carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined
    }
    if (carry?.length) throw new PrescientError(`COPY of ${t.name} ended in the middle of a line`, Exit.runtime)
  } finally {
    await c.end({ timeout: 0 }).catch(() => {})
  }
}

/** Stream every table into `path` (created exclusively), hashing each row as it passes. */
export async function writeJsonDump(db: DbConfig, snapshot: string, tables: readonly TableInfo[], path: string, header: Record<string, unknown>): Promise<JsonDumpResult> {
  const gz = createGzip({ level: GZIP_LEVEL })
  const sha = createHash('sha256')
  let bytes = 0
  gz.on('data', (c: Buffer) => {
    sha.update(c)
    bytes += c.length
  })
  const done = pipeline(gz, createWriteStream(path, { flags: 'wx' }))
  done.catch(() => {})
  let pending: Buffer[] = []
  let pendingBytes = 0
  const flush = async () => {
    if (!pendingBytes) return
    const chunk = Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    if (!gz.write(chunk)) await Promise.race([once(gz, 'drain'), done])
  }
  const push = (b: Buffer) => {
    pending.push(b)
    pendingBytes += b.length
  }
  const line = (obj: unknown) => push(Buffer.from(JSON.stringify(obj) + '\n'))

  const stats: Record<string, TableStat> = {}
  line({ format: JSONL_FORMAT, version: JSONL_VERSION, ...header, tables: tables.map((t) => t.name) })
  for (const t of tables) {
    line({ table: t.name, columns: t.columns, types: t.types })
    let rows = 0
    const sum = new RowHashSum()
    await copyTable(db, snapshot, t, (b) => {
      rows++
      sum.add(b)
      push(b)
      push(NL)
      if (pendingBytes >= FLUSH_BYTES) return flush()
    })
    stats[t.name] = { rows, hash: finishHash(rows, sum.sum) }
  }
  line({ end: true, rows: Object.fromEntries(Object.entries(stats).map(([k, s]) => [k, s.rows])) })
  await flush()
  gz.end()
  await done
  const fh = await open(path, 'r+')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { stats, sha256: sha.digest('hex'), bytes }
}

const bad = (file: string, why: string) => new PrescientError(`${file} is not a readable prescient json dump: ${why}`, Exit.runtime)

/**
 * The SQL for column `c`, element `i` of the row's array: text cast to the column's
 * type (its own modifier, e.g. varchar(255), is enforced by the insert), jsonb kept
 * as jsonb. JSON null is SQL NULL, except in a NOT NULL jsonb column, where it can
 * only have been the jsonb value null. The type goes in as a quoted identifier
 * ("pg_catalog"."int4"), like any other name.
 */
function valueOf(tx: Q, t: TableInfo, c: string, i: number) {
  const k = t.columns.indexOf(c)
  const type = t.castTypes[k]!
  if (type === 'pg_catalog.jsonb') return t.notNull[k] ? tx`p._prescient_j -> ${i}::int` : tx`nullif(p._prescient_j -> ${i}::int, 'null'::jsonb)`
  // json keeps its text (jsonb would normalise it), so it is read from the line itself
  if (type === 'pg_catalog.json') return tx`nullif((st._prescient_line::json -> ${i}::int)::text, 'null')::json`
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
  let ended = false
  let lineNo = 0

  const finish = async () => {
    if (!section) return
    const s = section
    section = undefined
    await s.writer.end()
    const r = await tx`
      insert into ${tx(s.table.name)} (${tx(s.columns)})
      select ${s.columns.map((c, i) => valueOf(tx, s.table, c, i)).reduce((a, b) => tx`${a}, ${b}`)}
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
      if (obj.format !== JSONL_FORMAT || obj.version !== JSONL_VERSION) throw bad(file, `the header says format ${String(obj.format)} version ${String(obj.version)}`)
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
  let carry = ''
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
        text = carry + decoder.decode(chunk as Buffer, { stream: true })
      } catch {
        throw bad(file, `invalid UTF-8 after line ${lineNo}`)
      }
      let start = 0
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        await consume(text.slice(start, nl))
        start = nl + 1
      }
      carry = text.slice(start)
    }
    if (carry) await consume(carry)
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
