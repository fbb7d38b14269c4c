/**
 * Generates the bundled sample snapshot in data/sample/: a small, SYNTHETIC Gamma
 * `/markets` response (invented events, questions and ids) in the real shape, quirks
 * included, and the same markets a week later with some of the ones the default
 * strategy buys resolved. Seeded, so re-running gives identical bytes:
 *
 *   bun scripts/make-snapshot.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadRecorded } from '../src/trading/source.ts'
import { DEFAULT_STRATEGY, runTradingLogic } from '../src/trading/logic.ts'

const OUT = resolve(import.meta.dir, '../data/sample')
const T_OPEN = Date.parse('2026-02-16T15:00:00Z')
const T_RESOLVED = Date.parse('2026-02-23T09:00:00Z')

/** mulberry32: tiny, seedable, good enough for invented data. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rnd = prng(20260216)
const digits = (n: number) => Array.from({ length: n }, (_, i) => String(Math.floor(rnd() * 10) || (i === 0 ? 1 : 0))).join('')
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('')
/** Gamma sends decimal strings with up to 6 places and no trailing zeros. */
const dec = (x: number, places = 6) => String(Number(x.toFixed(places)))
const iso = (ms: number) => new Date(ms).toISOString()
/** Gamma's microsecond timestamps. */
const isoMicro = (ms: number) => iso(ms).replace('Z', `${digits(3)}Z`)
const day = 86_400_000
const slugify = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

interface MarketSpec {
  q: string
  yes: number | null
  liq: number
  vol: number
  end?: string
  /** extra fields or overrides (quirks) */
  extra?: Record<string, unknown>
}
interface EventSpec {
  title: string
  end: string
  published?: boolean
  markets: MarketSpec[]
}

const EVENTS: EventSpec[] = [
  { title: 'Harbor City Mayoral Election 2026', end: '2026-03-10T12:00:00Z', published: true, markets: [
    { q: 'Will Dana Whitfield win the 2026 Harbor City mayoral election?', yes: 0.58, liq: 42_000, vol: 310_000 },
    { q: 'Will Marco Ibanez win the 2026 Harbor City mayoral election?', yes: 0.27, liq: 38_000, vol: 265_000 },
    { q: 'Will Priya Raman win the 2026 Harbor City mayoral election?', yes: 0.11, liq: 21_000, vol: 150_000 },
    { q: 'Will Theo Castellanos win the 2026 Harbor City mayoral election?', yes: 0.035, liq: 9_000, vol: 40_000 },
    { q: 'Will another candidate win the 2026 Harbor City mayoral election?', yes: 0.01, liq: 3_000, vol: 12_000 },
  ] },
  { title: 'Northwind Cup 2026 Champion', end: '2026-04-26T20:00:00Z', markets: [
    { q: 'Will the Port Alder Herons win the 2026 Northwind Cup?', yes: 0.44, liq: 25_000, vol: 140_000 },
    { q: 'Will the Granite Falls Rams win the 2026 Northwind Cup?', yes: 0.31, liq: 15_000, vol: 90_000 },
    { q: 'Will the Eastmoor Lynx win the 2026 Northwind Cup?', yes: 0.17, liq: 12_000, vol: 70_000 },
    { q: 'Will the Saltmarsh Otters win the 2026 Northwind Cup?', yes: 0.08, liq: 4_000, vol: 30_000 },
  ] },
  { title: 'Bank of Arcadia Rate Decision, March 2026', end: '2026-03-19T18:00:00Z', published: true, markets: [
    { q: 'Will the Bank of Arcadia hold rates in March 2026?', yes: 0.82, liq: 55_000, vol: 420_000 },
    { q: 'Will the Bank of Arcadia cut rates by 25 bps in March 2026?', yes: 0.15, liq: 30_000, vol: 180_000 },
    { q: 'Will the Bank of Arcadia raise rates in March 2026?', yes: 0.03, liq: 8_000, vol: 35_000 },
  ] },
  { title: 'Glacier Bay Rainfall, February 2026', end: '2026-03-01T06:00:00Z', markets: [
    { q: 'Will Glacier Bay record more than 120 mm of rain in February 2026?', yes: 0.72, liq: 7_000, vol: 26_000 },
    { q: 'Will Glacier Bay record more than 160 mm of rain in February 2026?', yes: 0.36, liq: 6_500, vol: 27_000 },
    { q: 'Will Glacier Bay record more than 200 mm of rain in February 2026?', yes: 0.12, liq: 4_000, vol: 18_000 },
  ] },
  { title: 'Kestrel Coin Price on February 28, 2026', end: '2026-02-28T23:59:59Z', markets: [
    { q: 'Will Kestrel Coin close above $2 on February 28, 2026?', yes: 0.91, liq: 18_000, vol: 95_000 },
    { q: 'Will Kestrel Coin close above $3 on February 28, 2026?', yes: 0.48, liq: 16_000, vol: 88_000 },
    { q: 'Will Kestrel Coin close above $4 on February 28, 2026?', yes: 0.064, liq: 11_000, vol: 60_000 },
    { q: 'Will Kestrel Coin close above $5 on February 28, 2026?', yes: 0.02, liq: 6_000, vol: 31_000 },
  ] },
  { title: 'Meridian Rail Labour Dispute', end: '2026-03-31T23:00:00Z', published: true, markets: [
    { q: 'Will Meridian Rail workers strike before April 1, 2026?', yes: 0.39, liq: 9_500, vol: 52_000 },
    { q: 'Will Meridian Rail and the union sign a deal by March 15, 2026?', yes: 0.64, liq: 8_800, vol: 47_000, end: '2026-03-15T23:00:00Z' },
  ] },
  { title: 'Lumen Labs Aurora Headset', end: '2026-06-30T23:59:00Z', markets: [
    // endDate already past on an open market: it waits for resolution.
    { q: 'Will Lumen Labs announce the Aurora headset before February 14, 2026?', yes: 0.97, liq: 12_000, vol: 80_000, end: '2026-02-14T00:00:00Z' },
    { q: 'Will Lumen Labs ship the Aurora headset before June 30, 2026?', yes: 0.23, liq: 14_000, vol: 66_000 },
    { q: "Will Lumen Labs' Aurora headset cost under $500 at launch?", yes: 0.7, liq: 10_000, vol: 45_000, end: '2026-03-20T00:00:00Z', extra: { umaResolutionStatus: 'proposed' } },
  ] },
  { title: 'Orbital Launches in Q1 2026', end: '2026-03-31T23:59:59Z', markets: [
    { q: 'Will there be more than 60 orbital launches in Q1 2026?', yes: 0.86, liq: 5_200, vol: 25_500 },
    { q: 'Will there be more than 75 orbital launches in Q1 2026?', yes: 0.41, liq: 5_400, vol: 26_000 },
    // Undeployed: empty conditionId, null prices and token ids, no liquidity/volume.
    { q: 'Will there be more than 90 orbital launches in Q1 2026?', yes: null, liq: 0, vol: 0 },
    // Fails validation: outcomePrices holds truncated JSON.
    { q: 'Will there be more than 45 orbital launches in Q1 2026?', yes: 0.97, liq: 6_000, vol: 30_000, extra: { outcomePrices: '["0.97", "0.03"' } },
  ] },
]
/** A market that came without its parent event (no `events` key). */
const STANDALONE: MarketSpec = { q: 'Will the Tidewater Bridge reopen to traffic by March 15, 2026?', yes: 0.76, liq: 16_000, vol: 61_000, end: '2026-03-15T12:00:00Z' }

type Obj = Record<string, unknown>
let nextMarketId = 910_001
let nextEventId = 70_101

function market(spec: MarketSpec, eventEnd: string, event: Obj | null, updatedAt: number): Obj {
  const id = String(nextMarketId++)
  const end = spec.end ?? eventEnd
  const created = T_OPEN - Math.floor(20 + rnd() * 60) * day
  const undeployed = spec.yes === null
  const yes = spec.yes ?? 0
  const m: Obj = {
    id,
    question: spec.q,
    conditionId: undeployed ? '' : `0x${hex(64)}`,
    slug: slugify(spec.q),
    resolutionSource: '',
    endDate: end,
    ...(undeployed ? {} : { liquidity: dec(spec.liq + rnd(), 5) }),
    startDate: isoMicro(created + 3_600_000),
    image: '',
    icon: '',
    description: `Synthetic sample market for prescient. ${spec.q} Resolves "Yes" if so, otherwise "No".`,
    outcomes: '["Yes", "No"]',
    outcomePrices: undeployed ? null : JSON.stringify([dec(yes, 4), dec(1 - yes, 4)]).replace(',', ', '),
    ...(undeployed ? {} : { volume: dec(spec.vol + rnd() * 100, 6) }),
    active: true,
    closed: false,
    marketMakerAddress: '',
    createdAt: isoMicro(created),
    updatedAt: isoMicro(updatedAt),
    new: false,
    featured: false,
    archived: false,
    restricted: true,
    enableOrderBook: !undeployed,
    orderPriceMinTickSize: 0.001,
    orderMinSize: 5,
  }
  if (!undeployed) {
    const v24 = Math.round(spec.vol * (0.01 + rnd() * 0.04) * 100) / 100
    Object.assign(m, { volumeNum: Number(m.volume), liquidityNum: Number(m.liquidity) })
    m.endDateIso = end.slice(0, 10)
    m.startDateIso = String(m.startDate).slice(0, 10)
    if (rnd() > 0.25) m.volume24hr = v24 // often absent, as in real responses
    m.clobTokenIds = JSON.stringify([digits(77), digits(77)]).replace(',', ', ')
    m.acceptingOrders = true
    m.spread = 0.01
    if (rnd() > 0.25) m.bestBid = Number((yes - 0.005).toFixed(3))
    m.bestAsk = Number((yes + 0.005).toFixed(3))
    m.lastTradePrice = yes
    if (rnd() > 0.5) m.oneDayPriceChange = Number(((rnd() - 0.5) / 50).toFixed(4))
  } else {
    m.clobTokenIds = null
  }
  if (event) m.events = [event]
  m.umaResolutionStatuses = '[]'
  return Object.assign(m, spec.extra ?? {})
}

function build(): Obj[] {
  const out: Obj[] = []
  for (const e of EVENTS) {
    const id = String(nextEventId++)
    const created = T_OPEN - Math.floor(30 + rnd() * 60) * day
    const ev: Obj = {
      id,
      ticker: slugify(e.title),
      slug: slugify(e.title),
      title: e.title,
      description: `Synthetic sample event for prescient: ${e.title}.`,
      startDate: isoMicro(created),
      creationDate: isoMicro(created),
      endDate: e.end,
      active: true,
      closed: false,
      archived: false,
      restricted: true,
      liquidity: Number(e.markets.reduce((s, m) => s + m.liq, 0).toFixed(5)),
      volume: Number(e.markets.reduce((s, m) => s + m.vol, 0).toFixed(6)),
      volume24hr: Math.round(rnd() * 50_000 * 100) / 100,
      createdAt: isoMicro(created - 3_600_000),
      updatedAt: isoMicro(T_OPEN - Math.floor(rnd() * 600_000)),
      // Postgres-style timestamp with a short offset, as Gamma sends published_at.
      ...(e.published ? { published_at: new Date(created).toISOString().replace('T', ' ').replace('Z', '+00') } : {}),
      negRisk: e.markets.length > 2,
      commentCount: Math.floor(rnd() * 200),
    }
    for (const m of e.markets) out.push(market(m, e.end, ev, T_OPEN - Math.floor(rnd() * 3_600_000)))
  }
  out.push(market(STANDALONE, STANDALONE.end!, null, T_OPEN - Math.floor(rnd() * 3_600_000)))
  // The snapshot's clock is its newest updatedAt: make it exactly T_OPEN.
  out[0]!.updatedAt = '2026-02-16T15:00:00.000000Z'
  return out
}

/** A week later: prices drift; some markets the strategy bought resolve (closed, 'resolved', 1/0, active still true). */
function later(open: Obj[], bought: string[]): Obj[] {
  const r = prng(20260223)
  const resolveIds = new Set(bought.filter((_, i) => i % 2 === 0))
  const winFor = new Map([...resolveIds].map((id, i) => [id, i % 3 !== 2])) // two in three favourites win
  return open.map((m0, i) => {
    const m = structuredClone(m0)
    m.updatedAt = i === 0 ? '2026-02-23T09:00:00.000000Z' : iso(T_RESOLVED - Math.floor(r() * 7_200_000)).replace('Z', '000Z')
    const prices = typeof m.outcomePrices === 'string' ? (() => { try { return JSON.parse(m.outcomePrices as string) as string[] } catch { return null } })() : null
    if (!prices) return m
    const yes = Number(prices[0])
    if (resolveIds.has(String(m.id)) || String(m.question).includes('announce the Aurora')) {
      const favYes = yes >= 0.5
      const yesWins = (winFor.get(String(m.id)) ?? true) ? favYes : !favYes
      Object.assign(m, {
        closed: true,
        umaResolutionStatus: 'resolved',
        outcomePrices: yesWins ? '["1", "0"]' : '["0", "1"]',
        closedTime: `2026-02-2${1 + Math.floor(r() * 2)} 1${Math.floor(r() * 10)}:30:05+00`,
        acceptingOrders: false,
        liquidity: '0',
        liquidityNum: 0,
        umaResolutionStatuses: '["proposed", "resolved"]',
        lastTradePrice: yesWins ? 0.999 : 0.001,
      })
      delete m.bestBid
      delete m.bestAsk
      return m
    }
    const y = Math.min(0.99, Math.max(0.01, yes + (r() - 0.5) * 0.08))
    m.outcomePrices = JSON.stringify([dec(y, 3), dec(1 - y, 3)]).replace(',', ', ')
    if (typeof m.lastTradePrice === 'number') m.lastTradePrice = Number(y.toFixed(3))
    return m
  })
}

const write = (name: string, data: unknown) => writeFileSync(resolve(OUT, name), `${JSON.stringify(data, null, 2)}\n`)

mkdirSync(OUT, { recursive: true })
const open = build()
write('markets_open.json', open)
const src = await loadRecorded(resolve(OUT, 'markets_open.json'))
const run = runTradingLogic({ source: src, portfolio: null, openTrades: [], now: new Date(src.snapshotTime!), strategy: DEFAULT_STRATEGY })
const bought = run.signals.filter((s) => s.executed).map((s) => s.market_id)
write('markets_resolved.json', later(open, bought))
console.error(`wrote ${open.length} markets; default strategy: ${run.signals.length} signals, ${bought.length} trades; ${src.rejects.length} reject(s)`)
