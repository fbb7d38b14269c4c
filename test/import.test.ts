/**
 * `prescient import`: a round trip of every JSON file kind (PgStore loads equal
 * JsonStore loads), idempotence, rejects, dry runs without a database, the
 * failed-COPY path of postgres.js #1173, the stall watchdog, and the lock.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { cfg, expectSameFacts, rmrf, rowCounts, tempDir, truncateAll } from './_cycle.ts'
import { generateTrades, syntheticTrade } from '../src/bench/synthetic.ts'
import { selectAllSignals } from '../src/db/queries/signals.ts'
import { importData, readJsonObjectWithout, streamJsonArray, streamJsonArrayAt, type ImportReport } from '../src/import/index.ts'
import { copyLine } from '../src/import/copy.ts'
import { SPECS } from '../src/import/tables.ts'
import { acquireLock } from '../src/lock.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { allJsonSignals } from '../src/sync.ts'
import { runCycle } from '../src/trading/cycle.ts'
import { runMain as run } from './_run.ts'


const NO_ENV = ['--env-file', '/nonexistent/.env']
const byTable = (r: ImportReport) => Object.fromEntries(r.tables.map((t) => [t.table, t]))
const writeJson = (dir: string, rel: string, value: unknown) => {
  mkdirSync(join(dir, rel, '..'), { recursive: true })
  writeFileSync(join(dir, rel), JSON.stringify(value, null, 2))
}
const count = async (t: TestDb, table: string, where = t.sql`true`) =>
  (await t.sql<{ n: number }[]>`select count(*)::int as n from ${t.sql(table)} where ${where}`)[0]!.n
const readRejects = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l))

async function expectStoresEqual(dir: string, t: TestDb) {
  await expectSameFacts(dir, t.sql)
  const json = new JsonStore(dir)
  const key = (s: { market_id: string; timestamp: string }) => `${s.timestamp} ${s.market_id}`
  const all = allJsonSignals(await json.loadArchives(), await json.loadSignals()).sort((a, b) => (key(a) < key(b) ? -1 : 1))
  expect((await selectAllSignals(t.sql)).sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(all)
}

/** Sessions of that database stuck in a transaction (other than the test's own pool). */
async function stuckSessions(t: TestDb): Promise<string[]> {
  const rows = await t.sql<{ state: string }[]>`
    select state from pg_stat_activity
    where datname = ${t.name} and pid <> pg_backend_pid() and state like 'idle in transaction%'`
  return rows.map((r) => r.state)
}

describe('streaming readers and COPY encoding', () => {
  test('array elements one by one; BOM, missing file, wrong top level, truncation', async () => {
    const d = tempDir('import-stream')
    try {
      const p = join(d, 'a.json')
      writeFileSync(p, '\ufeff[{"a": 1}, 2, "x\\u00e9", null]')
      const got: unknown[] = []
      const st = await streamJsonArray(p, (v, i) => void got.push([i, v]))
      expect(got).toEqual([[0, { a: 1 }], [1, 2], [2, 'x\u00e9'], [3, null]])
      expect(st).toMatchObject({ exists: true, items: 4 })
      expect(await streamJsonArray(join(d, 'none.json'), () => {})).toEqual({ exists: false, bytes: 0, items: 0 })
      writeFileSync(p, '{"a": []}')
      await expect(streamJsonArray(p, () => {})).rejects.toThrow('expected an array at the top level, got object')
      writeFileSync(p, '[1, 2')
      await expect(streamJsonArray(p, () => {})).rejects.toThrow(/invalid JSON.*after 1 item/)
      writeFileSync(p, '')
      await expect(streamJsonArray(p, () => {})).rejects.toThrow('the file is empty')
      writeFileSync(p, JSON.stringify({ balance: 1, positions: [{ id: 'p1' }, { id: 'p2' }], last: 'z' }))
      const pos: unknown[] = []
      await streamJsonArrayAt(p, 'positions', (v) => void pos.push(v))
      expect(pos).toEqual([{ id: 'p1' }, { id: 'p2' }])
      expect((await readJsonObjectWithout(p, 'positions')).value).toEqual({ balance: 1, last: 'z' })
    } finally {
      rmrf(d)
    }
  })

  test('COPY text format escapes backslash, tab, newline and CR, and writes \\N for null', () => {
    expect(copyLine(['a\tb', 'c\nd\re', 'back\\slash', null, true, 1.5, { k: 'v\n' }])).toBe('a\\tb\tc\\nd\\re\tback\\\\slash\t\\N\tt\t1.5\t{"k":"v\\\\n"}\n')
  })
})

describe.skipIf(!dbAvailable)('import', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('import')
    dir = tempDir('import')
    // Two phase-0 cycles on the bundled sample: every JSON file kind, with open and settled trades.
    await runCycle(cfg(dir, 0), { source: 'sample:open' })
    await runCycle(cfg(dir, 0), { source: 'sample:resolved' })
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })

  test('round trip: every JSON file kind lands in its table, and PgStore loads equal JsonStore loads', async () => {
    await truncateAll(t.sql)
    const r = await importData({ url: t.url, dataDir: dir })
    expect(r.ok).toBe(true)
    expect(r.rejected).toBe(0)
    expect(r.rejectsFile).toBeNull()
    const tables = byTable(r)
    for (const name of Object.keys(SPECS)) {
      expect({ name, mode: tables[name]!.mode }).toEqual({ name, mode: name === 'trading_signals' ? 'merge' : 'direct' })
      expect({ name, loaded: tables[name]!.loaded > 0 }).toEqual({ name, loaded: true })
    }
    expect(tables.signal_archives!.files).toEqual(['history/signals_archive_2026-02.json'])
    await expectStoresEqual(dir, t)
  })

  test('idempotent: a second import inserts, updates and deletes nothing', async () => {
    const before = await rowCounts(t.sql)
    const r = await importData({ url: t.url, dataDir: dir })
    for (const x of r.tables) {
      expect({ table: x.table, inserted: x.inserted, updated: x.updated, deleted: x.deleted ?? 0 }).toEqual({ table: x.table, inserted: 0, updated: 0, deleted: 0 })
      expect(x.unchanged).toBe(x.loaded)
      expect(x.mode).toBe('merge')
    }
    expect(await rowCounts(t.sql)).toEqual(before)
  })

  test('a changed file: rows are updated, mirror tables lose what the file dropped, append tables keep theirs', async () => {
    const trades = JSON.parse(readFileSync(join(dir, 'trades/paper_trades.json'), 'utf8'))
    const markets = JSON.parse(readFileSync(join(dir, 'markets/filtered_markets.json'), 'utf8'))
    const copy = tempDir('import-changed')
    try {
      for (const rel of ['trades/portfolio.json', 'trades/current_signals.json', 'history/portfolio_history.json', 'history/signals_archive_2026-02.json', 'events/filtered_events.json']) {
        writeJson(copy, rel, JSON.parse(readFileSync(join(dir, rel), 'utf8')))
      }
      trades[0].reason = 'edited by hand'
      writeJson(copy, 'trades/paper_trades.json', trades.slice(0, -1)) // the last trade is gone from JSON
      writeJson(copy, 'markets/filtered_markets.json', markets.slice(1))
      const r = byTable(await importData({ url: t.url, dataDir: copy, tables: ['trades', 'markets'] }))
      expect(r.trades).toMatchObject({ inserted: 0, updated: 1, unchanged: trades.length - 2, deleted: null })
      expect(r.markets).toMatchObject({ inserted: 0, updated: 0, deleted: 1 })
      expect(await count(t, 'trades')).toBe(trades.length) // trades are append-only: nothing deleted
    } finally {
      rmrf(copy)
    }
    await importData({ url: t.url, dataDir: dir }) // back to the real files
  })

  test('rejects: bad records are skipped, listed with file, index, path and reason; the rest loads; exit 0 with a warning', async () => {
    const bad = tempDir('import-rejects')
    try {
      const trades: Record<string, unknown>[] = [0, 1, 2, 3, 4, 5].map((i) => ({ ...syntheticTrade(i) }))
      trades[1]!.amount = -5
      trades[2]!.trade_id = trades[0]!.trade_id
      trades[3]!.market_question = 'nul \u0000 inside'
      trades[4]!.trade_id = 'x'.repeat(300)
      writeJson(bad, 'trades/paper_trades.json', trades)
      writeJson(bad, 'history/portfolio_history.json', [
        { snapshot_date: '2026-02-30', timestamp: '2026-02-28T10:00:00Z', balance: 1, total_invested: 0, total_profit_loss: 0, total_value: 1, open_positions: 0, trade_count: 0 },
      ])
      await truncateAll(t.sql)
      const res = await run(['import', '--json', '--data-dir', bad, '--database-url', t.url, ...NO_ENV])
      expect(res.code).toBe(0)
      const doc = JSON.parse(res.stdout) as ImportReport
      expect(byTable(doc).trades).toMatchObject({ read: 6, loaded: 2, rejected: 4 })
      expect(byTable(doc).portfolio_history).toMatchObject({ read: 1, loaded: 0, rejected: 1 })
      expect(res.stderr).toContain('REJECTED')
      expect(res.stderr).toContain(doc.rejectsFile!)
      const lines = readRejects(doc.rejectsFile!)
      const at = (path: string) => lines.find((l) => l.path === path)
      expect(at('$[1].amount')).toMatchObject({ table: 'trades', file: 'trades/paper_trades.json', index: 1, reason: expect.stringContaining('must not be negative') })
      expect(at('$[2]')!.reason).toContain(`duplicate trade_id "${trades[0]!.trade_id}" (first at $[0])`)
      expect(at('$[3].market_question')!.reason).toContain('NUL')
      expect(at('$[4].trade_id')!.reason).toContain('VARCHAR(255)')
      expect(at('$[4].trade_id')!.value.trade_id).toBe('x'.repeat(300))
      expect(at('$[0].snapshot_date')).toMatchObject({ table: 'portfolio_history', reason: expect.stringContaining('not a calendar date') })
      expect(await count(t, 'trades')).toBe(2)
    } finally {
      rmrf(bad)
    }
  })

  test('history: a day twice keeps the last row (as the JSON store does); a rejected event is not deleted from the mirror', async () => {
    await importData({ url: t.url, dataDir: dir })
    const d = tempDir('import-last')
    try {
      const row = (balance: number) => ({ snapshot_date: '2026-02-20', timestamp: '2026-02-20T10:00:00Z', balance, total_invested: 0, total_profit_loss: 0, total_value: balance, open_positions: 0, trade_count: 0 })
      writeJson(d, 'history/portfolio_history.json', [row(1), row(2)])
      const events = JSON.parse(readFileSync(join(dir, 'events/filtered_events.json'), 'utf8'))
      events[0].title = 42 // invalid: its row in the DB must survive the mirror's delete
      writeJson(d, 'events/filtered_events.json', events)
      const r = await importData({ url: t.url, dataDir: d, tables: ['portfolio_history', 'events'] })
      const h = byTable(r).portfolio_history!
      expect(h).toMatchObject({ read: 2, rejected: 1, loaded: 1 })
      expect(await new PgStore(t.sql).loadHistory()).toContainEqual((await new JsonStore(d).loadHistory())[0]!)
      const lines = readRejects(r.rejectsFile!)
      expect(lines.find((l) => l.table === 'portfolio_history')).toMatchObject({ path: '$[0]', reason: expect.stringContaining('superseded by a later record') })
      expect(lines.find((l) => l.table === 'events')).toMatchObject({ path: '$[0].title', index: 0 })
      expect(byTable(r).events).toMatchObject({ deleted: 0, rejected: 1 })
      expect(await count(t, 'events', t.sql`event_id = ${events[0].event_id}`)).toBe(1)
    } finally {
      rmrf(d)
    }
    await importData({ url: t.url, dataDir: dir })
  })

  test('--dry-run validates and counts with no database configured, and writes nothing', async () => {
    await truncateAll(t.sql)
    const res = await run(['import', '--dry-run', '--json', '--data-dir', dir, ...NO_ENV])
    expect(res.code).toBe(0)
    const doc = JSON.parse(res.stdout) as ImportReport
    expect(doc.dryRun).toBe(true)
    expect(doc.database).toBeNull()
    expect(byTable(doc).trades).toMatchObject({ mode: 'dry-run', inserted: null, rejected: 0 })
    expect(byTable(doc).trades!.loaded).toBe(JSON.parse(readFileSync(join(dir, 'trades/paper_trades.json'), 'utf8')).length)
    expect((await rowCounts(t.sql)).trades).toBe(0)
  })

  test('usage: an unknown table lists the valid ones (exit 2); --table and --all together are refused', async () => {
    const res = await run(['import', '--table', 'nope', '--dry-run', '--data-dir', dir, ...NO_ENV])
    expect(res.code).toBe(2)
    expect(res.stderr).toContain('unknown table "nope"')
    expect(res.stderr).toContain('trades, portfolio_state, portfolio_positions')
    expect((await run(['import', '--table', 'trades', '--all', '--dry-run', '--data-dir', dir, ...NO_ENV])).code).toBe(2)
  })

  test('a database that is down exits 5; a cycle holding the lock exits 4 with one clear line', async () => {
    const down = await run(['import', '--data-dir', dir, '--database-url', 'postgres://postgres@127.0.0.1:1/nothing', ...NO_ENV])
    expect(down.code).toBe(5)
    const lock = acquireLock(dir, 'cycle')
    try {
      const res = await run(['import', '--data-dir', dir, '--database-url', t.url, ...NO_ENV])
      expect(res.code).toBe(4)
      expect(res.stderr).toContain('another cycle holds the lock')
    } finally {
      lock.release()
    }
  })

  test('from phase 6 on (the database is the truth) an import needs --yes', async () => {
    process.env.PRESCIENT_PHASE = '6'
    try {
      const no = await run(['import', '--table', 'events', '--data-dir', dir, '--database-url', t.url, ...NO_ENV])
      expect(no.code).toBe(2)
      expect(no.stderr).toContain('phase 6 no longer writes JSON')
      expect((await run(['import', '--table', 'events', '--yes', '--data-dir', dir, '--database-url', t.url, ...NO_ENV])).code).toBe(0)
    } finally {
      delete process.env.PRESCIENT_PHASE
    }
  })

  test('a file that is not valid JSON fails its table only (left unchanged), exit 2', async () => {
    const broken = tempDir('import-broken')
    try {
      writeJson(broken, 'events/filtered_events.json', [])
      mkdirSync(join(broken, 'trades'))
      writeFileSync(join(broken, 'trades/paper_trades.json'), '[{"trade_id": "a"}, {"trade_id": ')
      await truncateAll(t.sql)
      const res = await run(['import', '--json', '--data-dir', broken, '--database-url', t.url, ...NO_ENV])
      expect(res.code).toBe(2)
      const doc = JSON.parse(res.stdout) as ImportReport
      expect(byTable(doc).trades).toMatchObject({ mode: 'failed', error: expect.stringContaining('invalid JSON') })
      expect(byTable(doc).events!.mode).toBe('direct')
      expect(doc.ok).toBe(false)
    } finally {
      rmrf(broken)
    }
  })

  test('column sizes in the specs match the schema (information_schema)', async () => {
    for (const spec of Object.values(SPECS)) {
      const cols = await t.sql<{ column_name: string; data_type: string; character_maximum_length: number | null; numeric_precision: number | null; numeric_scale: number | null }[]>`
        select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
        from information_schema.columns where table_schema = current_schema() and table_name = ${spec.table}`
      const db = Object.fromEntries(cols.map((c) => [c.column_name, c]))
      for (const c of spec.columns) {
        const d = db[c.name]!
        const kind = { 'character varying': 'varchar', text: 'text', numeric: 'numeric', integer: 'int', boolean: 'bool', 'timestamp with time zone': 'ts', date: 'date', jsonb: 'jsonb' }[d.data_type]
        expect({ table: spec.table, col: c.name, kind: c.kind }).toEqual({ table: spec.table, col: c.name, kind: kind as never })
        if (c.kind === 'varchar') expect(c.max).toBe(d.character_maximum_length!)
        if (c.kind === 'numeric') expect([c.precision, c.scale]).toEqual([d.numeric_precision!, d.numeric_scale!])
      }
    }
  })
})

describe.skipIf(!dbAvailable)('import: a COPY that PostgreSQL rejects (postgres.js #1173)', () => {
  let t: TestDb
  let dir: string
  const N = 20_000
  beforeAll(async () => {
    t = await createTestDb('import_copy')
    dir = tempDir('import-copy')
    await generateTrades(N, dir)
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })

  /** One trade whose action is too long for VARCHAR(50), at `at`; the validator is bypassed so PostgreSQL sees it. */
  function poison(at: number) {
    const trades: Record<string, unknown>[] = Array.from({ length: N }, (_, i) => ({ ...syntheticTrade(i) }))
    trades[at]!.action = 'b'.repeat(60)
    writeJson(dir, 'trades/paper_trades.json', trades)
  }

  for (const [label, at, prefill] of [
    ['into an empty table (direct COPY), bad row last', N - 1, false],
    ['into an empty table (direct COPY), bad row early', 10, false],
    ['through staging into a filled table, bad row last', N - 1, true],
  ] as const) {
    test(`${label}: clear error within seconds, table unchanged, no aborted session left`, async () => {
      await truncateAll(t.sql)
      if (prefill) await t.sql`insert into trades (trade_id, timestamp, market_id, market_question, action, amount, entry_price, confidence, status)
                               values ('keep-me', now(), 'm', 'q', 'buy_yes', 1, 0.5, 0.5, 'open')`
      poison(at)
      const t0 = performance.now()
      const err = await importData({ url: t.url, dataDir: dir, tables: ['trades'], skipValidation: true }).then(
        () => null,
        (e: Error) => e,
      )
      const seconds = (performance.now() - t0) / 1000
      expect(err).not.toBeNull()
      expect(err!.message).toContain('import of trades failed and was rolled back')
      expect(err!.message).toContain('value too long for type character varying(50)')
      expect(err!.message).toContain(`line ${at + 1}`)
      expect(seconds).toBeLessThan(10)
      const rows = await t.sql<{ trade_id: string }[]>`select trade_id from trades`
      expect(rows.map((r) => r.trade_id)).toEqual(prefill ? ['keep-me'] : [])
      expect(await stuckSessions(t)).toEqual([])
    })
  }

  test('a COPY that stalls is torn down by the watchdog: connection terminated, table unchanged', async () => {
    await truncateAll(t.sql)
    await generateTrades(50, dir)
    await t.sql`create function slow_insert() returns trigger language plpgsql as $$ begin perform pg_sleep(30); return new; end $$`
    await t.sql`create trigger slow before insert on trades for each row execute function slow_insert()`
    try {
      const t0 = performance.now()
      const err = await importData({ url: t.url, dataDir: dir, tables: ['trades'], stallMs: 500 }).then(() => null, (e: Error) => e)
      expect(err?.message).toContain('made no progress')
      expect((performance.now() - t0) / 1000).toBeLessThan(10)
      // the backend stuck in pg_sleep was terminated, not left to finish its 30 s
      const copying = () => count(t, 'pg_stat_activity', t.sql`datname = ${t.name} and pid <> pg_backend_pid() and query like 'copy%'`)
      for (let i = 0; i < 50 && (await copying()) > 0; i++) await Bun.sleep(100)
      expect(await copying()).toBe(0)
      expect(await stuckSessions(t)).toEqual([])
      expect(await count(t, 'trades')).toBe(0)
    } finally {
      await t.sql`drop trigger slow on trades`
      await t.sql`drop function slow_insert()`
    }
  })
})
