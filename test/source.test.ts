import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Exit, PrescientError } from '../src/errors.ts'
import { jsonErrorOffset, loadRecorded } from '../src/trading/source.ts'
import type { SourceData } from '../src/trading/types.ts'
import { REPO, fixture, fixturesAvailable } from './_fixtures.ts'

const dir = mkdtempSync(join(tmpdir(), 'prescient-source-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const marketsOf = (s: SourceData) => s.events.flatMap((e) => e.markets)

const mk = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  question: `Q ${id}?`,
  outcomes: '["Yes", "No"]',
  outcomePrices: '["0.4", "0.6"]',
  liquidity: '100.5',
  volume: '2000',
  updatedAt: `2026-01-0${id.length}T00:00:00Z`,
  ...over,
})

async function usageErr(path: string): Promise<PrescientError> {
  try {
    await loadRecorded(path)
  } catch (err) {
    expect(err).toBeInstanceOf(PrescientError)
    expect((err as PrescientError).exitCode).toBe(Exit.usage)
    expect((err as PrescientError).message).toContain(path)
    return err as PrescientError
  }
  throw new Error(`expected ${path} to fail`)
}

describe.skipIf(!fixturesAvailable)('every fixture file loads', () => {
  test.each([
    ['gamma_markets_active_2026-01-31.json', 46, 500, '2026-01-31T18:05:47.371Z'],
    ['gamma_markets_active_2026-01-10.json', 23, 100, '2026-01-10T10:28:59.783Z'],
    ['gamma_markets_active_2025-05-07.json', 32, 100, '2025-05-07T21:38:22.032Z'],
    ['btc5m_markets_resolved_2026-07-24.jsonl.gz', 292, 292, null],
    ['nautilus_trader/gamma_event.json', 1, 2, '2026-03-11T15:13:18.306Z'],
    ['nautilus_trader/gamma_market.json', 1, 1, '2026-03-11T15:14:46.097Z'],
    ['nautilus_trader/gamma_market_closed_binary_accepting_false.json', 1, 1, null],
    ['nautilus_trader/gamma_market_closed_binary_accepting_true.json', 1, 1, null],
    ['nautilus_trader/gamma_market_closed_nonbinary_legacy.json', 1, 1, null],
    ['nautilus_trader/gamma_market_closed_zero_zero_legacy.json', 1, 1, null],
  ])('%s: %d events, %d markets', async (name, events, markets, snap) => {
    const s = await loadRecorded(fixture(name))
    expect(s.rejects).toEqual([])
    expect(s.events.length).toBe(events)
    expect(marketsOf(s).length).toBe(markets)
    if (snap) expect(s.snapshotTime).toBe(snap)
    expect(s.source).toBe(fixture(name))
  })

  test('a /markets file is grouped into events by events[0].id', async () => {
    const s = await loadRecorded(fixture('gamma_markets_active_2026-01-31.json'))
    const deport = s.events.find((e) => e.id === '16282')!
    expect(deport.title).toBe('How many people will Trump deport in 2025?')
    expect(deport.liquidity).toBe(68663.37682)
    expect(deport.markets.every((m) => m.eventId === '16282')).toBe(true)
    expect('markets' in deport.raw).toBe(false)
    // quirk: an open market whose endDate is past
    const pastDue = marketsOf(s).filter((m) => !m.closed && m.endDate && m.endDate < s.snapshotTime!)
    expect(pastDue.length).toBe(28)
  })

  test('btc5m: wrapper lines, no parent event, all resolved to 1/0 like the wrapper says', async () => {
    const s = await loadRecorded(fixture('btc5m_markets_resolved_2026-07-24.jsonl.gz'))
    const ms = marketsOf(s)
    expect(ms.every((m) => m.resolved && m.closed && m.active && m.eventId === null)).toBe(true)
    expect(s.events.every((e) => e.id === `market-${e.markets[0]!.id}` && e.raw.synthetic === true)).toBe(true)
    expect(ms.every((m) => m.payoutYes! + m.payoutNo! === 1)).toBe(true)
    expect(ms.filter((m) => m.payoutYes === 1).length).toBeGreaterThan(0)
    expect(s.snapshotTime).toBe('2026-07-25T00:16:32.526Z')
  })

  test('an /events response keeps the event and its nested markets', async () => {
    const s = await loadRecorded(fixture('nautilus_trader/gamma_event.json'))
    expect(s.events[0]!.id).toBe('30829')
    expect(s.events[0]!.liquidity).toBe(43042905.16152)
    expect(marketsOf(s).map((m) => m.eventId)).toEqual(['30829', '30829'])
  })

  test('rawEvents round-trips through a raw_events_backup.json wrapper', async () => {
    for (const name of ['gamma_markets_active_2026-01-10.json', 'btc5m_markets_resolved_2026-07-24.jsonl.gz']) {
      const a = await loadRecorded(fixture(name))
      const p = file('raw_events_backup.json', JSON.stringify({ fetched_at: '2026-01-10T11:00:00Z', source: 'api', events: a.rawEvents }))
      const b = await loadRecorded(p)
      expect(b.rejects).toEqual([])
      expect(b.fetchedAt).toBe('2026-01-10T11:00:00.000Z')
      const strip = (s: SourceData) => s.events.map((e) => ({ ...e, markets: e.markets.map((m) => ({ ...m, raw: null })) }))
      expect(strip(b)).toEqual(strip(a))
      expect(b.snapshotTime).toBe(a.snapshotTime)
    }
  })
})

describe('shapes and quirks', () => {
  test('a /markets array with a bad record: skipped and counted with id, path and reason', async () => {
    const p = file('markets.json', JSON.stringify([mk('1'), mk('22', { outcomePrices: '["0.4", ' }), 'junk', mk('333', { liquidity: '-2' }), mk('1')]))
    const s = await loadRecorded(p)
    expect(marketsOf(s).map((m) => m.id)).toEqual(['1'])
    expect(s.rejects).toEqual([
      { kind: 'market', id: '22', where: `${p} $[1]`, reason: expect.stringContaining('outcomePrices: is not valid JSON') },
      { kind: 'market', id: null, where: `${p} $[2]`, reason: 'not an object' },
      { kind: 'market', id: '333', where: `${p} $[3]`, reason: 'liquidity: negative: -2' },
    ])
  })

  test('an /events array: bad market inside an event is reported by its nested path', async () => {
    const p = file('events.json', JSON.stringify([{ id: 'e1', title: 'E', markets: [mk('1'), mk('2', { outcomePrices: '["2", "0"]' })] }, { id: 'e2', title: 'F', volume: -1, markets: [mk('3')] }]))
    const s = await loadRecorded(p)
    expect(marketsOf(s).map((m) => m.id)).toEqual(['1'])
    expect(s.rejects.map((r) => [r.kind, r.id, r.where])).toEqual([
      ['market', '2', `${p} $[0].markets[1]`],
      ['event', 'e2', `${p} $[1]`],
    ])
    expect(s.rawEvents).toEqual([{ id: 'e1', title: 'E', markets: [mk('1')] }])
  })

  test('JSONL: plain lines, wrapped lines, blank lines and a broken line', async () => {
    const lines = [JSON.stringify(mk('1')), '', JSON.stringify({ slug: 'x', raw: mk('22') }), '{"id": "3", "quest', JSON.stringify({ raw: mk('4', { volume: 'x' }) })]
    const p = file('m.jsonl.gz', gzipSync(lines.join('\n')))
    const s = await loadRecorded(p)
    expect(marketsOf(s).map((m) => m.id)).toEqual(['1', '22'])
    expect(s.rejects.map((r) => r.where)).toEqual([`${p} line 4`, `${p} line 5 $.raw`])
    expect(s.rejects[1]!.id).toBe('4')
  })

  test('a UTF-8 BOM is stripped', async () => {
    const s = await loadRecorded(file('bom.json', `\uFEFF${JSON.stringify([mk('1')])}`))
    expect(marketsOf(s).length).toBe(1)
  })

  test('a single market object; a market without events gets a synthetic event', async () => {
    const s = await loadRecorded(file('one.json', JSON.stringify(mk('55'))))
    expect(s.events[0]!.id).toBe('market-55')
    expect(s.events[0]!.markets[0]!.eventId).toBeNull()
    expect(s.rawEvents[0]).toMatchObject({ id: 'market-55', synthetic: true })
  })

  test('snapshotTime is the latest market updatedAt; an empty array is valid and empty', async () => {
    const s = await loadRecorded(file('t.json', JSON.stringify([mk('1'), mk('333'), mk('22')])))
    expect(s.snapshotTime).toBe('2026-01-03T00:00:00.000Z')
    const e = await loadRecorded(file('empty-array.json', '[]'))
    expect(e.events).toEqual([])
    expect(e.snapshotTime).toBeNull()
  })

  test('the bundled sample: 29 records, exactly 1 reject, clock 2026-02-16T15:00Z', async () => {
    const s = await loadRecorded(resolve(REPO, 'data/sample/markets_open.json'))
    expect(marketsOf(s).length).toBe(28)
    expect(s.rejects.length).toBe(1)
    expect(s.rejects[0]!.reason).toStartWith('outcomePrices: is not valid JSON')
    expect(s.snapshotTime).toBe('2026-02-16T15:00:00.000Z')
    const r = await loadRecorded(resolve(REPO, 'data/sample/markets_resolved.json'))
    expect(marketsOf(r).filter((m) => m.resolved).length).toBeGreaterThanOrEqual(3)
    expect(marketsOf(r).filter((m) => m.resolved).every((m) => m.active)).toBe(true)
  })
})

describe('bad files are usage errors naming the file', () => {
  test('missing file', async () => {
    expect((await usageErr(join(dir, 'nope.json'))).message).toContain('not found')
  })
  test('a directory', async () => {
    const d = join(dir, 'adir')
    mkdirSync(d, { recursive: true })
    expect((await usageErr(d)).message).toContain('directory')
  })
  test('empty and whitespace-only', async () => {
    expect((await usageErr(file('empty.json', ''))).message).toContain('empty')
    expect((await usageErr(file('blank.json', '  \n'))).message).toContain('empty')
  })
  test('truncated JSON names the position', async () => {
    const p = file('trunc.json', '[\n  {"id": "1",\n   "question": "x"')
    expect((await usageErr(p)).message).toContain('end of file')
    const q = file('bad.json', '[\n  {"id": "1" "question": "x"}]')
    expect((await usageErr(q)).message).toContain('line 2 column 14')
  })
  test('not gzip, and JSON that is not a Gamma response', async () => {
    expect((await usageErr(file('x.json.gz', 'plain text'))).message).toContain('gzip')
    expect((await usageErr(file('num.json', '42'))).message).toContain('not a Gamma')
  })
})

test('jsonErrorOffset finds the first syntax error', () => {
  expect(jsonErrorOffset('[1,2]')).toBe(-1)
  expect(jsonErrorOffset('[1,2,]')).toBe(5)
  expect(jsonErrorOffset('{"a":1 "b":2}')).toBe(7)
  expect(jsonErrorOffset('{"a":"x')).toBe(7)
  expect(jsonErrorOffset('[1] x')).toBe(4)
  expect(jsonErrorOffset('{"a":"\\"q\\"", "b": [true, null, -1.5e3]}')).toBe(-1)
})
