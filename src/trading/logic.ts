/**
 * One cycle's trading rules as a pure function: source data + portfolio in, every fact
 * the stores must hold out. No I/O and no hidden clock, so a recorded snapshot gives the
 * same outcome every time. Steps, in order:
 *   1 settle positions whose market resolved (rule: src/schema/gamma.ts resolutionOf)
 *   2 mark the other open positions to market
 *   3 filter events and markets (filters.ts)
 *   4 signals (strategy.ts)          5 execute them (broker.ts)
 *   6 portfolio totals: total_profit_loss = realized P&L to date + open positions' current_pnl
 *   7 the day's history row: total_value = balance + Σ (amount + current_pnl) of open positions
 *   8 the month's signal archive     9 event/market records and market snapshots
 */
import * as v from 'valibot'
import { money, price, type EventRecord, type HistoryRow, type MarketRecord, type MarketSnapshot, type Trade } from '../domain.ts'
import { usageError } from '../errors.ts'
import { equityOf, execute, markToMarket, newPortfolio, positionValue, realizedToDate, settle, type Book } from './broker.ts'
import { daysToEnd, filterSource, marketIndex } from './filters.ts'
import { conviction, generateSignals } from './strategy.ts'
import type { NormMarket, StrategyConfig, TradingInput, TradingOutcome } from './types.ts'

/** Tuned to make a handful of trades on the bundled and recorded snapshots; see strategy.ts for the formulas. */
export const DEFAULT_STRATEGY: StrategyConfig = Object.freeze({
  startingBalance: 10_000,
  minLiquidity: 5_000,
  minVolume: 25_000,
  minDaysToEnd: 1,
  maxDaysToEnd: 120,
  minPrice: 0.05,
  maxPrice: 0.95,
  minConviction: 0.3,
  maxConviction: 0.9,
  kellyFraction: 0.25,
  maxPositionFraction: 0.04,
  maxPositionAmount: 400,
  cashReserveFraction: 0.2,
  minTradeAmount: 10,
  maxTradesPerCycle: 12,
})

/** startingBalance -> PRESCIENT_STARTING_BALANCE */
export const envName = (key: string) => `PRESCIENT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

const num = v.pipe(v.string(), v.trim(), v.regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'must be a number'), v.transform(Number), v.finite('must be finite'))
const fraction = () => v.pipe(num, v.minValue(0, 'must be between 0 and 1'), v.maxValue(1, 'must be between 0 and 1'))
const nonNeg = () => v.pipe(num, v.minValue(0, 'must be 0 or more'))

const ENV_SCHEMAS: { [K in keyof StrategyConfig]: v.GenericSchema<string, number> } = {
  startingBalance: v.pipe(num, v.gtValue(0, 'must be more than 0')),
  minLiquidity: nonNeg(),
  minVolume: nonNeg(),
  minDaysToEnd: num,
  maxDaysToEnd: num,
  minPrice: fraction(),
  maxPrice: fraction(),
  minConviction: fraction(),
  maxConviction: fraction(),
  kellyFraction: fraction(),
  maxPositionFraction: fraction(),
  maxPositionAmount: nonNeg(),
  cashReserveFraction: fraction(),
  minTradeAmount: nonNeg(),
  maxTradesPerCycle: v.pipe(num, v.integer('must be a whole number'), v.minValue(0, 'must be 0 or more')),
}

/** The strategy from PRESCIENT_* variables over the defaults; a bad value is a usage error naming the variable. */
export function strategyFromEnv(env: Record<string, string | undefined>): StrategyConfig {
  const cfg: StrategyConfig = { ...DEFAULT_STRATEGY }
  for (const key of Object.keys(ENV_SCHEMAS) as (keyof StrategyConfig)[]) {
    const name = envName(key)
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') continue
    const r = v.safeParse(ENV_SCHEMAS[key], raw)
    if (!r.success) throw usageError(`${name}=${JSON.stringify(raw)}: ${r.issues[0]?.message ?? 'is invalid'}`, `unset ${name} to use the default (${DEFAULT_STRATEGY[key]})`)
    cfg[key] = r.output
  }
  for (const [lo, hi] of [['minDaysToEnd', 'maxDaysToEnd'], ['minPrice', 'maxPrice'], ['minConviction', 'maxConviction']] as const) {
    if (cfg[lo] > cfg[hi]) throw usageError(`${envName(lo)} (${cfg[lo]}) is greater than ${envName(hi)} (${cfg[hi]})`)
  }
  return cfg
}

const optMoney = (x: number | null) => (x === null ? null : money(x))
const wholeDays = (end: string | null, now: Date) => {
  const d = daysToEnd(end, now)
  return d === null ? null : Math.floor(d)
}

function marketRecord(m: NormMarket): MarketRecord {
  return {
    market_id: m.id,
    question: m.question,
    event_id: m.eventId,
    event_title: m.eventTitle,
    event_end_date: m.eventEndDate,
    liquidity: optMoney(m.liquidity),
    volume: optMoney(m.volume),
    volume24hr: optMoney(m.volume24hr),
    yes_price: m.yesPrice === null ? null : price(m.yesPrice),
    no_price: m.noPrice === null ? null : price(m.noPrice),
    market_conviction: m.yesPrice === null ? null : conviction(m.yesPrice),
    market_data: m.raw,
    is_filtered: true,
  }
}

function snapshot(m: NormMarket, at: string): MarketSnapshot {
  const r = marketRecord(m)
  return { market_id: m.id, timestamp: at, yes_price: r.yes_price, no_price: r.no_price, liquidity: r.liquidity, volume: r.volume, volume24hr: r.volume24hr, market_conviction: r.market_conviction }
}

export function runTradingLogic(input: TradingInput): TradingOutcome {
  const { source, now, strategy: cfg } = input
  const at = now.toISOString()
  const portfolio = input.portfolio ? structuredClone(input.portfolio) : newPortfolio(cfg, now)
  const realizedBefore = realizedToDate(portfolio)
  const open = input.openTrades.filter((t) => t.status === 'open').map((t): [string, Trade] => [t.trade_id, structuredClone(t)])
  const book: Book = { portfolio, trades: new Map(open), changed: new Set() }
  const markets = marketIndex(source)
  const heldAtStart = portfolio.positions.map((p) => p.market_id)

  const { settled, realized } = settle(book, markets, now)
  const marked = markToMarket(book, markets)

  // A market with an open position, or an open trade, is never bought a second time.
  const held = new Set(portfolio.positions.map((p) => p.market_id))
  for (const t of book.trades.values()) if (t.status === 'open') held.add(t.market_id)
  const filtered = filterSource(source, cfg, now, held)

  const signals = generateSignals(filtered.markets, cfg, now, portfolio.balance, equityOf(portfolio))
  const executed = execute(book, signals, cfg, now)

  const unrealized = portfolio.positions.reduce((s, p) => s + (p.current_pnl ?? 0), 0)
  portfolio.total_profit_loss = money(realizedBefore + realized + unrealized)
  portfolio.last_updated = at

  const history: HistoryRow = {
    snapshot_date: at.slice(0, 10),
    timestamp: at,
    balance: portfolio.balance,
    total_invested: portfolio.total_invested,
    total_profit_loss: portfolio.total_profit_loss,
    total_value: money(portfolio.balance + portfolio.positions.reduce((s, p) => s + positionValue(p), 0)),
    open_positions: portfolio.positions.length,
    trade_count: portfolio.trade_count,
  }

  const events: EventRecord[] = filtered.events
    .filter(({ event }) => event.raw.synthetic !== true)
    .map(({ event: e }) => ({
      event_id: e.id,
      title: e.title,
      slug: e.slug,
      liquidity: optMoney(e.liquidity),
      volume: optMoney(e.volume),
      volume24hr: optMoney(e.volume24hr),
      start_date: e.startDate,
      end_date: e.endDate,
      days_until_end: wholeDays(e.endDate, now),
      event_data: e.raw,
      is_filtered: true,
    }))

  const snaps = new Map<string, MarketSnapshot>()
  for (const m of filtered.markets) snaps.set(m.id, snapshot(m, at))
  for (const id of heldAtStart) {
    const m = markets.get(id)
    if (m && !snaps.has(id)) snaps.set(id, snapshot(m, at))
  }

  const trades = [...book.trades.values()].filter((t) => book.changed.has(t.trade_id))
  return {
    portfolio,
    trades,
    signals,
    archive: signals.length ? { archived_at: at, archive_month: at.slice(0, 7), signals_count: signals.length, signals } : null,
    history,
    events,
    markets: filtered.markets.map(marketRecord),
    marketSnapshots: [...snaps.values()],
    stats: {
      events_in: source.events.length,
      markets_in: markets.size,
      events_kept: filtered.events.length,
      markets_kept: filtered.markets.length,
      signals: signals.length,
      executed: executed.length,
      marked,
      settled,
      realized_pnl: realized,
      rejects: source.rejects.length,
    },
  }
}
