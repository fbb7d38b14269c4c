/**
 * valibot schemas for every JSON file the cycle keeps, and the one reader that
 * validates them. The same schemas are reused by `import` and `verify`, so a
 * file reads the same everywhere. Reading normalises: naive seed timestamps are
 * UTC, every time becomes an ISO `Z` millisecond string, and numbers are
 * rounded to the scale the table stores, so JSON and PostgreSQL hold equal values.
 */
import * as v from 'valibot'
import { readFile } from 'node:fs/promises'
import { money, round, type EventRecord, type HistoryRow, type MarketRecord, type Position, type Signal, type SignalArchive, type Trade } from '../domain.ts'
import { PrescientError, Exit } from '../errors.ts'
import { locateJsonError, formatPath } from './json-text.ts'

// ---- scalars -------------------------------------------------------------

const ISO_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

/** Any ISO 8601 time (naive = UTC, microseconds allowed) as `YYYY-MM-DDTHH:MM:SS.mmmZ`; null when unreadable. */
const CANONICAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/
const daysIn = (y: number, m: number) => (m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31)

export function toIsoUtc(s: string): string | null {
  // Fast path: the exact form the stores write (a quarter of import's CPU went to re-parsing it).
  const c = s.length === 24 ? CANONICAL_RE.exec(s) : null
  if (c) {
    const [y, mo, d, h, mi, se] = c.slice(1).map(Number) as [number, number, number, number, number, number]
    if (y > 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h < 24 && mi < 60 && se < 60) return s
  }
  const m = ISO_RE.exec(s.trim())
  if (!m) return null
  const [, date, hm = '00:00', sec = '00', frac = '', zone = 'Z'] = m
  const ms = (frac + '000').slice(0, 3)
  const z = zone === 'Z' || zone === 'z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`
  const t = Date.parse(`${date}T${hm}:${sec}.${ms}${z}`)
  // Some engines roll 2025-02-30 over to March instead of rejecting it.
  const d = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(t) || Number.isNaN(d) || new Date(d).toISOString().slice(0, 10) !== date) return null
  return new Date(t).toISOString()
}

const show = (x: unknown) =>
  typeof x === 'string' ? JSON.stringify(x.length > 60 ? `${x.slice(0, 57)}...` : x) : Array.isArray(x) ? 'an array' : x && typeof x === 'object' ? 'an object' : String(x)

const time = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const t = toIsoUtc(dataset.value)
    if (t === null) {
      addIssue({ message: `expected an ISO 8601 time, got ${show(dataset.value)}` })
      return NEVER
    }
    return t
  }),
)
/** Missing, null and "" (the seed's empty event fields) all read as null. */
const timeN = v.pipe(
  v.nullish(v.string(), null),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (dataset.value === null || dataset.value === '') return null
    const t = toIsoUtc(dataset.value)
    if (t === null) {
      addIssue({ message: `expected an ISO 8601 time, got ${show(dataset.value)}` })
      return NEVER
    }
    return t
  }),
)
const day = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}$/, (i) => `expected a date YYYY-MM-DD, got ${show(i.input)}`))
const month = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}$/, (i) => `expected a month YYYY-MM, got ${show(i.input)}`))

const finite = v.pipe(v.number(), v.finite((i) => `expected a finite number, got ${show(i.input)}`))
const int = v.pipe(finite, v.integer((i) => `expected an integer, got ${show(i.input)}`))
const cents = v.pipe(finite, v.transform(money))
const amount = v.pipe(finite, v.minValue(0, (i) => `must not be negative, got ${show(i.input)}`), v.transform(money))
const unit = (places: number) =>
  v.pipe(
    finite,
    v.check((x) => x >= 0 && x <= 1, (i) => `must be between 0 and 1, got ${show(i.input)}`),
    v.transform((x) => round(x, places)),
  )
const prob = unit(6)
const conf = unit(4)
/** Gamma sends liquidity/volume as decimal strings on markets; accept both, store cents. */
const sizeN = v.pipe(
  v.nullish(v.union([v.number(), v.string()]), null),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const x = dataset.value
    if (x === null || x === '') return null
    const n = typeof x === 'number' ? x : Number(x)
    if (!Number.isFinite(n)) {
      addIssue({ message: `expected a number, got ${show(x)}` })
      return NEVER
    }
    return money(n)
  }),
)
const n = <S extends v.GenericSchema<unknown, unknown>>(s: S) => v.nullish(s, null)
const str = v.string()
const action = v.picklist(['buy_yes', 'buy_no'])
const status = v.picklist(['open', 'closed'])
const json = v.record(v.string(), v.unknown())

// ---- records -------------------------------------------------------------

export const TradeSchema = v.object({
  trade_id: str,
  timestamp: time,
  market_id: str,
  market_question: str,
  action,
  amount,
  entry_price: prob,
  confidence: conf,
  reason: n(str),
  status,
  event_id: n(str),
  event_title: n(str),
  event_end_date: timeN,
  current_pnl: n(cents),
  realized_pnl: n(cents),
  exit_price: n(prob),
  exit_timestamp: timeN,
})

export const PositionSchema = v.object({
  trade_id: str,
  market_id: str,
  market_question: str,
  action,
  amount,
  entry_price: prob,
  entry_timestamp: time,
  status,
  current_pnl: n(cents),
  realized_pnl: n(cents),
  exit_price: n(prob),
  exit_timestamp: timeN,
})

export const SignalSchema = v.object({
  timestamp: time,
  market_id: str,
  market_question: str,
  action,
  target_price: prob,
  amount,
  confidence: conf,
  reason: n(str),
  yes_price: prob,
  no_price: prob,
  market_liquidity: sizeN,
  market_volume: sizeN,
  event_id: n(str),
  event_title: n(str),
  event_end_date: timeN,
  executed: v.optional(v.boolean(), false),
  executed_at: timeN,
  trade_id: n(str),
})

/** A row without snapshot_date (older files) belongs to its timestamp's UTC day. */
export const HistoryRowSchema = v.pipe(
  v.object({
    snapshot_date: v.optional(day),
    timestamp: time,
    balance: cents,
    total_invested: cents,
    total_profit_loss: cents,
    total_value: cents,
    open_positions: int,
    trade_count: int,
  }),
  v.transform(({ snapshot_date, ...h }) => ({ snapshot_date: snapshot_date ?? h.timestamp.slice(0, 10), ...h })),
)

/** The seed's archive entries may lack month and count; both follow from the rest. */
export const SignalArchiveSchema = v.pipe(
  v.object({
    archived_at: time,
    archive_month: v.optional(month),
    signals_count: v.optional(int),
    signals: v.array(SignalSchema),
  }),
  v.transform((a) => ({
    archived_at: a.archived_at,
    archive_month: a.archive_month ?? a.archived_at.slice(0, 7),
    signals_count: a.signals_count ?? a.signals.length,
    signals: a.signals,
  })),
)

export const EventRecordSchema = v.object({
  event_id: str,
  title: str,
  slug: n(str),
  liquidity: sizeN,
  volume: sizeN,
  volume24hr: sizeN,
  start_date: timeN,
  end_date: timeN,
  days_until_end: n(int),
  event_data: v.optional(json, {}),
  is_filtered: v.optional(v.boolean(), true),
})

export const MarketRecordSchema = v.object({
  market_id: str,
  question: str,
  event_id: n(str),
  event_title: n(str),
  event_end_date: timeN,
  liquidity: sizeN,
  volume: sizeN,
  volume24hr: sizeN,
  yes_price: n(prob),
  no_price: n(prob),
  market_conviction: n(prob),
  market_data: v.optional(json, {}),
  is_filtered: v.optional(v.boolean(), true),
})

export const MarketSnapshotSchema = v.object({
  market_id: str,
  timestamp: time,
  yes_price: n(prob),
  no_price: n(prob),
  liquidity: sizeN,
  volume: sizeN,
  volume24hr: sizeN,
  market_conviction: n(prob),
})

// ---- whole files ---------------------------------------------------------

/** Rejects two items with the same key, naming both places. */
function unique<T>(keyName: string, key: (x: T) => string) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const seen = new Map<string, number>()
    dataset.value.forEach((item, i) => {
      const k = key(item)
      const first = seen.get(k)
      if (first === undefined) return void seen.set(k, i)
      addIssue({
        message: `duplicate ${keyName} ${JSON.stringify(k)} (also at $[${first}])`,
        path: [{ type: 'array', origin: 'value', input: dataset.value, key: i, value: item }],
      })
    })
  })
}

/** For files whose rows are replaced by key (one per day, one per archived_at): the last row wins. */
const lastWins = <T>(key: (x: T) => string) =>
  v.transform((xs: T[]) => [...new Map(xs.map((x) => [key(x), x] as const)).values()])

export const TradesFileSchema = v.pipe(v.array(TradeSchema), unique<Trade>('trade_id', (t) => t.trade_id))
export const PortfolioFileSchema = v.object({
  balance: cents,
  total_invested: cents,
  total_profit_loss: cents,
  trade_count: int,
  created_at: time,
  last_updated: time,
  positions: v.pipe(v.optional(v.array(PositionSchema), []), unique<Position>('trade_id', (p) => p.trade_id)),
})
export const SignalsFileSchema = v.pipe(v.array(SignalSchema), unique<Signal>('market_id+timestamp', (s) => `${s.market_id} @ ${s.timestamp}`))
export const HistoryFileSchema = v.pipe(v.array(HistoryRowSchema), lastWins<HistoryRow>((h) => h.snapshot_date))
export const ArchiveFileSchema = v.pipe(v.array(SignalArchiveSchema), lastWins<SignalArchive>((a) => a.archived_at))
export const EventsFileSchema = v.pipe(v.array(EventRecordSchema), unique<EventRecord>('event_id', (e) => e.event_id))
export const MarketsFileSchema = v.pipe(v.array(MarketRecordSchema), unique<MarketRecord>('market_id', (m) => m.market_id))
export const MarketSnapshotsSchema = v.array(MarketSnapshotSchema)
/** The object form, or the seed's bare array of events. */
export const RawEventsFileSchema = v.union([
  v.object({ fetched_at: time, source: v.optional(str, 'unknown'), events: v.array(json) }),
  v.pipe(v.array(json), v.transform((events) => ({ fetched_at: '1970-01-01T00:00:00.000Z', source: 'legacy', events }))),
])
export const MetadataFileSchema = v.record(v.string(), v.string())

/** Every file kind: where it lives under the data dir, its schema, and what a missing file means. */
export const FILES = {
  trades: { rel: 'trades/paper_trades.json', schema: TradesFileSchema, kind: 'array' },
  portfolio: { rel: 'trades/portfolio.json', schema: PortfolioFileSchema, kind: 'object' },
  signals: { rel: 'trades/current_signals.json', schema: SignalsFileSchema, kind: 'array' },
  history: { rel: 'history/portfolio_history.json', schema: HistoryFileSchema, kind: 'array' },
  rawEvents: { rel: 'events/raw_events_backup.json', schema: RawEventsFileSchema, kind: 'object' },
  events: { rel: 'events/filtered_events.json', schema: EventsFileSchema, kind: 'array' },
  markets: { rel: 'markets/filtered_markets.json', schema: MarketsFileSchema, kind: 'array' },
  metadata: { rel: '.prescient/metadata.json', schema: MetadataFileSchema, kind: 'object' },
} as const

export const ARCHIVE_DIR = 'history'
export const ARCHIVE_FILE_RE = /^signals_archive_(\d{4}-\d{2})\.json$/
export const archiveRel = (month: string) => `${ARCHIVE_DIR}/signals_archive_${month}.json`

// ---- reading -------------------------------------------------------------

function issueMessage(issue: v.BaseIssue<unknown>): string {
  const path = formatPath((issue.path ?? []).map((p) => p.key as string | number))
  if (issue.kind === 'schema' && issue.received === 'undefined') return `${path}: required field is missing`
  if (issue.kind === 'schema' && issue.type === 'union' && issue.issues?.[0]) return issueMessage(issue.issues[0])
  if (issue.kind === 'schema') return `${path}: expected ${article((issue.expected ?? 'a value').replace(/^\((.*)\)$/, '$1'))}, got ${show(issue.input)}`
  return `${path}: ${issue.message}`
}
const article = (t: string) => (/^[a-z]/.test(t) ? (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`) : t)

/** Validate a value against a schema; throws naming `label` and the JSON path of the first bad value. */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown, label: string, exit: 1 | 2 = Exit.usage): v.InferOutput<S> {
  const r = v.safeParse(schema, value, { abortPipeEarly: true })
  if (r.success) return r.output
  throw new PrescientError(`${label} ${issueMessage(r.issues[0])}`, exit, exit === Exit.usage ? 'fix the file or restore it from a backup, then run again' : undefined)
}

/** Parse JSON text (BOM stripped) and validate it; `label` names the file in errors. */
export function parseJsonText<S extends v.GenericSchema>(text: string, schema: S, label: string): v.InferOutput<S> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (body.trim() === '') throw new PrescientError(`${label}: the file is empty`, Exit.usage, 'delete it to start fresh, or restore it from a backup')
  let data: unknown
  try {
    data = JSON.parse(body)
  } catch {
    const at = locateJsonError(body)
    throw new PrescientError(`${label} ${at.path}: invalid JSON at line ${at.line}, column ${at.column}: ${at.reason}`, Exit.usage, 'restore the file from a backup, or fix it by hand')
  }
  return validate(schema, data, label)
}

export function readJsonFile<S extends v.GenericSchema>(path: string, schema: S, opts: { kind: 'array' }): Promise<v.InferOutput<S>>
export function readJsonFile<S extends v.GenericSchema>(path: string, schema: S, opts: { kind: 'object' }): Promise<v.InferOutput<S> | null>
/** Read and validate one data file. A missing file is the empty state ([] or null), not an error. */
export async function readJsonFile<S extends v.GenericSchema>(path: string, schema: S, opts: { kind: 'array' | 'object' }): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return opts.kind === 'array' ? [] : null
    if (code === 'EISDIR') throw new PrescientError(`${path} is a directory, expected a JSON file`, Exit.usage, 'move the directory away')
    throw new PrescientError(`cannot read ${path}: ${(err as Error).message}`, Exit.runtime, undefined, { cause: err })
  }
  return parseJsonText(text, schema, path)
}
