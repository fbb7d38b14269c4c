/**
 * valibot schemas for Gamma API records (`/markets` and `/events` items), tolerant of
 * the quirks seen in real recorded responses (../shared/fixtures/polymarket/README.md):
 * JSON held in strings, decimal strings next to numbers, absent fields, null prices on
 * undeployed markets and several date formats. Anything else that is wrong is a reject
 * whose reason names the field, never a crash.
 */
import * as v from 'valibot'
import type { NormEvent, NormMarket } from '../trading/types.ts'

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * The one date normaliser. Accepts ISO 8601 with Z or an offset, plain `YYYY-MM-DD`
 * (midnight UTC), and Postgres-style `2026-07-24 00:00:16+00` / `…14:40:02.064+00`.
 * A time without an offset is read as UTC. Returns an ISO UTC string, or null when the
 * text is not a real date (so 2026-02-30 is refused rather than rolled over).
 */
export function normDate(text: string): string | null {
  const m = DATE_RE.exec(text.trim())
  if (!m) return null
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz = 'Z'] = m
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'))
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  const check = new Date(local)
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return null
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null
  let offsetMin = 0
  if (tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1
    const digits = tz.slice(1).replace(':', '')
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'))
  }
  return new Date(local - offsetMin * 60_000).toISOString()
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A date field: absent, null or '' is null; an unrecognised format is a reject. */
const DateField = v.pipe(
  v.nullish(v.string()),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const s = dataset.value
    if (s == null || s.trim() === '') return null
    const iso = normDate(s)
    if (iso === null) {
      addIssue({ message: `unrecognised date ${JSON.stringify(s)}` })
      return NEVER
    }
    return iso
  }),
)

/** A non-negative amount sent as a number or a decimal string (market liquidity/volume). */
const Amount = v.pipe(
  v.nullish(v.union([v.number(), v.string()])),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const x = dataset.value
    if (x == null || (typeof x === 'string' && x.trim() === '')) return null
    if (typeof x === 'string' && !DECIMAL_RE.test(x.trim())) {
      addIssue({ message: `not a decimal number: ${JSON.stringify(x)}` })
      return NEVER
    }
    const n = Number(x)
    if (!Number.isFinite(n)) {
      addIssue({ message: `not a finite number: ${String(x)}` })
      return NEVER
    }
    if (n < 0) {
      addIssue({ message: `negative: ${n}` })
      return NEVER
    }
    return n
  }),
)

/** A field holding JSON text (Gamma's `"[\"Yes\", \"No\"]"`); an already-decoded array is accepted too. */
function jsonList<T>(item: (x: unknown) => T) {
  return v.pipe(
    v.nullish(v.union([v.string(), v.array(v.unknown())])),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      let x: unknown = dataset.value
      if (x == null || x === '') return null
      if (typeof x === 'string') {
        try {
          x = JSON.parse(x)
        } catch {
          addIssue({ message: `is not valid JSON: ${JSON.stringify(String(dataset.value).slice(0, 60))}` })
          return NEVER
        }
      }
      if (!Array.isArray(x)) {
        addIssue({ message: 'does not hold a JSON array' })
        return NEVER
      }
      try {
        return x.map((el, i) => {
          try {
            return item(el)
          } catch (err) {
            throw new Error(`[${i}] ${(err as Error).message}`)
          }
        })
      } catch (err) {
        addIssue({ message: (err as Error).message })
        return NEVER
      }
    }),
  )
}

/** Items of a decoded list: a bad one throws with the reason. */
const asText = (x: unknown): string => {
  if (typeof x === 'string' || typeof x === 'number') return String(x)
  throw new Error('is not a string')
}
const asPrice = (x: unknown): number => {
  if (typeof x === 'string' && !DECIMAL_RE.test(x.trim())) throw new Error(`is not a decimal number: ${JSON.stringify(x)}`)
  if (typeof x !== 'string' && typeof x !== 'number') throw new Error('is not a number')
  const n = Number(x)
  if (!Number.isFinite(n)) throw new Error(`is not finite: ${String(x)}`)
  if (n < 0 || n > 1) throw new Error(`is outside [0,1]: ${String(x)}`)
  return n
}

const Id = v.pipe(v.union([v.string(), v.number()]), v.transform(String), v.minLength(1, 'is empty'))
const OptText = v.nullish(v.string())
const OptBool = v.nullish(v.boolean())
const OptNum = Amount

export const GammaEventSchema = v.looseObject({
  id: Id,
  title: OptText,
  slug: OptText,
  ticker: OptText,
  liquidity: OptNum,
  volume: OptNum,
  volume24hr: OptNum,
  startDate: DateField,
  endDate: DateField,
  updatedAt: DateField,
  synthetic: OptBool,
  markets: v.nullish(v.array(v.unknown())),
})

export const GammaMarketSchema = v.looseObject({
  id: Id,
  question: v.pipe(v.string(), v.trim(), v.minLength(1, 'is empty')),
  slug: OptText,
  conditionId: OptText,
  active: OptBool,
  closed: OptBool,
  umaResolutionStatus: OptText,
  outcomes: jsonList<string>(asText),
  outcomePrices: jsonList<number>(asPrice),
  clobTokenIds: jsonList<string>(asText),
  liquidity: Amount,
  liquidityNum: Amount,
  volume: Amount,
  volumeNum: Amount,
  volume24hr: Amount,
  startDate: DateField,
  endDate: DateField,
  updatedAt: DateField,
  closedTime: DateField,
  events: v.nullish(v.array(v.unknown())),
})

export type GammaEvent = v.InferOutput<typeof GammaEventSchema>
export type GammaMarket = v.InferOutput<typeof GammaMarketSchema>
export type Parsed<T> = { ok: true; value: T } | { ok: false; id: string | null; reason: string }

function reasonOf(issues: readonly v.BaseIssue<unknown>[]): string {
  const i = issues[0]
  if (!i) return 'invalid'
  const path = i.path?.map((p) => String(p.key)).join('.') ?? ''
  return path ? `${path}: ${i.message}` : i.message
}

export const idOf = (raw: unknown): string | null => {
  const id = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).id : undefined
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null
}

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x)

/** The event object as received, without its nested markets. */
export function eventRaw(raw: Record<string, unknown>): Record<string, unknown> {
  const { markets: _m, ...rest } = raw
  return rest
}

export function parseEvent(raw: unknown): Parsed<NormEvent> {
  if (!isObject(raw)) return { ok: false, id: null, reason: 'not an object' }
  const r = v.safeParse(GammaEventSchema, raw)
  if (!r.success) return { ok: false, id: idOf(raw), reason: reasonOf(r.issues) }
  const e = r.output
  return {
    ok: true,
    value: {
      id: e.id,
      title: e.title ?? e.slug ?? e.ticker ?? `event ${e.id}`,
      slug: e.slug ?? null,
      liquidity: e.liquidity ?? null,
      volume: e.volume ?? null,
      volume24hr: e.volume24hr ?? null,
      startDate: e.startDate ?? null,
      endDate: e.endDate ?? null,
      markets: [],
      raw: eventRaw(raw),
    },
  }
}

/** UMA states in which the outcome is still being decided: such a market is neither tradable nor payable. */
export const PENDING_UMA = new Set(['proposed', 'disputed', 'challenged'])

/**
 * The resolution rule. A market pays out only when it is `closed` AND either
 *  - its prices are a clean binary outcome (one exactly 1, the other exactly 0) and UMA
 *    is not still deciding (status absent or 'resolved'), or
 *  - `umaResolutionStatus` is 'resolved' and the final prices are a payout vector
 *    (each in [0,1], summing to 1 within 0.001: a scalar market's final prices).
 * Closed with 0/0 prices, closed with non-0/1 prices and no 'resolved' status (legacy AMM
 * markets), or closed while UMA is proposed/disputed: no clear outcome, not settled.
 * `active` is ignored: Gamma keeps it true on resolved markets.
 */
export function resolutionOf(closed: boolean, uma: string | null, prices: number[] | null): { payoutYes: number; payoutNo: number } | null {
  if (!closed || !prices || prices.length !== 2) return null
  const [yes, no] = prices as [number, number]
  const status = uma?.toLowerCase() ?? null
  if (status && PENDING_UMA.has(status)) return null
  const binary = (yes === 1 && no === 0) || (yes === 0 && no === 1)
  if (binary && (status === null || status === 'resolved')) return { payoutYes: yes, payoutNo: no }
  if (status === 'resolved' && Math.abs(yes + no - 1) <= 0.001) return { payoutYes: yes, payoutNo: no }
  return null
}

/** A market and, when the record carries one (`/markets` items), its parent event in `events[0]`. */
export function parseMarket(raw: unknown, parent?: NormEvent | null): Parsed<{ market: NormMarket; event: NormEvent | null }> {
  if (!isObject(raw)) return { ok: false, id: null, reason: 'not an object' }
  const r = v.safeParse(GammaMarketSchema, raw)
  const id = idOf(raw)
  if (!r.success) return { ok: false, id, reason: reasonOf(r.issues) }
  const m = r.output
  let event = parent ?? null
  if (!event && m.events && m.events.length > 0) {
    const pe = parseEvent(m.events[0])
    if (!pe.ok) return { ok: false, id, reason: `events[0].${pe.reason}` }
    event = pe.value
  }
  const outcomes = m.outcomes ?? []
  const prices = m.outcomePrices ?? null
  if (prices && outcomes.length > 0 && prices.length !== outcomes.length) {
    return { ok: false, id, reason: `outcomePrices: ${prices.length} prices for ${outcomes.length} outcomes` }
  }
  const closed = m.closed ?? false
  const res = resolutionOf(closed, m.umaResolutionStatus ?? null, prices)
  const binary = prices && prices.length === 2
  // A synthetic parent (a market that came without events[0]) is not a real Gamma event.
  const real = event && event.raw.synthetic !== true ? event : null
  const { events: _e, ...rawMarket } = raw
  return {
    ok: true,
    value: {
      event,
      market: {
        id: m.id,
        question: m.question,
        slug: m.slug ?? null,
        conditionId: m.conditionId ? m.conditionId : null,
        active: m.active ?? true,
        closed,
        resolved: res !== null,
        payoutYes: res?.payoutYes ?? null,
        payoutNo: res?.payoutNo ?? null,
        outcomes,
        yesPrice: binary ? prices[0]! : null,
        noPrice: binary ? prices[1]! : null,
        liquidity: m.liquidityNum ?? m.liquidity ?? null,
        volume: m.volumeNum ?? m.volume ?? null,
        volume24hr: m.volume24hr ?? null,
        endDate: m.endDate ?? null,
        updatedAt: m.updatedAt ?? null,
        eventId: real?.id ?? null,
        eventTitle: real?.title ?? null,
        eventEndDate: real?.endDate ?? null,
        raw: rawMarket,
      },
    },
  }
}
