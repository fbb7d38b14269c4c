/**
 * The one Store contract suite (in the style of lucia's testAdapter and
 * unstorage's testDriver). Every Store implementation runs it: call
 * `storeContract(name, factory)` from a test file; `factory` returns an empty
 * store and is called before each test.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { CycleChanges, Store } from '../src/store/types.ts'
import { GROUPS } from '../src/phase.ts'
import type { Position, Trade } from '../src/domain.ts'
import type { Q } from '../src/db/client.ts'

export const AT = '2025-10-20T17:02:45.884Z'

const trade = (id: string, over: Partial<Trade> = {}): Trade => ({
  trade_id: id,
  timestamp: '2025-10-20T10:00:00.000Z',
  market_id: `m-${id}`,
  market_question: `Will ${id} happen?`,
  action: 'buy_yes',
  amount: 1234.56,
  entry_price: 0.123456,
  confidence: 0.8765,
  reason: 'conviction 0.75, 12 days left',
  status: 'open',
  event_id: 'e1',
  event_title: 'Event one',
  event_end_date: '2025-12-31T12:00:00.000Z',
  current_pnl: -12.34,
  realized_pnl: null,
  exit_price: null,
  exit_timestamp: null,
  ...over,
})

export const positionOf = (t: Trade): Position => ({
  trade_id: t.trade_id,
  market_id: t.market_id,
  market_question: t.market_question,
  action: t.action,
  amount: t.amount,
  entry_price: t.entry_price,
  entry_timestamp: t.timestamp,
  status: t.status,
  current_pnl: t.current_pnl,
  realized_pnl: t.realized_pnl,
  exit_price: t.exit_price,
  exit_timestamp: t.exit_timestamp,
})

/** A cycle's changes with every record kind, nulls, awkward decimals and ISO times. */
export function sampleChanges(): CycleChanges {
  const t1 = trade('t1')
  const t2 = trade('t2', {
    timestamp: '2025-10-19T08:30:00.123Z', action: 'buy_no', amount: 100, entry_price: 0.5, confidence: 0.5, reason: null,
    status: 'closed', event_id: null, event_title: null, event_end_date: null, current_pnl: null, realized_pnl: 99.99,
    exit_price: 1, exit_timestamp: '2025-10-20T09:00:00.000Z',
  })
  const t3 = trade('t3', { timestamp: '2025-10-20T17:02:45.884Z', market_id: 'm-shared', amount: 0.01, entry_price: 0.999999, current_pnl: 0 })
  const signals = [
    {
      timestamp: AT, market_id: 'm-shared', market_question: 'Will t3 happen?', action: 'buy_yes' as const, target_price: 0.999999,
      amount: 0.01, confidence: 0.9, reason: 'strong', yes_price: 0.999999, no_price: 0.000001, market_liquidity: 1234567.89,
      market_volume: 0.01, event_id: 'e1', event_title: 'Event one', event_end_date: '2025-12-31T12:00:00.000Z',
      executed: true, executed_at: AT, trade_id: 't3',
    },
    {
      timestamp: AT, market_id: 'm-skip', market_question: 'Skipped?', action: 'buy_no' as const, target_price: 0.4,
      amount: 50, confidence: 0.1234, reason: null, yes_price: 0.6, no_price: 0.4, market_liquidity: null,
      market_volume: null, event_id: null, event_title: null, event_end_date: null, executed: false, executed_at: null, trade_id: null,
    },
  ]
  return {
    at: AT,
    portfolio: {
      balance: 8765.43, total_invested: 1234.57, total_profit_loss: -0.01, trade_count: 3,
      created_at: '2025-10-01T00:00:00.000Z', last_updated: AT,
      positions: [positionOf(t1), positionOf(t3)],
    },
    trades: [t1, t2, t3],
    signals,
    archive: { archived_at: AT, archive_month: '2025-10', signals_count: 2, signals },
    history: {
      snapshot_date: '2025-10-20', timestamp: AT, balance: 8765.43, total_invested: 1234.57, total_profit_loss: -0.01,
      total_value: 9999.99, open_positions: 2, trade_count: 3,
    },
    rawEvents: { fetched_at: AT, source: 'test', events: [{ id: 'e1', title: 'Event one', markets: [] }] },
    events: [
      { event_id: 'e2', title: 'Event two', slug: null, liquidity: null, volume: null, volume24hr: null, start_date: null, end_date: null, days_until_end: null, event_data: {}, is_filtered: true },
      {
        event_id: 'e1', title: 'Event one', slug: 'event-one', liquidity: 1234.56, volume: 98765.43, volume24hr: 0.5,
        start_date: '2025-01-01T00:00:00.000Z', end_date: '2025-12-31T12:00:00.000Z', days_until_end: -3,
        event_data: { id: 'e1', tags: [{ label: 'x' }], nested: { a: null, b: 1.5 } }, is_filtered: true,
      },
    ],
    markets: [
      {
        market_id: 'm-shared', question: 'Will t3 happen?', event_id: 'e1', event_title: 'Event one', event_end_date: '2025-12-31T12:00:00.000Z',
        liquidity: 1234567.89, volume: 0.01, volume24hr: null, yes_price: 0.999999, no_price: 0.000001, market_conviction: 0.999998,
        market_data: { outcomes: '["Yes","No"]', clobTokenIds: ['1', '2'] }, is_filtered: true,
      },
      {
        market_id: 'm-skip', question: 'Skipped?', event_id: null, event_title: null, event_end_date: null, liquidity: null, volume: null,
        volume24hr: null, yes_price: null, no_price: null, market_conviction: null, market_data: {}, is_filtered: true,
      },
    ],
    marketSnapshots: [
      { market_id: 'm-shared', timestamp: AT, yes_price: 0.999999, no_price: 0.000001, liquidity: 1234567.89, volume: 0.01, volume24hr: null, market_conviction: 0.999998 },
    ],
    metadata: { last_trade_execution: AT, last_cycle_phase: '4' },
  }
}

/** Back to a freshly migrated database: no rows, the seed's metadata keys only. */
export async function resetPgTables(sql: Q): Promise<void> {
  await sql`
    truncate trading_signals, trades, portfolio_state, portfolio_positions, portfolio_snapshots,
             portfolio_history, signal_archives, events, markets, market_snapshots restart identity`
  await sql`delete from system_metadata where key not in ('schema_version', 'last_event_export', 'last_market_filter', 'last_signal_generation', 'last_trade_execution')`
}

const byId = <T>(key: keyof T) => (a: T, b: T) => (String(a[key]) < String(b[key]) ? -1 : 1)
const newestFirst = (a: Trade, b: Trade) => (a.timestamp === b.timestamp ? (a.trade_id < b.trade_id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1)

/** Everything a store holds, as the contract reads it. */
export async function snapshot(s: Store) {
  return {
    portfolio: await s.loadPortfolio(),
    trades: await s.loadTrades(),
    signals: await s.loadSignals(),
    history: await s.loadHistory(),
    archives: await s.loadArchives(),
    events: await s.loadEvents(),
    markets: await s.loadMarkets(),
  }
}

export function storeContract(name: string, factory: () => Promise<Store>) {
  describe(`Store contract: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await factory()
    })
    afterEach(() => store?.close())

    test('an empty store loads null and empty lists', async () => {
      expect(await snapshot(store)).toEqual({ portfolio: null, trades: [], signals: [], history: [], archives: [], events: [], markets: [] })
    })

    test('a commit round-trips every record kind exactly', async () => {
      const c = sampleChanges()
      await store.commit(c, GROUPS)
      expect(await snapshot(store)).toEqual({
        portfolio: c.portfolio,
        trades: [...c.trades].sort(newestFirst),
        signals: c.signals,
        history: [c.history],
        archives: [c.archive!],
        events: [...c.events].sort(byId('event_id')),
        markets: [...c.markets].sort(byId('market_id')),
      })
    })

    test('naive seed times and extra decimals are normalised the same way', async () => {
      const c = sampleChanges()
      c.trades = [{ ...c.trades[0]!, timestamp: '2025-10-20T17:02:45.884042', amount: 100.004, entry_price: 0.12345678 }]
      await store.commit(c, ['portfolio'])
      const [t] = await store.loadTrades()
      expect(t).toMatchObject({ timestamp: '2025-10-20T17:02:45.884Z', amount: 100, entry_price: 0.123457 })
    })

    test('a changed trade replaces the stored one, and a closed position leaves', async () => {
      const c = sampleChanges()
      await store.commit(c, GROUPS)
      const closed = { ...c.trades[0]!, status: 'closed' as const, current_pnl: null, realized_pnl: 8765.43, exit_price: 1, exit_timestamp: '2025-10-21T00:00:00.000Z' }
      const next = { ...sampleChanges(), at: '2025-10-21T00:00:00.000Z', trades: [closed] }
      next.portfolio = { ...next.portfolio, positions: next.portfolio.positions.filter((p) => p.trade_id !== 't1') }
      await store.commit(next, GROUPS)
      const trades = await store.loadTrades()
      expect(trades).toHaveLength(3)
      expect(trades.find((t) => t.trade_id === 't1')).toEqual(closed)
      expect((await store.loadPortfolio())!.positions.map((p) => p.trade_id)).toEqual(['t3'])
    })

    test('a day has one history row: the same date replaces it, a new date adds one', async () => {
      const c = sampleChanges()
      await store.commit(c, ['history'])
      await store.commit({ ...c, history: { ...c.history, balance: 1, timestamp: '2025-10-20T23:59:59.999Z' } }, ['history'])
      expect(await store.loadHistory()).toEqual([{ ...c.history, balance: 1, timestamp: '2025-10-20T23:59:59.999Z' }])
      const tomorrow = { ...c.history, snapshot_date: '2025-10-21', timestamp: '2025-10-21T00:00:01.000Z' }
      await store.commit({ ...c, history: tomorrow, archive: null }, ['history'])
      expect((await store.loadHistory()).map((h) => h.snapshot_date)).toEqual(['2025-10-20', '2025-10-21'])
    })

    test('archives are kept per month and read back in time order', async () => {
      const c = sampleChanges()
      const nov = { ...c.archive!, archived_at: '2025-11-01T00:00:00.000Z', archive_month: '2025-11', signals_count: 0, signals: [] }
      await store.commit({ ...c, archive: nov }, ['history'])
      await store.commit(c, ['history'])
      expect(await store.loadArchives()).toEqual([c.archive!, nov])
    })

    test('re-committing the same changes is idempotent', async () => {
      const c = sampleChanges()
      await store.commit(c, GROUPS)
      const once = await snapshot(store)
      await store.commit(c, GROUPS)
      expect(await snapshot(store)).toEqual(once)
    })

    test('signals, events and markets are replaced by each cycle\'s set', async () => {
      const c = sampleChanges()
      await store.commit(c, GROUPS)
      const next = { ...c, at: '2025-10-21T00:00:00.000Z', signals: [], archive: null, events: [c.events[0]!], markets: [c.markets[1]!], marketSnapshots: [] }
      await store.commit(next, GROUPS)
      expect(await store.loadSignals()).toEqual([])
      expect(await store.loadEvents()).toEqual([c.events[0]!])
      expect(await store.loadMarkets()).toEqual([c.markets[1]!])
    })

    test('a commit of some groups leaves the other groups untouched', async () => {
      const c = sampleChanges()
      await store.commit(c, ['history'])
      expect(await store.loadPortfolio()).toBeNull()
      expect(await store.loadTrades()).toEqual([])
      expect(await store.loadSignals()).toEqual([])
      expect(await store.loadEvents()).toEqual([])
      await store.commit(c, GROUPS)
      const before = await snapshot(store)
      const next = sampleChanges()
      next.portfolio = { ...next.portfolio, balance: 1.5 }
      next.history = { ...next.history, balance: 2.5 }
      next.signals = []
      next.events = []
      next.markets = []
      await store.commit(next, ['portfolio'])
      const after = await snapshot(store)
      expect(after.portfolio!.balance).toBe(1.5)
      expect({ ...after, portfolio: null }).toEqual({ ...before, portfolio: null })
    })

    test('an invalid change is refused and nothing is written', async () => {
      const c = sampleChanges()
      await store.commit(c, GROUPS)
      const before = await snapshot(store)
      const bad = { ...c, portfolio: { ...c.portfolio, balance: 5 }, trades: [{ ...c.trades[0]!, amount: Number.NaN }] }
      await expect(store.commit(bad, GROUPS)).rejects.toThrow(/changes\.trades \$\[0\]\.amount/)
      expect(await snapshot(store)).toEqual(before)
    })

    test('a commit waits for its gate to open, and a gate that closes commits nothing', async () => {
      const c = sampleChanges()
      let open!: () => void
      const committed = store.commit(c, GROUPS, { gate: new Promise<void>((resolve) => (open = resolve)) })
      await Bun.sleep(50)
      expect(await store.loadPortfolio()).toBeNull()
      expect(await store.loadTrades()).toEqual([])
      open()
      await committed
      const before = await snapshot(store)
      expect(before.portfolio).toEqual(c.portfolio)
      const next = { ...sampleChanges(), at: '2025-10-21T00:00:00.000Z', signals: [], archive: null, events: [], markets: [] }
      next.portfolio = { ...next.portfolio, balance: 1.5, positions: [] }
      await expect(store.commit(next, GROUPS, { gate: Promise.reject(new Error('refused by the caller')) })).rejects.toThrow('refused by the caller')
      expect(await snapshot(store)).toEqual(before)
    })

    test('loadTrades filters by market and status, newest first, with a limit', async () => {
      const c = sampleChanges()
      const more = [trade('t4', { market_id: 'm-shared', timestamp: '2025-10-18T00:00:00.000Z' }), trade('t0', { market_id: 'm-shared', timestamp: AT })]
      await store.commit({ ...c, trades: [...c.trades, ...more] }, ['portfolio'])
      const ids = (ts: Trade[]) => ts.map((t) => t.trade_id)
      expect(ids(await store.loadTrades())).toEqual(['t3', 't0', 't1', 't2', 't4'])
      expect(ids(await store.loadTrades({ marketId: 'm-shared' }))).toEqual(['t3', 't0', 't4'])
      expect(ids(await store.loadTrades({ status: 'closed' }))).toEqual(['t2'])
      expect(ids(await store.loadTrades({ status: 'open', marketId: 'm-shared', limit: 2 }))).toEqual(['t3', 't0'])
      expect(ids(await store.loadTrades({ limit: 0 }))).toEqual([])
      expect(await store.loadTrades({ marketId: 'nope' })).toEqual([])
    })
  })
}
