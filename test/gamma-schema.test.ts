import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { normDate, parseEvent, parseMarket, resolutionOf } from '../src/schema/gamma.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'

const market = (over: Record<string, unknown> = {}) => ({
  id: '42',
  question: 'Will it rain?',
  outcomes: '["Yes", "No"]',
  outcomePrices: '["0.25", "0.75"]',
  clobTokenIds: '["111", "222"]',
  liquidity: '1234.5',
  volume: '99999.123456',
  active: true,
  closed: false,
  endDate: '2026-03-01T00:00:00Z',
  updatedAt: '2026-02-01T10:00:00.123456Z',
  ...over,
})

const ok = (raw: unknown) => {
  const r = parseMarket(raw)
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}`)
  return r.value.market
}
const rejected = (raw: unknown) => {
  const r = parseMarket(raw)
  if (r.ok) throw new Error('expected a reject')
  return r
}

describe('normDate', () => {
  test.each([
    ['2026-01-31T18:05:29.330507Z', '2026-01-31T18:05:29.330Z'],
    ['2025-12-31T12:00:00Z', '2025-12-31T12:00:00.000Z'],
    ['2025-12-31', '2025-12-31T00:00:00.000Z'],
    ['2026-07-24 00:00:16+00', '2026-07-24T00:00:16.000Z'],
    ['2022-07-27 14:40:02.064+00', '2022-07-27T14:40:02.064Z'],
    ['2026-01-01T05:30:00+05:30', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00-0200', '2026-01-01T02:00:00.000Z'],
    ['2026-01-01 10:00', '2026-01-01T10:00:00.000Z'],
  ])('%s -> %s', (input, want) => expect(normDate(input)).toBe(want))

  test.each(['', 'yesterday', '2026-02-30', '2026-13-01', '2026-01-01T25:00:00Z', '01/02/2026', '2026-01-01T00:00:00+0x'])('%p is not a date', (s) => {
    expect(normDate(s)).toBeNull()
  })
})

describe('market schema', () => {
  test('decodes JSON held in strings and decimal strings', () => {
    const m = ok(market())
    expect(m.outcomes).toEqual(['Yes', 'No'])
    expect(m.yesPrice).toBe(0.25)
    expect(m.noPrice).toBe(0.75)
    expect(m.liquidity).toBe(1234.5)
    expect(m.volume).toBe(99999.123456)
    expect(m.updatedAt).toBe('2026-02-01T10:00:00.123Z')
    expect(m.resolved).toBe(false)
    expect(m.eventId).toBeNull()
    // the raw object is kept as received (minus its parent event)
    expect(m.raw.outcomePrices).toBe('["0.25", "0.75"]')
  })

  test('numeric liquidityNum/volumeNum win over the strings', () => {
    const m = ok(market({ liquidityNum: 1234.56, volumeNum: 5 }))
    expect(m.liquidity).toBe(1234.56)
    expect(m.volume).toBe(5)
  })

  test('absent fields are null, id may be a number', () => {
    const m = ok({ id: 7, question: 'Q?' })
    expect(m.id).toBe('7')
    expect([m.yesPrice, m.liquidity, m.volume, m.volume24hr, m.endDate, m.slug]).toEqual([null, null, null, null, null, null])
    expect(m.active).toBe(true)
    expect(m.closed).toBe(false)
  })

  test('undeployed market with null outcomePrices/clobTokenIds parses without prices', () => {
    const m = ok(market({ conditionId: '', outcomePrices: null, clobTokenIds: null, liquidity: undefined, volume: undefined }))
    expect(m.yesPrice).toBeNull()
    expect(m.conditionId).toBeNull()
  })

  test.each([
    [{ outcomePrices: '["0.25", "0.75"' }, 'outcomePrices: is not valid JSON'],
    [{ outcomePrices: 'abc' }, 'outcomePrices: is not valid JSON'],
    [{ outcomes: '{"a":1}' }, 'outcomes: does not hold a JSON array'],
    [{ clobTokenIds: '[' }, 'clobTokenIds: is not valid JSON'],
    [{ outcomePrices: '["1.2", "-0.2"]' }, 'outcomePrices: [0] is outside [0,1]'],
    [{ outcomePrices: '["NaN", "0.5"]' }, 'outcomePrices: [0] is not a decimal number'],
    [{ outcomePrices: '["0.3", "0.3", "0.4"]' }, 'outcomePrices: 3 prices for 2 outcomes'],
    [{ liquidity: '-5' }, 'liquidity: negative'],
    [{ volume: 'lots' }, 'volume: not a decimal number'],
    [{ liquidityNum: Number.POSITIVE_INFINITY }, 'liquidityNum: not a finite number'],
    [{ volume24hr: Number.NaN }, 'volume24hr: '], // valibot's number() refuses NaN itself
    [{ endDate: 'next tuesday' }, 'endDate: unrecognised date'],
    [{ question: 5 }, 'question:'],
    [{ id: '' }, 'id: is empty'],
    [{ events: [{ title: 'no id' }] }, 'events[0].id:'],
  ])('rejects %p with a reason naming the field', (over, reason) => {
    const r = rejected(market(over))
    expect(r.reason).toStartWith(reason)
  })

  test('a reject keeps the id when there is one', () => {
    expect(rejected(market({ liquidity: '-1' })).id).toBe('42')
    expect(rejected('not an object').id).toBeNull()
  })

  test('parent event from events[0]', () => {
    const r = parseMarket(market({ events: [{ id: 9, title: 'Weather', liquidity: 10.5, volume: '20', endDate: '2026-03-02' }] }))
    if (!r.ok) throw new Error(r.reason)
    expect(r.value.market.eventId).toBe('9')
    expect(r.value.market.eventTitle).toBe('Weather')
    expect(r.value.market.eventEndDate).toBe('2026-03-02T00:00:00.000Z')
    expect(r.value.event?.liquidity).toBe(10.5)
    expect(r.value.event?.volume).toBe(20)
    expect('events' in r.value.market.raw).toBe(false)
  })
})

describe('event schema', () => {
  test('numbers, dates, raw without markets', () => {
    const r = parseEvent({ id: '1', title: 'T', liquidity: 5, volume: 6.5, published_at: '2022-07-27 14:40:02.064+00', markets: [] })
    if (!r.ok) throw new Error(r.reason)
    expect(r.value.liquidity).toBe(5)
    expect(r.value.raw).toEqual({ id: '1', title: 'T', liquidity: 5, volume: 6.5, published_at: '2022-07-27 14:40:02.064+00' })
  })
  test('title falls back to the slug; a negative volume is a reject', () => {
    const r = parseEvent({ id: '1', slug: 's' })
    expect(r.ok && r.value.title).toBe('s')
    const bad = parseEvent({ id: '1', title: 'T', volume: -1 })
    expect(!bad.ok && bad.reason).toBe('volume: negative: -1')
  })
})

describe('resolution rule', () => {
  test.each([
    [true, 'resolved', [1, 0], { payoutYes: 1, payoutNo: 0 }],
    [true, 'resolved', [0, 1], { payoutYes: 0, payoutNo: 1 }],
    [true, null, [1, 0], { payoutYes: 1, payoutNo: 0 }],
    [true, 'resolved', [0.6, 0.4], { payoutYes: 0.6, payoutNo: 0.4 }],
    [true, null, [0, 0], null],
    [true, 'resolved', [0, 0], null],
    [true, null, [0.58, 0.42], null],
    [true, 'proposed', [1, 0], null],
    [true, 'disputed', [0, 1], null],
    [false, 'resolved', [1, 0], null],
    [true, 'resolved', null, null],
  ] as const)('closed=%p uma=%p prices=%p', (closed, uma, prices, want) => {
    expect(resolutionOf(closed, uma, prices ? [...prices] : null)).toEqual(want)
  })
})

describe.skipIf(!fixturesAvailable)('real fixtures', () => {
  const load = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8'))

  test('every market of the three /markets files validates', () => {
    for (const name of ['gamma_markets_active_2026-01-31.json', 'gamma_markets_active_2026-01-10.json', 'gamma_markets_active_2025-05-07.json']) {
      const items = load(name) as unknown[]
      const bad = items.map((x) => parseMarket(x)).filter((r) => !r.ok)
      expect(bad).toEqual([])
    }
  })

  test('2025-05-07 item 0 is undeployed: no prices, no liquidity', () => {
    const m = ok(load('gamma_markets_active_2025-05-07.json')[0])
    expect([m.yesPrice, m.noPrice, m.liquidity, m.volume, m.conditionId]).toEqual([null, null, null, null, null])
  })

  test.each([
    ['nautilus_trader/gamma_market_closed_binary_accepting_false.json', true, 0, 1],
    ['nautilus_trader/gamma_market_closed_binary_accepting_true.json', true, 1, 0],
    ['nautilus_trader/gamma_market_closed_zero_zero_legacy.json', false, null, null],
    ['nautilus_trader/gamma_market_closed_nonbinary_legacy.json', false, null, null],
    ['nautilus_trader/gamma_market.json', false, null, null],
  ])('%s resolved=%p', (name, resolved, yes, no) => {
    const m = ok(load(name))
    expect(m.resolved).toBe(resolved)
    expect(m.payoutYes).toBe(yes)
    expect(m.payoutNo).toBe(no)
    if (name.includes('closed')) expect(m.active).toBe(true)
  })
})
