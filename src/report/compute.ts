/**
 * The performance report, computed from what the stores hold: the portfolio
 * state, the trade history and portfolio_history. Pure: no I/O, the clock is
 * passed in, so a hand-made history gives hand-checkable numbers.
 *
 * Account figures (balance, total value, the equity curve's values) describe
 * the whole account; everything computed from trades covers the trades opened
 * at or after `since` when it is given.
 */
import { money, round, type HistoryRow, type Portfolio, type Trade } from '../domain.ts'

export interface ReportInput {
  portfolio: Portfolio | null
  trades: Trade[]
  history: HistoryRow[]
  /** the report clock: days to end are counted from here */
  clock: Date
  /** ISO time or date: only trades opened at or after it (and history rows from its day) */
  since?: string
}

export interface MarketPnl {
  market_id: string
  question: string
  event_id: string | null
  event_title: string | null
  trades: number
  open: number
  settled: number
  invested: number
  realized_pnl: number
  unrealized_pnl: number
  pnl: number
}

export interface EventPnl {
  event_id: string | null
  event_title: string | null
  markets: number
  trades: number
  invested: number
  realized_pnl: number
  unrealized_pnl: number
  pnl: number
}

export const BUCKETS = ['<1d', '1-7d', '7-30d', '30-90d', '>90d', 'unknown'] as const
export type Bucket = (typeof BUCKETS)[number]

export interface ExposureRow {
  bucket: Bucket
  trades: number
  /** cost of the open positions */
  amount: number
  /** cost plus unrealized P&L */
  value: number
}

export interface Report {
  clock: string
  since: string | null
  summary: {
    balance: number | null
    /** cost of the open positions */
    invested: number
    /** cost of every trade in the selection */
    invested_total: number
    realized_pnl: number
    unrealized_pnl: number
    total_pnl: number
    /** balance plus the marked value of all open positions */
    total_value: number | null
    trades: number
    open_trades: number
    settled_trades: number
    wins: number
    losses: number
    /** wins / settled trades; null with none settled */
    win_rate: number | null
    /** mean of exit_price - entry_price (side held) over settled trades; null with none */
    avg_edge: number | null
  }
  by_market: MarketPnl[]
  by_event: EventPnl[]
  best: MarketPnl[]
  worst: MarketPnl[]
  exposure: ExposureRow[]
  trades_per_day: { date: string; opened: number; settled: number }[]
  equity: { date: string; total_value: number; balance: number; total_profit_loss: number }[]
}

const TOP = 5
const DAY_MS = 86_400_000
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** A settled trade's P&L is realized; an open one's is its last mark. */
const pnlOf = (t: Trade) => (t.status === 'closed' ? (t.realized_pnl ?? 0) : (t.current_pnl ?? 0))

export function bucketFor(endDate: string | null, clock: Date): Bucket {
  const end = endDate ? Date.parse(endDate) : NaN
  if (Number.isNaN(end)) return 'unknown'
  const days = (end - clock.getTime()) / DAY_MS
  if (days < 1) return '<1d'
  if (days < 7) return '1-7d'
  if (days < 30) return '7-30d'
  if (days < 90) return '30-90d'
  return '>90d'
}

/** `since` as a comparable ISO instant (a bare date is its UTC midnight). */
export function sinceInstant(since: string): string {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(since) ? `${since}T00:00:00Z` : since)
  if (Number.isNaN(t)) throw new RangeError(`not a date: ${since}`)
  return new Date(t).toISOString()
}

function byMarket(trades: Trade[]): MarketPnl[] {
  const m = new Map<string, MarketPnl>()
  for (const t of trades) {
    const row = m.get(t.market_id) ?? {
      market_id: t.market_id,
      question: t.market_question,
      event_id: t.event_id,
      event_title: t.event_title,
      trades: 0,
      open: 0,
      settled: 0,
      invested: 0,
      realized_pnl: 0,
      unrealized_pnl: 0,
      pnl: 0,
    }
    row.trades++
    row.invested = money(row.invested + t.amount)
    if (t.status === 'closed') {
      row.settled++
      row.realized_pnl = money(row.realized_pnl + (t.realized_pnl ?? 0))
    } else {
      row.open++
      row.unrealized_pnl = money(row.unrealized_pnl + (t.current_pnl ?? 0))
    }
    row.pnl = money(row.realized_pnl + row.unrealized_pnl)
    m.set(t.market_id, row)
  }
  return [...m.values()].sort((a, b) => b.pnl - a.pnl || cmp(a.market_id, b.market_id))
}

function byEvent(markets: MarketPnl[]): EventPnl[] {
  const m = new Map<string, EventPnl>()
  for (const r of markets) {
    const key = r.event_id ?? ''
    const row = m.get(key) ?? { event_id: r.event_id, event_title: r.event_title, markets: 0, trades: 0, invested: 0, realized_pnl: 0, unrealized_pnl: 0, pnl: 0 }
    row.markets++
    row.trades += r.trades
    row.invested = money(row.invested + r.invested)
    row.realized_pnl = money(row.realized_pnl + r.realized_pnl)
    row.unrealized_pnl = money(row.unrealized_pnl + r.unrealized_pnl)
    row.pnl = money(row.realized_pnl + row.unrealized_pnl)
    row.event_title ??= r.event_title
    m.set(key, row)
  }
  return [...m.values()].sort((a, b) => b.pnl - a.pnl || cmp(a.event_id ?? '', b.event_id ?? ''))
}

function exposure(open: Trade[], clock: Date): ExposureRow[] {
  const rows = new Map<Bucket, ExposureRow>(BUCKETS.map((b) => [b, { bucket: b, trades: 0, amount: 0, value: 0 }]))
  for (const t of open) {
    const r = rows.get(bucketFor(t.event_end_date, clock))!
    r.trades++
    r.amount = money(r.amount + t.amount)
    r.value = money(r.value + t.amount + (t.current_pnl ?? 0))
  }
  return [...rows.values()]
}

function perDay(trades: Trade[]): Report['trades_per_day'] {
  const days = new Map<string, { date: string; opened: number; settled: number }>()
  const day = (d: string) => days.get(d) ?? days.set(d, { date: d, opened: 0, settled: 0 }).get(d)!
  for (const t of trades) {
    day(t.timestamp.slice(0, 10)).opened++
    if (t.status === 'closed' && t.exit_timestamp) day(t.exit_timestamp.slice(0, 10)).settled++
  }
  return [...days.values()].sort((a, b) => cmp(a.date, b.date))
}

export function computeReport(input: ReportInput): Report {
  const since = input.since ? sinceInstant(input.since) : null
  const trades = input.trades.filter((t) => !since || t.timestamp >= since)
  const open = trades.filter((t) => t.status === 'open')
  const settled = trades.filter((t) => t.status === 'closed')
  const sum = (xs: Trade[], f: (t: Trade) => number) => money(xs.reduce((s, t) => s + f(t), 0))

  const wins = settled.filter((t) => (t.realized_pnl ?? 0) > 0).length
  const losses = settled.filter((t) => (t.realized_pnl ?? 0) < 0).length
  const edged = settled.filter((t) => t.exit_price !== null)
  const realized = sum(settled, pnlOf)
  const unrealized = sum(open, pnlOf)
  const pf = input.portfolio
  const markets = byMarket(trades)
  const sinceDay = since?.slice(0, 10)

  return {
    clock: input.clock.toISOString(),
    since,
    summary: {
      balance: pf ? pf.balance : null,
      invested: sum(open, (t) => t.amount),
      invested_total: sum(trades, (t) => t.amount),
      realized_pnl: realized,
      unrealized_pnl: unrealized,
      total_pnl: money(realized + unrealized),
      total_value: pf ? money(pf.balance + pf.positions.reduce((s, p) => s + p.amount + (p.current_pnl ?? 0), 0)) : null,
      trades: trades.length,
      open_trades: open.length,
      settled_trades: settled.length,
      wins,
      losses,
      win_rate: settled.length ? round(wins / settled.length, 4) : null,
      avg_edge: edged.length ? round(edged.reduce((s, t) => s + (t.exit_price! - t.entry_price), 0) / edged.length, 6) : null,
    },
    by_market: markets,
    by_event: byEvent(markets),
    best: markets.slice(0, TOP),
    worst: [...markets].sort((a, b) => a.pnl - b.pnl || cmp(a.market_id, b.market_id)).slice(0, TOP),
    exposure: exposure(open, input.clock),
    trades_per_day: perDay(trades),
    equity: input.history
      .filter((h) => !sinceDay || h.snapshot_date >= sinceDay)
      .sort((a, b) => cmp(a.snapshot_date, b.snapshot_date))
      .map((h) => ({ date: h.snapshot_date, total_value: h.total_value, balance: h.balance, total_profit_loss: h.total_profit_loss })),
  }
}
