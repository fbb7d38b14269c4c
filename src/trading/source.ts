/**
 * Recorded Gamma data -> SourceData. Accepts what people actually keep on disk: a
 * `/events` array, a `/markets` array (parent event in `events[0]`), a single market or
 * event object, our own raw_events_backup.json wrapper, and JSONL (optionally gzipped)
 * whose lines are market objects or wrappers holding one under `raw`.
 *
 * Every record is validated; a bad record is skipped and counted as a Reject with its
 * JSON path. Only file-level problems (missing, unreadable, not JSON) throw, as usage
 * errors naming the file, because they mean the user pointed at the wrong thing.
 *
 * A market with no parent event (e.g. the btc5m dataset) gets a synthetic event
 * `market-<id>` marked `synthetic: true`; its NormMarket keeps eventId null, and the
 * marker survives a round trip through raw_events_backup.json.
 */
import { stat } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { Exit, PrescientError } from '../errors.ts'
import { idOf, normDate, parseEvent, parseMarket } from '../schema/gamma.ts'
import type { NormEvent, NormMarket, Reject, SourceData } from './types.ts'

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x)

/** Collects validated events and markets from any mix of record shapes, de-duplicating by id. */
export class SourceBuilder {
  private events = new Map<string, NormEvent>()
  private marketIds = new Set<string>()
  readonly rejects: Reject[] = []

  /** An item of unknown shape: an /events item (has markets[], or a title and no question) or a market. */
  addItem(raw: unknown, where: string): void {
    if (isObject(raw) && (Array.isArray(raw.markets) || (!('question' in raw) && 'title' in raw))) this.addEvent(raw, where)
    else this.addMarket(raw, where)
  }

  /** An /events item. An event seen before (offset paging repeats pages) only adds markets not yet seen. */
  addEvent(raw: unknown, where: string): void {
    const pe = parseEvent(raw)
    if (!pe.ok) {
      this.rejects.push({ kind: 'event', id: pe.id, where, reason: pe.reason })
      return
    }
    const event = this.events.get(pe.value.id) ?? pe.value
    this.events.set(event.id, event)
    const markets = isObject(raw) && Array.isArray(raw.markets) ? raw.markets : []
    markets.forEach((m, j) => this.addMarket(m, `${where}.markets[${j}]`, event))
  }

  addMarket(raw: unknown, where: string, parent?: NormEvent): void {
    const pm = parseMarket(raw, parent)
    if (!pm.ok) {
      this.rejects.push({ kind: 'market', id: pm.id, where, reason: pm.reason })
      return
    }
    const { market } = pm.value
    if (this.marketIds.has(market.id)) return
    this.marketIds.add(market.id)
    let event = pm.value.event ? (this.events.get(pm.value.event.id) ?? pm.value.event) : null
    if (!event) {
      const id = `market-${market.id}`
      event = this.events.get(id) ?? syntheticEvent(id, market)
    }
    this.events.set(event.id, event)
    event.markets.push(market)
  }

  /** fetchedAt: when the data was fetched if known; else its newest updatedAt; else `fallbackTime`. */
  finish(source: string, fetchedAt: string | null, fallbackTime: string): SourceData {
    const events = [...this.events.values()]
    let latest: string | null = null
    for (const e of events) for (const m of e.markets) if (m.updatedAt && (!latest || m.updatedAt > latest)) latest = m.updatedAt
    return {
      source,
      fetchedAt: fetchedAt ?? latest ?? fallbackTime,
      snapshotTime: latest,
      events,
      rawEvents: events.map((e) => ({ ...e.raw, markets: e.markets.map((m) => m.raw) })),
      rejects: this.rejects,
    }
  }
}

function syntheticEvent(id: string, m: NormMarket): NormEvent {
  return {
    id,
    title: m.question,
    slug: null,
    liquidity: null,
    volume: null,
    volume24hr: null,
    startDate: null,
    endDate: m.endDate,
    markets: [],
    raw: { id, title: m.question, synthetic: true, ...(m.endDate ? { endDate: m.endDate } : {}) },
  }
}

const usage = (msg: string, hint?: string) => new PrescientError(msg, Exit.usage, hint ?? 'pass --source api or a recorded Gamma /events or /markets JSON file')

/** Read a file as text: gunzip *.gz, strip a UTF-8 BOM, refuse missing, directories and empty files. */
async function readText(path: string): Promise<{ text: string; mtime: Date }> {
  let st
  try {
    st = await stat(path)
  } catch {
    throw usage(`source file not found: ${path}`)
  }
  if (st.isDirectory()) throw usage(`source ${path} is a directory, not a file`)
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await Bun.file(path).arrayBuffer())
  } catch (err) {
    throw usage(`cannot read source file ${path}: ${(err as Error).message}`)
  }
  if (path.toLowerCase().endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes)
    } catch {
      throw usage(`source file ${path} is not a valid gzip file`)
    }
  }
  let text = new TextDecoder('utf-8').decode(bytes)
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.trim() === '') throw usage(`source file ${path} is empty`)
  return { text, mtime: st.mtime }
}

const NUM_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y

/** Offset of the first JSON syntax error (Bun's JSON.parse does not report one). */
export function jsonErrorOffset(s: string): number {
  let i = 0
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++
  }
  const str = () => {
    i++
    while (i < s.length) {
      const c = s.charCodeAt(i)
      if (c === 34) return void i++
      if (c < 32) throw i
      i += c === 92 ? 2 : 1
    }
    throw i
  }
  const seq = (close: string, item: () => void) => {
    i++
    ws()
    if (s[i] === close) return void i++
    for (;;) {
      item()
      ws()
      if (s[i] === ',') i++
      else if (s[i] === close) return void i++
      else throw i
    }
  }
  const value = (): void => {
    ws()
    const c = s[i]
    if (c === '{') {
      return seq('}', () => {
        ws()
        if (s[i] !== '"') throw i
        str()
        ws()
        if (s[i] !== ':') throw i
        i++
        value()
      })
    }
    if (c === '[') return seq(']', value)
    if (c === '"') return str()
    NUM_RE.lastIndex = i
    const m = NUM_RE.exec(s)
    if (!m) throw i
    i += m[0].length
  }
  try {
    value()
    ws()
    return i < s.length ? i : -1
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, s.length)
    throw at
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    const at = jsonErrorOffset(text)
    const before = text.slice(0, Math.max(at, 0))
    const line = before.split('\n').length
    const col = at - before.lastIndexOf('\n')
    const where = at >= text.length ? 'at end of file (truncated?)' : `at line ${line} column ${col} (offset ${at})`
    throw usage(`${what}: invalid JSON ${where}: ${(err as Error).message}`)
  }
}

const isJsonl = (path: string) => /\.(jsonl|ndjson)(\.gz)?$/i.test(path)

/** Load a recorded Gamma response (any shape listed above) into validated SourceData. */
export async function loadRecorded(path: string): Promise<SourceData> {
  const { text, mtime } = await readText(path)
  const b = new SourceBuilder()
  let fetchedAt: string | null = null
  if (isJsonl(path)) {
    text.split('\n').forEach((line, n) => {
      if (line.trim() === '') return
      const where = `${path} line ${n + 1}`
      let x: unknown
      try {
        x = JSON.parse(line)
      } catch (err) {
        b.rejects.push({ kind: 'market', id: null, where, reason: `not valid JSON: ${(err as Error).message}` })
        return
      }
      if (isObject(x) && isObject(x.raw)) b.addItem(x.raw, `${where} $.raw`)
      else b.addItem(x, `${where} $`)
    })
  } else {
    const data = parseJson(text, path)
    if (Array.isArray(data)) {
      data.forEach((item, i) => b.addItem(item, `${path} $[${i}]`))
    } else if (isObject(data) && Array.isArray(data.events) && !('question' in data) && !('id' in data)) {
      // raw_events_backup.json: { fetched_at, source, events: [...] }
      fetchedAt = typeof data.fetched_at === 'string' ? normDate(data.fetched_at) : null
      data.events.forEach((item, i) => b.addEvent(item, `${path} $.events[${i}]`))
    } else if (isObject(data) && idOf(data) !== null) {
      b.addItem(data, `${path} $`)
    } else {
      throw usage(`${path} is JSON but not a Gamma /events or /markets response (expected an array or an object with an id)`)
    }
  }
  return b.finish(path, fetchedAt, mtime.toISOString())
}
