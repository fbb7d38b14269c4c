/**
 * The foundation's acceptance path: a phase-4 cycle on 2026-01-10 writes every group,
 * 2026-01-31 marks the overlapping positions to market, and a resolved file settles
 * them, with the same facts in JSON and PostgreSQL at every step.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { cfg, jsonFiles, rmrf, rowCounts, tempDir } from './_cycle.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { runCycle } from '../src/trading/cycle.ts'

describe.skipIf(!dbAvailable || !fixturesAvailable)('cycle sequence in phase 4', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('sequence')
    dir = tempDir('sequence')
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })
  const same = async () => {
    const json = new JsonStore(dir)
    const pg = new PgStore(t.sql)
    expect(await pg.loadTrades()).toEqual(await json.loadTrades())
    expect(await pg.loadPortfolio()).toEqual(await json.loadPortfolio())
    expect(await pg.loadHistory()).toEqual(await json.loadHistory())
  }

  test('2026-01-10 writes every table group and every JSON file', async () => {
    const r = await runCycle(cfg(dir, 4, t.url), { source: fixture('gamma_markets_active_2026-01-10.json') })
    expect(r.stats.executed).toBeGreaterThan(0)
    expect(r.storage.db).toBe('ok')
    expect(jsonFiles(dir)).toHaveLength(8)
    const counts = await rowCounts(t.sql)
    for (const [table, n] of Object.entries(counts)) expect({ table, empty: n === 0 }).toEqual({ table, empty: false })
    const linked = await t.sql`select count(*)::int as n from trading_signals s join trades t using (trade_id) where s.executed`
    expect(linked[0]!.n).toBe(r.stats.executed)
    await same()
  })

  test('2026-01-31 marks the overlapping positions to market', async () => {
    const before = await new JsonStore(dir).loadTrades({ status: 'open' })
    const r = await runCycle(cfg(dir, 4, t.url), { source: fixture('gamma_markets_active_2026-01-31.json') })
    expect(r.stats.marked).toBeGreaterThan(0)
    const after = await new JsonStore(dir).loadTrades()
    const moved = before.filter((b) => after.find((a) => a.trade_id === b.trade_id)!.current_pnl !== b.current_pnl)
    expect(moved.length).toBe(r.stats.marked)
    await same()
  })

  test('a resolved-markets file settles what resolved, in both stores', async () => {
    const open = await new JsonStore(dir).loadTrades({ status: 'open' })
    const held = new Set(open.map((t) => t.market_id))
    const markets = JSON.parse(readFileSync(fixture('gamma_markets_active_2026-01-31.json'), 'utf8')) as Record<string, unknown>[]
    const resolved: Record<string, unknown>[] = markets
      .filter((m) => held.has(String(m.id)))
      .map((m) => ({ ...m, closed: true, umaResolutionStatus: 'resolved', outcomePrices: '["1", "0"]', updatedAt: '2026-02-10T00:00:00Z' }))
    expect(resolved.length).toBeGreaterThan(0)
    const file = join(dir, 'resolved.json')
    writeFileSync(file, JSON.stringify(resolved))
    const portfolio = await new JsonStore(dir).loadPortfolio()
    const r = await runCycle(cfg(dir, 4, t.url), { source: file })
    expect(r.stats.settled).toBe(resolved.length)
    const trades = await new JsonStore(dir).loadTrades()
    const settled = trades.filter((x) => held.has(x.market_id) && resolved.some((m) => String(m.id) === x.market_id))
    for (const x of settled) {
      expect(x.status).toBe('closed')
      const payout = x.action === 'buy_yes' ? 1 : 0
      expect(x.exit_price).toBe(payout)
      expect(x.realized_pnl).toBeCloseTo((x.amount / x.entry_price) * payout - x.amount, 1)
    }
    const returned = settled.reduce((s, x) => s + x.amount + x.realized_pnl!, 0)
    const after = await new JsonStore(dir).loadPortfolio()
    expect(after!.balance).toBeCloseTo(portfolio!.balance + returned - r.signals.filter((s) => s.executed).reduce((s, x) => s + x.amount, 0), 1)
    await same()
  })
})
