/** JsonStore specifics: atomic writes, readable errors for bad files, the seed's legacy records. */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { sampleChanges } from './_contract.ts'
import { JsonStore } from '../src/store/json.ts'
import { writeJsonAtomic, writeJsonAtomicMany } from '../src/atomic.ts'
import { FILES, readJsonFile, toIsoUtc } from '../src/schema/files.ts'
import { Exit, PrescientError } from '../src/errors.ts'
import { GROUPS } from '../src/phase.ts'

const dirs: string[] = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'prescient-json-'))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const walk = (root: string, dir = root): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(root, join(dir, e.name)) : [relative(root, join(dir, e.name))])).sort()

describe('atomic writes', () => {
  test('a commit writes each file once, pretty-printed, and leaves no temp files', async () => {
    const dir = temp()
    await new JsonStore(dir).commit(sampleChanges(), GROUPS)
    expect(walk(dir)).toEqual([
      '.prescient/metadata.json',
      'events/filtered_events.json',
      'events/raw_events_backup.json',
      'history/portfolio_history.json',
      'history/signals_archive_2025-10.json',
      'markets/filtered_markets.json',
      'trades/current_signals.json',
      'trades/paper_trades.json',
      'trades/portfolio.json',
    ])
    const text = readFileSync(join(dir, 'trades/portfolio.json'), 'utf8')
    expect(text).toStartWith('{\n  "balance": 8765.43,')
    expect(text).toEndWith('}\n')
  })

  test('only the given groups are written; metadata merges keys', async () => {
    const dir = temp()
    const store = new JsonStore(dir)
    await store.commit({ ...sampleChanges(), metadata: { a: '1', b: '1' } }, ['signals'])
    await store.commit({ ...sampleChanges(), metadata: { b: '2' } }, ['signals'])
    expect(walk(dir)).toEqual(['.prescient/metadata.json', 'trades/current_signals.json'])
    expect(await store.loadMetadata()).toEqual({ a: '1', b: '2' })
  })

  test('a write that fails leaves the old file and no temp behind', async () => {
    const dir = temp()
    const target = join(dir, 'x', 'a.json')
    await writeJsonAtomic(target, { v: 1 })
    // a value that cannot be serialised fails before any temp file exists
    await expect(writeJsonAtomicMany([{ path: target, value: { v: 2 } }, { path: join(dir, 'x', 'b.json'), value: { n: 1n } }])).rejects.toThrow(/BigInt/)
    // a target that is a directory fails at rename, after every temp was written
    mkdirSync(join(dir, 'x', 'c.json'))
    await expect(writeJsonAtomicMany([{ path: join(dir, 'x', 'c.json'), value: 1 }])).rejects.toThrow()
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ v: 1 })
    expect(walk(dir)).toEqual(['x/a.json'])
  })

  test('temps left by a crashed run are swept on the next write', async () => {
    const dir = temp()
    const stale = join(dir, '.a.json.1234.deadbeef.prescient-tmp')
    writeFileSync(stale, '{"partial":')
    utimesSync(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
    await writeJsonAtomic(join(dir, 'a.json'), [1])
    expect(walk(dir)).toEqual(['a.json'])
  })
})

describe('bad files name the file and the JSON path', () => {
  const trades = sampleChanges().trades
  const write = (text: string) => {
    const dir = temp()
    mkdirSync(join(dir, 'trades'), { recursive: true })
    writeFileSync(join(dir, FILES.trades.rel), text)
    return { dir, file: join(dir, FILES.trades.rel) }
  }
  const failure = async (text: string) => {
    const { dir, file } = write(text)
    const err = await new JsonStore(dir).loadTrades().catch((e) => e)
    expect(err).toBeInstanceOf(PrescientError)
    expect((err as PrescientError).exitCode).toBe(Exit.usage)
    expect((err as Error).message).toStartWith(file)
    return (err as Error).message
  }
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ ...trades[0]!, trade_id: `t${i}` }))

  test('a wrong type', async () => {
    const rows: unknown[] = many(13)
    rows[12] = { ...(rows[12] as object), amount: 'abc' }
    expect(await failure(JSON.stringify(rows))).toEndWith('paper_trades.json $[12].amount: expected a number, got "abc"')
  })
  test('a missing field, a bad time, an unknown action', async () => {
    const { trade_id: _, ...noId } = trades[0]!
    expect(await failure(JSON.stringify([noId]))).toContain('$[0].trade_id: required field is missing')
    expect(await failure(JSON.stringify([{ ...trades[0], timestamp: 'yesterday' }]))).toContain('$[0].timestamp: expected an ISO 8601 time, got "yesterday"')
    expect(await failure(JSON.stringify([{ ...trades[0], action: 'sell' }]))).toContain('$[0].action: expected "buy_yes" | "buy_no", got "sell"')
  })
  test('negative amounts and prices outside [0, 1]', async () => {
    expect(await failure(JSON.stringify([{ ...trades[0], amount: -5 }]))).toContain('$[0].amount: must not be negative, got -5')
    expect(await failure(JSON.stringify([{ ...trades[0], entry_price: 1.5 }]))).toContain('$[0].entry_price: must be between 0 and 1, got 1.5')
  })
  test('duplicate trade ids name both indexes', async () => {
    const rows = [...many(3), { ...trades[0]!, trade_id: 't1' }]
    expect(await failure(JSON.stringify(rows))).toContain('$[3]: duplicate trade_id "t1" (also at $[1])')
  })
  test('truncated JSON names the position', async () => {
    const text = JSON.stringify(many(2), null, 2)
    const msg = await failure(text.slice(0, text.length - 40))
    expect(msg).toMatch(/\$\[1\]\.\w+: invalid JSON at line \d+, column \d+: unexpected end of file \(the file looks truncated\)/)
  })
  test('NaN and Infinity, as Python writes them', async () => {
    const text = JSON.stringify(many(2), null, 2).replace('"current_pnl": -12.34', '"current_pnl": NaN')
    expect(await failure(text)).toMatch(/\$\[0\]\.current_pnl: invalid JSON at line 16, column 20: NaN is not valid JSON/)
    expect(await failure('[{"amount": -Infinity}]')).toContain('$[0].amount: invalid JSON at line 1, column 13: -Infinity is not valid JSON')
  })
  test('an empty file and a directory', async () => {
    expect(await failure('')).toContain('the file is empty')
    expect(await failure('\uFEFF  \n')).toContain('the file is empty')
    const dir = temp()
    mkdirSync(join(dir, FILES.trades.rel), { recursive: true })
    const err = await new JsonStore(dir).loadTrades().catch((e) => e)
    expect((err as PrescientError).exitCode).toBe(Exit.usage)
    expect((err as Error).message).toBe(`${join(dir, FILES.trades.rel)} is a directory, expected a JSON file`)
  })
  test('a UTF-8 BOM is accepted', async () => {
    const { dir } = write(`\uFEFF${JSON.stringify(trades)}`)
    expect(await new JsonStore(dir).loadTrades()).toHaveLength(3)
  })
  test('missing files are the empty state', async () => {
    expect(await readJsonFile(join(temp(), 'nope.json'), FILES.portfolio.schema, { kind: 'object' })).toBeNull()
    expect(await readJsonFile(join(temp(), 'nope.json'), FILES.trades.schema, { kind: 'array' })).toEqual([])
  })
})

describe("the seed's legacy files", () => {
  test('naive microsecond times, integer amounts, null and missing fields load normalised', async () => {
    const dir = temp()
    mkdirSync(join(dir, 'trades'), { recursive: true })
    mkdirSync(join(dir, 'history'), { recursive: true })
    const legacy = {
      trade_id: 'trade_20251020_170245', timestamp: '2025-10-20T17:02:45.884042', market_id: '516710',
      market_question: 'Will it rain?', action: 'buy_yes', amount: 100, entry_price: 0.67, confidence: 0.85,
      reason: 'High conviction', status: 'open', event_id: null, event_title: null, event_end_date: null,
      shares: 149.25, // an extra seed field: dropped
    }
    writeFileSync(join(dir, FILES.trades.rel), JSON.stringify([legacy]))
    writeFileSync(join(dir, FILES.portfolio.rel), JSON.stringify({
      balance: 9900, total_invested: 100, total_profit_loss: 0, trade_count: 1,
      created_at: '2025-10-01T09:00:00', last_updated: '2025-10-20T17:02:45.884042+00:00',
      positions: [{ trade_id: legacy.trade_id, market_id: '516710', market_question: 'Will it rain?', action: 'buy_yes', amount: 100, entry_price: 0.67, entry_timestamp: '2025-10-20 17:02:45', status: 'open' }],
    }))
    writeFileSync(join(dir, 'history/signals_archive_2025-10.json'), JSON.stringify([{ archived_at: '2025-10-20T17:02:45.884042', signals: [] }]))
    const h = { timestamp: '2025-10-20T08:00:00', balance: 9900, total_invested: 100, total_profit_loss: 0, total_value: 10000, open_positions: 1, trade_count: 1 }
    // several rows a day (the seed appended every cycle): the day's last one is the day's row
    writeFileSync(join(dir, FILES.history.rel), JSON.stringify([h, { ...h, timestamp: '2025-10-20T20:00:00', balance: 9800 }, { ...h, snapshot_date: '2025-10-19' }]))
    const store = new JsonStore(dir)
    expect((await store.loadHistory()).map((r) => [r.snapshot_date, r.timestamp, r.balance])).toEqual([
      ['2025-10-19', '2025-10-20T08:00:00.000Z', 9900],
      ['2025-10-20', '2025-10-20T20:00:00.000Z', 9800],
    ])
    expect(await store.loadTrades()).toEqual([{
      trade_id: 'trade_20251020_170245', timestamp: '2025-10-20T17:02:45.884Z', market_id: '516710',
      market_question: 'Will it rain?', action: 'buy_yes', amount: 100, entry_price: 0.67, confidence: 0.85,
      reason: 'High conviction', status: 'open', event_id: null, event_title: null, event_end_date: null,
      current_pnl: null, realized_pnl: null, exit_price: null, exit_timestamp: null,
    }])
    const p = (await store.loadPortfolio())!
    expect(p.created_at).toBe('2025-10-01T09:00:00.000Z')
    expect(p.last_updated).toBe('2025-10-20T17:02:45.884Z')
    expect(p.positions[0]).toMatchObject({ entry_timestamp: '2025-10-20T17:02:45.000Z', current_pnl: null, exit_timestamp: null })
    expect(await store.loadArchives()).toEqual([{ archived_at: '2025-10-20T17:02:45.884Z', archive_month: '2025-10', signals_count: 0, signals: [] }])
  })

  test('time parsing', () => {
    expect(toIsoUtc('2025-10-20T17:02:45.884042')).toBe('2025-10-20T17:02:45.884Z')
    expect(toIsoUtc('2025-10-20T19:02:45+02:00')).toBe('2025-10-20T17:02:45.000Z')
    expect(toIsoUtc('2025-10-20T17:02:45.8-0130')).toBe('2025-10-20T18:32:45.800Z')
    expect(toIsoUtc('2025-12-31')).toBe('2025-12-31T00:00:00.000Z')
    expect(toIsoUtc('2025-02-30T00:00:00Z')).toBeNull()
    expect(toIsoUtc('soon')).toBeNull()
  })
})

describe('toIsoUtc', () => {
  test('canonical times pass through; impossible ones are refused; other forms normalise', () => {
    expect(toIsoUtc('2024-02-29T23:59:59.999Z')).toBe('2024-02-29T23:59:59.999Z')
    expect(toIsoUtc('2025-02-29T00:00:00.000Z')).toBeNull()
    expect(toIsoUtc('2025-04-31T00:00:00.000Z')).toBeNull()
    expect(toIsoUtc('2025-10-20T17:02:45.884042')).toBe('2025-10-20T17:02:45.884Z')
    expect(toIsoUtc('2026-07-24 00:00:16+00')).toBe('2026-07-24T00:00:16.000Z')
    expect(toIsoUtc('2026-07-24T02:00:00+02:00')).toBe('2026-07-24T00:00:00.000Z')
  })
})
