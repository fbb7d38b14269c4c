/** PgStore specifics: one transaction per commit, DB-only series, batching. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { AT, resetPgTables, sampleChanges, snapshot } from './_contract.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { PgStore } from '../src/store/postgres.ts'
import { GROUPS } from '../src/phase.ts'
import { countTrades, upsertTrades } from '../src/db/queries/trades.ts'
import { selectSnapshots } from '../src/db/queries/portfolio.ts'
import { selectMarketSnapshots } from '../src/db/queries/markets.ts'
import { getMetadata } from '../src/db/queries/metadata.ts'
import { CURRENT_SIGNALS_KEY, selectAllSignals } from '../src/db/queries/signals.ts'

describe.skipIf(!dbAvailable)('PgStore', () => {
  let t: TestDb
  let store: PgStore
  beforeAll(async () => {
    t = await createTestDb('pgstore')
    store = new PgStore(t.sql)
  })
  afterAll(() => t?.drop())
  beforeEach(() => resetPgTables(t.sql))

  const counts = async () => {
    const [r] = await t.sql`
      select (select count(*)::int from trades) as trades, (select count(*)::int from portfolio_snapshots) as snaps,
             (select count(*)::int from market_snapshots) as msnaps, (select count(*)::int from trading_signals) as signals,
             (select count(*)::int from signal_archives) as archives`
    return r
  }
  const stuckSessions = async () => {
    const rows = await t.sql`
      select state from pg_stat_activity
      where datname = ${t.name} and state like 'idle in transaction%' and pid <> pg_backend_pid()`
    return rows.map((r) => r.state)
  }

  test('a commit that fails in its last group rolls everything back and leaves no open transaction', async () => {
    await store.commit(sampleChanges(), GROUPS)
    const before = { facts: await snapshot(store), counts: await counts(), meta: await getMetadata(t.sql) }
    const next = { ...sampleChanges(), at: '2025-10-21T00:00:00.000Z', metadata: { last_trade_execution: 'later' } }
    next.portfolio = { ...next.portfolio, balance: 1, positions: [] }
    next.trades = [...next.trades, { ...next.trades[0]!, trade_id: 't9' }]
    // slug is VARCHAR(500): valid for the schema, refused by PostgreSQL, after every other table was written
    next.events = [{ ...next.events[0]!, slug: 'x'.repeat(501) }]
    await expect(store.commit(next, GROUPS)).rejects.toThrow(/too long/)
    expect({ facts: await snapshot(store), counts: await counts(), meta: await getMetadata(t.sql) }).toEqual(before)
    expect(await stuckSessions()).toEqual([])
  })

  test('a signal pointing at an unknown trade is refused by the foreign key, and nothing lands', async () => {
    const c = sampleChanges()
    c.signals = [{ ...c.signals[0]!, trade_id: 'no-such-trade' }]
    await expect(store.commit(c, GROUPS)).rejects.toThrow(/foreign key/)
    expect(await counts()).toEqual({ trades: 0, snaps: 0, msnaps: 0, signals: 0, archives: 0 })
    expect(await store.loadPortfolio()).toBeNull()
    expect(await stuckSessions()).toEqual([])
  })

  test('an action too long for VARCHAR(50) is refused before the database is touched', async () => {
    const c = sampleChanges()
    c.trades = [{ ...c.trades[0]!, action: 'buy_yes'.repeat(10) as 'buy_yes' }]
    await expect(store.commit(c, GROUPS)).rejects.toThrow(/changes\.trades \$\[0\]\.action: expected "buy_yes" \| "buy_no"/)
    expect(await counts()).toEqual({ trades: 0, snaps: 0, msnaps: 0, signals: 0, archives: 0 })
    expect(await stuckSessions()).toEqual([])
  })

  test('DB-only series grow once per cycle clock; signals accumulate while the current set is replaced', async () => {
    const c = sampleChanges()
    await store.commit(c, GROUPS)
    await store.commit(c, GROUPS)
    expect(await counts()).toEqual({ trades: 3, snaps: 1, msnaps: 1, signals: 2, archives: 1 })
    expect(await selectSnapshots(t.sql)).toEqual([{ timestamp: AT, balance: 8765.43, total_invested: 1234.57, total_profit_loss: -0.01, trade_count: 3 }])
    expect(await selectMarketSnapshots(t.sql)).toEqual(c.marketSnapshots)

    const later = '2025-10-20T17:17:45.884Z'
    const sig = { ...c.signals[1]!, timestamp: later }
    await store.commit({ ...c, at: later, signals: [sig], archive: null, marketSnapshots: [{ ...c.marketSnapshots[0]!, timestamp: later }] }, GROUPS)
    expect(await counts()).toEqual({ trades: 3, snaps: 2, msnaps: 2, signals: 3, archives: 1 })
    expect(await store.loadSignals()).toEqual([sig])
    expect(await selectAllSignals(t.sql)).toHaveLength(3)
  })

  test('system_metadata is written in the same commit', async () => {
    await store.commit(sampleChanges(), ['portfolio'])
    const meta = await getMetadata(t.sql)
    expect(meta).toMatchObject({ last_trade_execution: AT, last_cycle_phase: '4', schema_version: '2' })
    expect(meta[CURRENT_SIGNALS_KEY]).toBeUndefined()
  })

  test('bulk upserts run in batches', async () => {
    const base = sampleChanges().trades[0]!
    const many = Array.from({ length: 2500 }, (_, i) => ({ ...base, trade_id: `bulk-${i}` }))
    await t.sql.begin((tx) => upsertTrades(tx, many))
    await t.sql.begin((tx) => upsertTrades(tx, [...many, { ...base, trade_id: 'bulk-7', status: 'closed' as const }]))
    expect(await countTrades(t.sql)).toBe(2500)
    expect((await store.loadTrades({ status: 'closed' })).map((x) => x.trade_id)).toEqual(['bulk-7'])
  })
})
