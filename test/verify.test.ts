/**
 * `prescient verify`: a round trip of every JSON file kind after phase-4 cycles
 * gives 0 differences; each kind of difference is found and shown with its key,
 * column and both values; bucket digests count exactly on a larger table.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { copyTradesCsv } from '../src/bench/load.ts'
import { generateTrades, generateTradesCsv } from '../src/bench/synthetic.ts'
import { runCycle } from '../src/trading/cycle.ts'
import { verify, type VerifyReport } from '../src/verify/index.ts'
import { TABLE_NAMES } from '../src/verify/tables.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { cfg, rmrf, tempDir } from './_cycle.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { runMain } from './_run.ts'

/** Run the CLI in-process; the exit code and what it printed on stdout. */
const cli = async (args: string[]) => {
  const r = await runMain(args)
  return { code: r.code, out: r.stdout }
}

const table = (r: VerifyReport, name: string) => r.tables.find((t) => t.table === name)!

describe.skipIf(!dbAvailable || !fixturesAvailable)('verify after phase-4 cycles', () => {
  let t: TestDb
  let dir: string
  const args = () => ['verify', '--data-dir', dir, '--database-url', t.url]

  beforeAll(async () => {
    t = await createTestDb('verify')
    dir = tempDir('verify')
    // two recorded snapshots, then the sample and its resolution (settled trades: exits, realized P&L)
    for (const source of [fixture('gamma_markets_active_2026-01-10.json'), fixture('gamma_markets_active_2026-01-31.json'), 'sample', 'sample:resolved']) {
      const r = await runCycle(cfg(dir, 4, t.url), { source })
      expect(r.storage.db).toBe('ok')
    }
  })
  afterAll(async () => {
    rmrf(dir)
    await t?.drop()
  })

  test('every JSON file kind round-trips: 0 differences, exit 0', async () => {
    const r = await verify(t.sql, dir)
    expect(r.tables.map((x) => x.table)).toEqual(TABLE_NAMES)
    for (const x of r.tables.filter((x) => x.status !== 'db-only')) {
      // buckets_rechecked 0: PostgreSQL's digest (formatted in SQL) equals the JSON side's (formatted in JS)
      expect({ table: x.table, status: x.status, same: x.json === x.db, rechecked: x.buckets_rechecked }).toEqual({ table: x.table, status: 'equal', same: true, rechecked: 0 })
      expect(x.db).toBeGreaterThan(0)
    }
    expect(table(r, 'trades').json).toBeGreaterThan(20)
    expect(r.tables.filter((x) => x.status === 'db-only').map((x) => x.table)).toEqual(['portfolio_snapshots', 'market_snapshots', 'system_metadata'])
    expect(table(r, 'market_snapshots').db).toBeGreaterThan(0)
    const { code, out } = await cli(args())
    expect(code).toBe(0)
    expect(out).toContain('DB-only')
    expect(out).toContain('✓')
  })

  test('each kind of difference is found, with key, column and both values; exit 3', async () => {
    const [trade] = await t.sql`select trade_id, market_question, amount, entry_price, timestamp from trades where event_title is not null order by trade_id limit 1`
    const [signal] = await t.sql`select id, market_id from trading_signals order by id limit 1`
    const [market] = await t.sql`select market_id from markets order by market_id limit 1`
    const [event] = await t.sql`select event_id from events order by event_id limit 1`
    const id = String(trade!.trade_id)
    await t.sql.begin(async (tx) => {
      await tx`update trades set market_question = market_question || ' (edited)', amount = amount + 1, entry_price = entry_price + 0.000001,
               timestamp = timestamp + interval '1 second', event_title = null where trade_id = ${id}`
      await tx`update portfolio_state set trade_count = trade_count + 5`
      await tx`update trading_signals set executed = not coalesce(executed, false) where id = ${signal!.id}`
      await tx`update markets set market_data = market_data || '{"injected": 1}' where market_id = ${market!.market_id}`
      await tx`delete from events where event_id = ${event!.event_id}`
      await tx`insert into portfolio_history (snapshot_date, timestamp, balance, total_invested, total_profit_loss, total_value, open_positions, trade_count)
               values ('2001-01-01', '2001-01-01T00:00:00Z', 1, 0, 0, 1, 0, 0)`
    })
    const { code, out } = await cli([...args(), '--json', '--limit', '50'])
    expect(code).toBe(3)
    const r = JSON.parse(out) as VerifyReport
    expect(r.equal).toBe(false)
    const diffs = r.tables.flatMap((x) => x.differences.map((d) => ({ table: x.table, ...d })))
    const find = (tbl: string, column: string | null, kind = 'differs') => diffs.find((d) => d.table === tbl && d.column === column && d.kind === kind)

    const amount = Number(trade!.amount)
    expect(find('trades', 'market_question')).toMatchObject({ key: id, json: trade!.market_question, db: `${trade!.market_question} (edited)` })
    expect(find('trades', 'amount')).toMatchObject({ key: id, json: String(amount), db: String(amount + 1) })
    expect(find('trades', 'entry_price')).toMatchObject({ key: id, json: String(Number(trade!.entry_price)), db: String(Math.round((Number(trade!.entry_price) + 0.000001) * 1e6) / 1e6) })
    expect(find('trades', 'timestamp')).toMatchObject({ key: id, json: (trade!.timestamp as Date).toISOString(), db: new Date((trade!.timestamp as Date).getTime() + 1000).toISOString() })
    expect(find('trades', 'event_title')).toMatchObject({ key: id, db: null })
    expect(find('trades', 'event_title')!.json).toBeString()
    expect(find('portfolio_state', 'trade_count')).toMatchObject({ key: '1' })
    expect(Number(find('portfolio_state', 'trade_count')!.db) - Number(find('portfolio_state', 'trade_count')!.json)).toBe(5)
    expect(find('trading_signals', 'executed')!.key).toStartWith(`${signal!.market_id} @ `)
    expect(find('markets', 'market_data')).toMatchObject({ key: String(market!.market_id), at: { path: '$.injected', json: '(absent)', db: '1' } })
    expect(find('events', null, 'missing in DB')).toMatchObject({ key: String(event!.event_id) })
    expect(find('portfolio_history', null, 'missing in JSON')).toMatchObject({ key: '2001-01-01' })
    expect(table(r, 'trades')).toMatchObject({ status: 'different', differing: 1, missing_in_db: 0, missing_in_json: 0 })
    expect(table(r, 'events')).toMatchObject({ missing_in_db: 1, differing: 0 })
    expect(table(r, 'portfolio_history')).toMatchObject({ missing_in_json: 1 })
    expect(table(r, 'signal_archives').status).toBe('equal')

    const human = await cli(args())
    expect(human.code).toBe(3)
    expect(human.out).toContain('✗')
    expect(human.out).toContain(id)
    expect(human.out).toContain('market_data $.injected')
    const one = await cli([...args(), '--table', 'events', '--json'])
    expect(one.code).toBe(3)
    expect((JSON.parse(one.out) as VerifyReport).tables.map((x) => x.table)).toEqual(['events'])
  })

  test('--table takes every table name, DB-only ones too; an unknown name is a usage error', async () => {
    const r = await cli([...args(), '--table', 'system_metadata', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out).tables[0]).toMatchObject({ table: 'system_metadata', status: 'db-only', json: null })
    expect((await cli([...args(), '--table', 'nope'])).code).toBe(2)
  })
})

describe.skipIf(!dbAvailable)('verify on a larger table (bucket digests)', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('verifybig')
    dir = tempDir('verifybig')
    await generateTrades(3000, dir)
    await generateTradesCsv(3000, join(dir, 'trades.csv'))
    await copyTradesCsv(t.sql, join(dir, 'trades.csv'))
  })
  afterAll(async () => {
    rmrf(dir)
    await t?.drop()
  })

  test('equal tables compare equal; counts of each difference are exact', async () => {
    const same = await verify(t.sql, dir, { table: 'trades' })
    expect(table(same, 'trades')).toMatchObject({ status: 'equal', json: 3000, db: 3000, buckets_rechecked: 0 })
    expect(table(same, 'trades').buckets).toBeGreaterThan(32)

    await t.sql`delete from trades where trade_id in ('syn-00000001', 'syn-00000777', 'syn-00002999')`
    await t.sql`update trades set amount = amount + 0.01 where trade_id in ('syn-00000010', 'syn-00000011', 'syn-00001500', 'syn-00002000')`
    await t.sql`insert into trades (trade_id, timestamp, market_id, market_question, action, amount, entry_price, confidence, status)
                values ('extra-1', now(), 'm', 'q', 'buy_yes', 1, 0.5, 0.5, 'open'), ('extra-2', now(), 'm', 'q', 'buy_no', 1, 0.5, 0.5, 'open')`
    const r = await verify(t.sql, dir, { table: 'trades', limit: 3 })
    expect(table(r, 'trades')).toMatchObject({ json: 3000, db: 2999, missing_in_db: 3, missing_in_json: 2, differing: 4 })
    expect(table(r, 'trades').differences).toHaveLength(3)
    expect(table(r, 'trades').buckets_rechecked!).toBeLessThan(table(r, 'trades').buckets! / 4)
  })

  test('a key twice in the file is a duplicate; a record the schema refuses is invalid', async () => {
    const file = join(dir, 'trades/paper_trades.json')
    const text = readFileSync(file, 'utf8')
    const first = JSON.stringify((JSON.parse(text) as unknown[])[0]!)
    const bad = JSON.stringify({ ...(JSON.parse(first) as object), trade_id: 'bad-1', amount: -5 })
    writeFileSync(file, text.replace(/\]\s*$/, `,${first},${bad}]`))
    const r = await verify(t.sql, dir, { table: 'trades', limit: 20 })
    expect(table(r, 'trades')).toMatchObject({ duplicates_in_json: 1, invalid_in_json: 1, status: 'different' })
    const diffs = table(r, 'trades').differences
    expect(diffs.some((d) => d.kind === 'duplicate in JSON' && d.key === 'syn-00000000')).toBe(true)
    expect(diffs.find((d) => d.kind === 'invalid in JSON')).toMatchObject({ key: 'trades/paper_trades.json $[3001]' })
    expect(diffs.find((d) => d.kind === 'invalid in JSON')!.json).toContain('must not be negative')
  })

  test('an unreachable database exits 5', async () => {
    const { code } = await cli(['verify', '--data-dir', dir, '--database-url', 'postgres://postgres@127.0.0.1:1/nope'])
    expect(code).toBe(5)
  })
})
