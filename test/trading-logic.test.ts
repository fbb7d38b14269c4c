import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Portfolio, Trade } from '../src/domain.ts'
import { Exit, PrescientError } from '../src/errors.ts'
import { DEFAULT_STRATEGY, runTradingLogic, strategyFromEnv } from '../src/trading/logic.ts'
import { SourceBuilder, loadRecorded } from '../src/trading/source.ts'
import type { SourceData, StrategyConfig, TradingOutcome } from '../src/trading/types.ts'
import { REPO, fixture, fixturesAvailable } from './_fixtures.ts'

const NOW = new Date('2026-03-01T12:00:00Z')
const DAY = 86_400_000
const inDays = (d: number, from = NOW) => new Date(from.getTime() + d * DAY).toISOString()
const tmp = mkdtempSync(join(tmpdir(), 'prescient-logic-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A raw Gamma /markets item: by default liquidity 500k (liqScore 1), 60.5 days to end (timeScore 0.5). */
const mk = (id: string, yes: number, over: Record<string, unknown> = {}) => ({
  id,
  question: `Market ${id}?`,
  outcomes: '["Yes", "No"]',
  outcomePrices: JSON.stringify([String(yes), String(Math.round((1 - yes) * 1e6) / 1e6)]),
  liquidity: '500000',
  liquidityNum: 500_000,
  volume: '1000000',
  volumeNum: 1_000_000,
  active: true,
  closed: false,
  endDate: inDays(60.5),
  updatedAt: NOW.toISOString(),
  events: [{ id: 'ev1', title: 'Event 1', endDate: inDays(61), liquidity: 1, volume: 2 }],
  ...over,
})
const resolvedMk = (id: string, yes: number, prices: string) => mk(id, yes, { closed: true, umaResolutionStatus: 'resolved', outcomePrices: prices })
const source = (...markets: unknown[]): SourceData => {
  const b = new SourceBuilder()
  markets.forEach((m, i) => b.addMarket(m, `test $[${i}]`))
  return b.finish('test', null, NOW.toISOString())
}
const run = (src: SourceData, prev: TradingOutcome | null = null, now = NOW, strategy: StrategyConfig = DEFAULT_STRATEGY) =>
  runTradingLogic({ source: src, portfolio: prev?.portfolio ?? null, openTrades: prev ? openTradesAfter(prev, []) : [], now, strategy })
/** The open trades a store would hold after a cycle: earlier open ones updated by the outcome. */
function openTradesAfter(o: TradingOutcome, earlier: Trade[]): Trade[] {
  const byId = new Map(earlier.map((t) => [t.trade_id, t]))
  for (const t of o.trades) byId.set(t.trade_id, t)
  return [...byId.values()].filter((t) => t.status === 'open')
}

describe('hand-checked numbers', () => {
  // yes 0.75: conviction 0.5; timeScore 1 − 59.5/119 = 0.5; liqScore log10(100)/2 = 1
  // confidence 0.5×0.5 + 0.25×0.5 + 0.25×1 = 0.625; p = 0.75 + 0.05×0.625 = 0.78125
  // kelly = 0.03125/0.25 = 0.125; amount = 10000 × 0.25 × 0.125 = 312.50; shares = 416.6667
  const first = run(source(mk('A', 0.75)))

  test('a buy: signal, trade, position, cash', () => {
    const [s] = first.signals
    expect(first.signals.length).toBe(1)
    expect(s).toMatchObject({ market_id: 'A', action: 'buy_yes', target_price: 0.75, amount: 312.5, confidence: 0.625, yes_price: 0.75, no_price: 0.25, market_liquidity: 500000, executed: true, executed_at: NOW.toISOString(), trade_id: 'trade_20260301_120000_A', event_id: 'ev1' })
    expect(first.trades).toEqual([expect.objectContaining({ trade_id: 'trade_20260301_120000_A', amount: 312.5, entry_price: 0.75, status: 'open', current_pnl: 0, realized_pnl: null, event_title: 'Event 1' })])
    expect(first.portfolio).toMatchObject({ balance: 9687.5, total_invested: 312.5, trade_count: 1, total_profit_loss: 0, created_at: NOW.toISOString() })
    expect(first.portfolio.positions).toEqual([expect.objectContaining({ market_id: 'A', amount: 312.5, entry_price: 0.75, entry_timestamp: NOW.toISOString(), status: 'open' })])
    expect(first.history).toEqual({ snapshot_date: '2026-03-01', timestamp: NOW.toISOString(), balance: 9687.5, total_invested: 312.5, total_profit_loss: 0, total_value: 10000, open_positions: 1, trade_count: 1 })
    expect(first.archive).toMatchObject({ archive_month: '2026-03', signals_count: 1, archived_at: NOW.toISOString() })
  })

  test('mark to market: 416.6667 × 0.9 − 312.5 = 62.50; no second position in a held market', () => {
    const later = new Date(NOW.getTime() + DAY)
    const o = run(source(mk('A', 0.9, { updatedAt: later.toISOString() })), first, later)
    expect(o.portfolio.positions[0]!.current_pnl).toBe(62.5)
    expect(o.trades).toEqual([expect.objectContaining({ trade_id: 'trade_20260301_120000_A', current_pnl: 62.5, status: 'open' })])
    expect(o.signals).toEqual([])
    expect(o.markets).toEqual([])
    expect(o.marketSnapshots.map((s) => [s.market_id, s.yes_price, s.market_conviction])).toEqual([['A', 0.9, 0.8]])
    expect(o.portfolio.total_profit_loss).toBe(62.5)
    expect(o.history.total_value).toBe(10062.5)
    expect(o.stats.marked).toBe(1)
  })

  test('settlement, YES wins: 416.6667 × 1 − 312.5 = 104.17 and the cash comes back', () => {
    const o = run(source(resolvedMk('A', 1, '["1", "0"]')), first)
    expect(o.portfolio.positions).toEqual([])
    expect(o.portfolio.balance).toBe(10104.17)
    expect(o.portfolio.total_profit_loss).toBe(104.17)
    expect(o.trades).toEqual([expect.objectContaining({ status: 'closed', exit_price: 1, exit_timestamp: NOW.toISOString(), current_pnl: 104.17, realized_pnl: 104.17 })])
    expect(o.stats).toMatchObject({ settled: 1, realized_pnl: 104.17 })
    expect(o.history).toMatchObject({ total_value: 10104.17, open_positions: 0, total_invested: 312.5 })
    // realized P&L stays in the total on later cycles
    const next = runTradingLogic({ source: source(), portfolio: o.portfolio, openTrades: [], now: NOW, strategy: DEFAULT_STRATEGY })
    expect(next.portfolio.total_profit_loss).toBe(104.17)
  })

  test('settlement, YES loses: −312.50, nothing comes back', () => {
    const o = run(source(resolvedMk('A', 0, '["0", "1"]')), first)
    expect(o.portfolio.balance).toBe(9687.5)
    expect(o.trades[0]).toMatchObject({ status: 'closed', exit_price: 0, realized_pnl: -312.5 })
  })

  test('buy NO when YES is the underdog, and it settles on the NO payout', () => {
    const o = run(source(mk('B', 0.25)))
    expect(o.signals[0]).toMatchObject({ action: 'buy_no', target_price: 0.75, amount: 312.5 })
    const s = run(source(resolvedMk('B', 0, '["0", "1"]')), o)
    expect(s.trades[0]).toMatchObject({ exit_price: 1, realized_pnl: 104.17 })
  })

  test('closed with no clear outcome (0/0) is not settled and not marked at 0', () => {
    const marked = run(source(mk('A', 0.9)), first)
    const o = run(source(mk('A', 0, { closed: true, outcomePrices: '["0", "0"]' })), marked)
    expect(o.portfolio.positions[0]!.current_pnl).toBe(62.5)
    expect(o.stats).toMatchObject({ settled: 0, marked: 0 })
    expect(o.trades).toEqual([])
  })

  test('a position whose market is absent keeps its last P&L', () => {
    const marked = run(source(mk('A', 0.9)), first)
    const o = run(source(mk('Z', 0.75)), marked)
    expect(o.portfolio.positions.find((p) => p.market_id === 'A')!.current_pnl).toBe(62.5)
    expect(o.portfolio.total_profit_loss).toBe(62.5)
  })

  test('Kelly caps: position fraction and amount', () => {
    // yes 0.1, 1.5 days: confidence ≈ 0.899, p ≈ 0.945, kelly ≈ 0.449 -> raw ≈ 1122 -> capped
    const m = mk('C', 0.1, { endDate: inDays(1.5) })
    expect(run(source(m)).signals[0]).toMatchObject({ action: 'buy_no', target_price: 0.9, amount: 400 })
    expect(run(source(m), null, NOW, { ...DEFAULT_STRATEGY, maxPositionAmount: 300 }).signals[0]!.amount).toBe(300)
    expect(run(source(m), null, NOW, { ...DEFAULT_STRATEGY, maxPositionFraction: 0.02 }).signals[0]!.amount).toBe(200)
    expect(run(source(m), null, NOW, { ...DEFAULT_STRATEGY, minTradeAmount: 500 }).signals).toEqual([])
  })

  test('the cash reserve caps a trade, or leaves the signal unexecuted', () => {
    const m = mk('C', 0.1, { endDate: inDays(1.5) })
    const held = (balance: number): Portfolio => ({
      balance,
      total_invested: 10_000 - balance,
      total_profit_loss: 0,
      trade_count: 1,
      created_at: NOW.toISOString(),
      last_updated: NOW.toISOString(),
      positions: [{ trade_id: 't0', market_id: 'gone', market_question: 'Gone?', action: 'buy_yes', amount: 10_000 - balance, entry_price: 0.5, entry_timestamp: NOW.toISOString(), status: 'open', current_pnl: 0, realized_pnl: null, exit_price: null, exit_timestamp: null }],
    })
    // equity 10,000; 20% reserve = 2,000; 100 of cash above it
    const o = runTradingLogic({ source: source(m), portfolio: held(2100), openTrades: [], now: NOW, strategy: DEFAULT_STRATEGY })
    expect(o.signals[0]).toMatchObject({ amount: 100, executed: true })
    expect(o.signals[0]!.reason).toContain('cash reserve')
    expect(o.portfolio.balance).toBe(2000)
    const none = runTradingLogic({ source: source(m), portfolio: held(2005), openTrades: [], now: NOW, strategy: DEFAULT_STRATEGY })
    expect(none.signals[0]).toMatchObject({ executed: false, executed_at: null, trade_id: null })
    expect(none.stats).toMatchObject({ signals: 1, executed: 0 })
    expect(none.trades).toEqual([])
  })

  test('at most maxTradesPerCycle, highest confidence first, ties by market id', () => {
    const o = run(source(mk('c', 0.75), mk('a', 0.75), mk('x', 0.2), mk('b', 0.75)), null, NOW, { ...DEFAULT_STRATEGY, maxTradesPerCycle: 3 })
    expect(o.signals.map((s) => s.market_id)).toEqual(['x', 'a', 'b'])
  })

  test('filters: closed, inactive, pending UMA, not accepting orders, thresholds, price band, past end date', () => {
    const o = run(
      source(
        mk('ok', 0.75),
        mk('closed', 0.75, { closed: true }),
        mk('inactive', 0.75, { active: false }),
        mk('proposed', 0.75, { umaResolutionStatus: 'proposed' }),
        mk('frozen', 0.75, { acceptingOrders: false }),
        mk('thin', 0.75, { liquidityNum: 4999 }),
        mk('quiet', 0.75, { volumeNum: 100 }),
        mk('past', 0.75, { endDate: inDays(-2) }),
        mk('far', 0.75, { endDate: inDays(200) }),
        mk('cheap', 0.02),
        mk('noprice', 0.75, { outcomePrices: null }),
      ),
    )
    expect(o.markets.map((m) => m.market_id)).toEqual(['ok'])
    expect(o.events).toEqual([expect.objectContaining({ event_id: 'ev1', days_until_end: 61, liquidity: 1, volume: 2, is_filtered: true })])
    expect(o.markets[0]).toMatchObject({ yes_price: 0.75, no_price: 0.25, market_conviction: 0.5, liquidity: 500000, event_id: 'ev1', is_filtered: true })
    expect(o.marketSnapshots).toEqual([{ market_id: 'ok', timestamp: NOW.toISOString(), yes_price: 0.75, no_price: 0.25, liquidity: 500000, volume: 1000000, volume24hr: null, market_conviction: 0.5 }])
  })

  test('conviction outside [min, max] makes no signal', () => {
    expect(run(source(mk('coin', 0.55))).signals).toEqual([])
    expect(run(source(mk('coin', 0.55)), null, NOW, { ...DEFAULT_STRATEGY, minConviction: 0 }).signals.length).toBe(1)
  })
})

describe('strategyFromEnv', () => {
  test('defaults, overrides and validation naming the variable', () => {
    expect(strategyFromEnv({})).toEqual(DEFAULT_STRATEGY)
    expect(strategyFromEnv({ PRESCIENT_MIN_LIQUIDITY: '250', PRESCIENT_MAX_TRADES_PER_CYCLE: ' 3 ', PRESCIENT_KELLY_FRACTION: '' })).toMatchObject({ minLiquidity: 250, maxTradesPerCycle: 3, kellyFraction: 0.25 })
    for (const [name, value, msg] of [
      ['PRESCIENT_MIN_LIQUIDITY', 'lots', 'must be a number'],
      ['PRESCIENT_KELLY_FRACTION', '1.5', 'between 0 and 1'],
      ['PRESCIENT_MAX_TRADES_PER_CYCLE', '2.5', 'whole number'],
      ['PRESCIENT_STARTING_BALANCE', '0', 'more than 0'],
      ['PRESCIENT_MIN_PRICE', '0.99', 'PRESCIENT_MAX_PRICE'],
    ]) {
      let err: unknown
      try {
        strategyFromEnv({ [name!]: value })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(PrescientError)
      expect((err as PrescientError).exitCode).toBe(Exit.usage)
      expect((err as PrescientError).message).toContain(name!)
      expect((err as PrescientError).message).toContain(msg!)
    }
  })
})

describe('bundled sample snapshot', () => {
  test('open: a handful of trades; a week later: 6 settle, 5 are marked', async () => {
    const open = await loadRecorded(resolve(REPO, 'data/sample/markets_open.json'))
    const o1 = runTradingLogic({ source: open, portfolio: null, openTrades: [], now: new Date(open.snapshotTime!), strategy: DEFAULT_STRATEGY })
    expect(o1.stats).toMatchObject({ signals: 11, executed: 11, rejects: 1 })
    const res = await loadRecorded(resolve(REPO, 'data/sample/markets_resolved.json'))
    const o2 = runTradingLogic({ source: res, portfolio: o1.portfolio, openTrades: openTradesAfter(o1, []), now: new Date(res.snapshotTime!), strategy: DEFAULT_STRATEGY })
    expect(o2.stats).toMatchObject({ settled: 6, marked: 5 })
    expect(o2.portfolio.positions.length).toBe(5 + o2.stats.executed)
  })
})

describe.skipIf(!fixturesAvailable)('real recorded data', () => {
  const at = (s: SourceData) => new Date(s.snapshotTime!)
  const fresh = (s: SourceData) => runTradingLogic({ source: s, portfolio: null, openTrades: [], now: at(s), strategy: DEFAULT_STRATEGY })

  test.each(['gamma_markets_active_2026-01-10.json', 'gamma_markets_active_2026-01-31.json', 'gamma_markets_active_2025-05-07.json'])('%s: a handful of signals, all executed', async (name) => {
    const o = fresh(await loadRecorded(fixture(name)))
    expect(o.stats.signals).toBeGreaterThanOrEqual(3)
    expect(o.stats.signals).toBeLessThanOrEqual(15)
    expect(o.stats.executed).toBe(o.stats.signals)
    expect(o.portfolio.balance).toBeGreaterThanOrEqual(DEFAULT_STRATEGY.startingBalance * DEFAULT_STRATEGY.cashReserveFraction)
  })

  test('deterministic, and the input is not mutated', async () => {
    const s = await loadRecorded(fixture('gamma_markets_active_2026-01-31.json'))
    const before = JSON.stringify(s)
    expect(JSON.stringify(fresh(s))).toBe(JSON.stringify(fresh(s)))
    expect(JSON.stringify(s)).toBe(before)
  })

  test('2026-01-10 then 2026-01-31: overlapping positions are marked to market', async () => {
    const a = await loadRecorded(fixture('gamma_markets_active_2026-01-10.json'))
    const b = await loadRecorded(fixture('gamma_markets_active_2026-01-31.json'))
    const o1 = fresh(a)
    const o2 = runTradingLogic({ source: b, portfolio: o1.portfolio, openTrades: openTradesAfter(o1, []), now: at(b), strategy: DEFAULT_STRATEGY })
    const inB = new Map(b.events.flatMap((e) => e.markets).map((m) => [m.id, m]))
    const overlapping = o1.portfolio.positions.filter((p) => inB.has(p.market_id))
    expect(overlapping.length).toBeGreaterThanOrEqual(2)
    expect(o2.stats.marked).toBe(overlapping.length)
    for (const p of o2.portfolio.positions.filter((x) => o1.portfolio.positions.some((q) => q.trade_id === x.trade_id))) {
      const m = inB.get(p.market_id)
      const px = m ? (p.action === 'buy_yes' ? m.yesPrice! : m.noPrice!) : null
      const want = px === null ? 0 : Math.round(((p.amount / p.entry_price) * px - p.amount) * 100) / 100
      expect(p.current_pnl).toBeCloseTo(want, 2)
    }
    // marked trades are reported; held markets are not bought again
    expect(o2.trades.filter((t) => t.current_pnl !== 0).length).toBe(overlapping.filter((p) => o2.portfolio.positions.find((q) => q.trade_id === p.trade_id)!.current_pnl !== 0).length)
    const ids = o2.portfolio.positions.map((p) => p.market_id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(o2.marketSnapshots.filter((s) => overlapping.some((p) => p.market_id === s.market_id)).length).toBe(overlapping.length)
  })

  test('settlement on a resolved file derived from the held markets', async () => {
    const a = await loadRecorded(fixture('gamma_markets_active_2026-01-10.json'))
    const o1 = fresh(a)
    const held = new Map(o1.portfolio.positions.map((p, i) => [p.market_id, i % 2 === 0 ? '["1", "0"]' : '["0", "1"]']))
    const raw = JSON.parse(readFileSync(fixture('gamma_markets_active_2026-01-10.json'), 'utf8')) as Record<string, unknown>[]
    const later = '2026-02-15T00:00:00Z'
    const resolved = raw.filter((m) => held.has(String(m.id))).map((m) => ({ ...m, closed: true, umaResolutionStatus: 'resolved', outcomePrices: held.get(String(m.id)), updatedAt: later, closedTime: '2026-02-14 20:00:00+00' }))
    const path = join(tmp, 'resolved.json')
    writeFileSync(path, JSON.stringify(resolved))
    const s = await loadRecorded(path)
    const o2 = runTradingLogic({ source: s, portfolio: o1.portfolio, openTrades: openTradesAfter(o1, []), now: at(s), strategy: DEFAULT_STRATEGY })
    let expectBalance = o1.portfolio.balance
    let realized = 0
    for (const p of o1.portfolio.positions) {
      const [yes, no] = JSON.parse(held.get(p.market_id)!).map(Number)
      const pnl = Math.round(((p.amount / p.entry_price) * (p.action === 'buy_yes' ? yes : no) - p.amount) * 100) / 100
      realized += pnl
      expectBalance += p.amount + pnl
    }
    expect(o2.stats.settled).toBe(o1.portfolio.positions.length)
    expect(o2.portfolio.positions).toEqual([])
    expect(o2.portfolio.balance).toBeCloseTo(expectBalance, 2)
    expect(o2.stats.realized_pnl).toBeCloseTo(realized, 2)
    expect(o2.portfolio.total_profit_loss).toBeCloseTo(realized, 2)
    expect(o2.trades.every((t) => t.status === 'closed' && t.exit_timestamp === at(s).toISOString())).toBe(true)
    expect(o2.signals).toEqual([])
  })

  test('btc5m resolved data: parses, and a position in it settles', async () => {
    const s = await loadRecorded(fixture('btc5m_markets_resolved_2026-07-24.jsonl.gz'))
    const m = s.events[0]!.markets[0]!
    expect(m.resolved).toBe(true)
    const portfolio: Portfolio = { balance: 9900, total_invested: 100, total_profit_loss: 0, trade_count: 1, created_at: NOW.toISOString(), last_updated: NOW.toISOString(), positions: [{ trade_id: 't1', market_id: m.id, market_question: m.question, action: 'buy_yes', amount: 100, entry_price: 0.5, entry_timestamp: NOW.toISOString(), status: 'open', current_pnl: 0, realized_pnl: null, exit_price: null, exit_timestamp: null }] }
    const o = runTradingLogic({ source: s, portfolio, openTrades: [], now: at(s), strategy: DEFAULT_STRATEGY })
    expect(o.stats.settled).toBe(1)
    expect(o.stats.realized_pnl).toBe(m.payoutYes === 1 ? 100 : -100)
    expect(o.portfolio.balance).toBe(m.payoutYes === 1 ? 10100 : 9900)
    expect(o.signals).toEqual([])
  })
})
