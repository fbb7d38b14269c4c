/**
 * `prescient report`: the numbers on a hand-made history (answers worked out by
 * hand below), the chart files (parsed as XML), and the same report from
 * PostgreSQL in phase 7 as from JSON in phase 0.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { cfg, rmrf, tempDir } from './_cycle.ts'
import type { HistoryRow, Portfolio, Trade } from '../src/domain.ts'
import { computeReport, type Report } from '../src/report/compute.ts'
import { esc, niceTicks, renderSvg } from '../src/report/svg.ts'
import { runCycle } from '../src/trading/cycle.ts'
import { runMain as run } from './_run.ts'


// ---- a strict little XML parser: enough to prove a file is well-formed ----

interface El {
  name: string
  attrs: Record<string, string>
  children: El[]
  text: string
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
function decode(s: string, where: string): string {
  if (s.includes('<')) throw new Error(`raw < in ${where}`)
  return s.replace(/&([^;\s&]*);?/g, (m, e: string) => {
    if (!m.endsWith(';')) throw new Error(`bare & in ${where}: ${m}`)
    if (e in ENTITY) return ENTITY[e]!
    const n = /^#x([0-9a-f]+)$/i.exec(e) ? parseInt(e.slice(2), 16) : /^#(\d+)$/.exec(e) ? Number(e.slice(1)) : NaN
    if (Number.isNaN(n)) throw new Error(`unknown entity &${e}; in ${where}`)
    return String.fromCodePoint(n)
  })
}

function parseXml(src: string): El {
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(src)) throw new Error('a character XML 1.0 forbids')
  const doc: El = { name: '#document', attrs: {}, children: [], text: '' }
  const stack = [doc]
  let i = 0
  const START = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y
  while (i < src.length) {
    const lt = src.indexOf('<', i)
    const chunk = src.slice(i, lt < 0 ? src.length : lt)
    if (chunk.trim()) {
      if (stack.length === 1) throw new Error(`text outside the root: ${chunk.slice(0, 40)}`)
      stack[stack.length - 1]!.text += decode(chunk, 'text')
    }
    if (lt < 0) break
    const skip = (open: string, close: string) => {
      if (!src.startsWith(open, lt)) return false
      const end = src.indexOf(close, lt + open.length)
      if (end < 0) throw new Error(`unterminated ${open}`)
      i = end + close.length
      return true
    }
    if (skip('<?', '?>') || skip('<!--', '-->')) continue
    if (src.startsWith('</', lt)) {
      const m = /<\/([A-Za-z_][\w.:-]*)\s*>/y
      m.lastIndex = lt
      const r = m.exec(src)
      const top = stack.pop()
      if (!r || !top || top.name !== r[1]) throw new Error(`mismatched end tag at ${lt}: ${src.slice(lt, lt + 30)}`)
      i = m.lastIndex
      continue
    }
    START.lastIndex = lt
    const r = START.exec(src)
    if (!r) throw new Error(`malformed tag at ${lt}: ${src.slice(lt, lt + 40)}`)
    const el: El = { name: r[1]!, attrs: {}, children: [], text: '' }
    for (const a of r[2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]}`)
      el.attrs[a[1]!] = decode(a[2] ?? a[3] ?? '', `attribute ${a[1]}`)
    }
    const parent = stack[stack.length - 1]!
    if (parent === doc && doc.children.length) throw new Error('a second root element')
    parent.children.push(el)
    if (!r[3]) stack.push(el)
    i = START.lastIndex
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`)
  if (doc.children.length !== 1) throw new Error('no root element')
  return doc.children[0]!
}

const all = (el: El, pred: (e: El) => boolean): El[] => [...(pred(el) ? [el] : []), ...el.children.flatMap((c) => all(c, pred))]
const texts = (el: El) => all(el, (e) => e.name === 'text').map((e) => e.text)

// ---- the hand-made history ----

const CLOCK = '2026-01-08T00:00:00.000Z'
const inDays = (d: number) => new Date(Date.parse(CLOCK) + d * 86_400_000).toISOString()
type T = Partial<Trade> & Pick<Trade, 'trade_id' | 'timestamp' | 'market_id' | 'amount' | 'entry_price'>
const trade = (t: T): Trade => ({
  market_question: `Question ${t.market_id}?`,
  action: 'buy_yes',
  confidence: 0.5,
  reason: null,
  status: 'open',
  event_id: null,
  event_title: null,
  event_end_date: null,
  current_pnl: 0,
  realized_pnl: null,
  exit_price: null,
  exit_timestamp: null,
  ...t,
})
const closed = (exit: number, pnl: number, at: string) => ({ status: 'closed' as const, exit_price: exit, realized_pnl: pnl, current_pnl: pnl, exit_timestamp: at })
const E = (id: string) => ({ event_id: id, event_title: `Event ${id}` })

const TRADES: Trade[] = [
  trade({ trade_id: 't1', timestamp: '2026-01-01T10:00:00.000Z', market_id: 'A', ...E('E1'), amount: 100, entry_price: 0.5, ...closed(1, 100, '2026-01-03T10:00:00.000Z') }),
  trade({ trade_id: 't2', timestamp: '2026-01-01T12:00:00.000Z', market_id: 'B', ...E('E1'), action: 'buy_no', amount: 200, entry_price: 0.8, ...closed(0, -200, '2026-01-04T09:00:00.000Z') }),
  trade({ trade_id: 't3', timestamp: '2026-01-02T08:00:00.000Z', market_id: 'C', ...E('E2'), amount: 50, entry_price: 0.4, ...closed(1, 75, '2026-01-03T23:59:59.000Z') }),
  trade({ trade_id: 't4', timestamp: '2026-01-05T09:00:00.000Z', market_id: 'D', ...E('E2'), amount: 300, entry_price: 0.6, current_pnl: 30, event_end_date: inDays(0.5) }),
  trade({ trade_id: 't5', timestamp: '2026-01-05T10:00:00.000Z', market_id: 'E', ...E('E3'), amount: 120, entry_price: 0.3, current_pnl: -12, event_end_date: inDays(1) }),
  trade({ trade_id: 't6', timestamp: '2026-01-06T10:00:00.000Z', market_id: 'F', amount: 80, entry_price: 0.7, current_pnl: 0 }),
  trade({ trade_id: 't7', timestamp: '2026-01-06T11:00:00.000Z', market_id: 'G', ...E('E3'), amount: 60, entry_price: 0.9, current_pnl: 6, event_end_date: inDays(45) }),
  trade({ trade_id: 't8', timestamp: '2026-01-06T12:00:00.000Z', market_id: 'H', ...E('E4'), amount: 40, entry_price: 0.2, current_pnl: -4, event_end_date: inDays(200) }),
  trade({ trade_id: 't9', timestamp: '2026-01-07T10:00:00.000Z', market_id: 'A', ...E('E1'), amount: 10, entry_price: 0.5, current_pnl: 1, event_end_date: inDays(10) }),
]
const OPEN = TRADES.filter((t) => t.status === 'open')
const PORTFOLIO: Portfolio = {
  balance: 8500,
  total_invested: 960,
  total_profit_loss: -4,
  trade_count: 9,
  created_at: '2026-01-01T10:00:00.000Z',
  last_updated: CLOCK,
  positions: OPEN.map((t) => ({ trade_id: t.trade_id, market_id: t.market_id, market_question: t.market_question, action: t.action, amount: t.amount, entry_price: t.entry_price, entry_timestamp: t.timestamp, status: 'open', current_pnl: t.current_pnl, realized_pnl: null, exit_price: null, exit_timestamp: null })),
}
const hist = (d: string, v: number): HistoryRow => ({ snapshot_date: d, timestamp: `${d}T12:00:00.000Z`, balance: v, total_invested: 0, total_profit_loss: v - 10000, total_value: v, open_positions: 0, trade_count: 0 })
const HISTORY = [hist('2026-01-01', 10000), hist('2026-01-04', 9900), hist('2026-01-07', 9131)]

function writeData(dir: string) {
  const put = (rel: string, v: unknown) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), JSON.stringify(v, null, 2))
  }
  put('trades/paper_trades.json', TRADES)
  put('trades/portfolio.json', PORTFOLIO)
  put('history/portfolio_history.json', HISTORY)
}

describe('report numbers on a hand-made history', () => {
  let dir: string
  let r: Report
  beforeAll(async () => {
    dir = tempDir('report')
    writeData(dir)
    const out = await run(['report', '--json', '--data-dir', dir])
    expect(out.code).toBe(0)
    r = JSON.parse(out.stdout)
  })
  afterAll(() => rmrf(dir))

  test('the clock defaults to the last cycle (portfolio.last_updated)', () => {
    expect(r.clock).toBe(CLOCK)
  })

  test('summary: balance, invested, realized / unrealized, win rate, average edge', () => {
    expect(r.summary).toEqual({
      balance: 8500,
      invested: 610, // open: 300 + 120 + 80 + 60 + 40 + 10
      invested_total: 960, // + settled 100 + 200 + 50
      realized_pnl: -25, // 100 - 200 + 75
      unrealized_pnl: 21, // 30 - 12 + 0 + 6 - 4 + 1
      total_pnl: -4,
      total_value: 9131, // 8500 + 610 + 21
      trades: 9,
      open_trades: 6,
      settled_trades: 3,
      wins: 2,
      losses: 1,
      win_rate: 0.6667, // 2 / 3
      avg_edge: 0.1, // ((1 - 0.5) + (0 - 0.8) + (1 - 0.4)) / 3
    })
  })

  test('P&L by market, best 5 and worst 5', () => {
    expect(r.by_market.map((m) => [m.market_id, m.pnl])).toEqual([['A', 101], ['C', 75], ['D', 30], ['G', 6], ['F', 0], ['H', -4], ['E', -12], ['B', -200]])
    const a = r.by_market[0]!
    expect([a.trades, a.open, a.settled, a.invested, a.realized_pnl, a.unrealized_pnl]).toEqual([2, 1, 1, 110, 100, 1])
    expect(r.best.map((m) => m.market_id)).toEqual(['A', 'C', 'D', 'G', 'F'])
    expect(r.worst.map((m) => m.market_id)).toEqual(['B', 'E', 'H', 'F', 'G'])
  })

  test('P&L by event', () => {
    // E2 = C 75 + D 30; no event = F 0; E4 = H -4; E3 = E -12 + G 6; E1 = A 101 + B -200
    expect(r.by_event.map((e) => [e.event_id, e.markets, e.pnl])).toEqual([['E2', 2, 105], [null, 1, 0], ['E4', 1, -4], ['E3', 2, -6], ['E1', 2, -99]])
  })

  test('exposure by days to end: bucket edges are [0,1) [1,7) [7,30) [30,90) [90,∞)', () => {
    expect(r.exposure).toEqual([
      { bucket: '<1d', trades: 1, amount: 300, value: 330 },
      { bucket: '1-7d', trades: 1, amount: 120, value: 108 }, // exactly 1 day
      { bucket: '7-30d', trades: 1, amount: 10, value: 11 },
      { bucket: '30-90d', trades: 1, amount: 60, value: 66 },
      { bucket: '>90d', trades: 1, amount: 40, value: 36 },
      { bucket: 'unknown', trades: 1, amount: 80, value: 80 },
    ])
  })

  test('trades per day: opened by timestamp, settled by exit time (UTC days)', () => {
    expect(r.trades_per_day).toEqual([
      { date: '2026-01-01', opened: 2, settled: 0 },
      { date: '2026-01-02', opened: 1, settled: 0 },
      { date: '2026-01-03', opened: 0, settled: 2 },
      { date: '2026-01-04', opened: 0, settled: 1 },
      { date: '2026-01-05', opened: 2, settled: 0 },
      { date: '2026-01-06', opened: 3, settled: 0 },
      { date: '2026-01-07', opened: 1, settled: 0 },
    ])
    expect(r.equity.map((e) => [e.date, e.total_value])).toEqual([['2026-01-01', 10000], ['2026-01-04', 9900], ['2026-01-07', 9131]])
  })

  test('--since keeps trades opened from that day, and the equity curve from that day', async () => {
    const out = await run(['report', '--json', '--data-dir', dir, '--since', '2026-01-05'])
    const s: Report = JSON.parse(out.stdout)
    expect(s.since).toBe('2026-01-05T00:00:00.000Z')
    expect([s.summary.trades, s.summary.settled_trades, s.summary.win_rate, s.summary.avg_edge, s.summary.realized_pnl, s.summary.unrealized_pnl]).toEqual([6, 0, null, null, 0, 21])
    expect(s.summary.balance).toBe(8500) // account figures are not filtered
    expect(s.trades_per_day.map((d) => d.date)).toEqual(['2026-01-05', '2026-01-06', '2026-01-07'])
    expect(s.equity.map((e) => e.date)).toEqual(['2026-01-07'])
  })

  test('the table names every section; bad flags are usage errors (exit 2)', async () => {
    const t = await run(['report', '--data-dir', dir])
    expect(t.code).toBe(0)
    for (const s of ['win rate', 'Best 5 markets', 'Worst 5 markets', 'P&L by event', 'Exposure by days to end', 'Trades per day', '66.7%', '+0.1000']) expect(t.stdout).toContain(s)
    expect((await run(['report', '--data-dir', dir, '--since', 'yesterday-ish'])).code).toBe(2)
    expect((await run(['report', '--data-dir', dir, '--out', join(dir, 'r.png')])).code).toBe(2)
  })

  test('an empty data dir reports zeros, not an error', async () => {
    const empty = tempDir('report-empty')
    try {
      const out = await run(['report', '--json', '--data-dir', empty, '--now', CLOCK])
      expect(out.code).toBe(0)
      const e: Report = JSON.parse(out.stdout)
      expect([e.summary.balance, e.summary.trades, e.by_market.length, e.equity.length]).toEqual([null, 0, 0, 0])
    } finally {
      rmrf(empty)
    }
  })

  test('--out FILE.svg: well-formed XML with axes, labels, the equity curve and one bar per market', async () => {
    const file = join(dir, 'charts', 'report.svg')
    expect((await run(['report', '--data-dir', dir, '--out', file])).code).toBe(0)
    const svg = readFileSync(file, 'utf8')
    const root = parseXml(svg)
    expect(root.name).toBe('svg')
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg')
    const t = texts(root)
    for (const label of ['Total value (USD)', 'Date (UTC)', 'P&L (USD)', '2026-01-01', '2026-01-07', 'prescient: portfolio report']) expect(t).toContain(label)
    expect(t.some((x) => /^9,?\d00$/.test(x))).toBe(true) // y tick values
    const curve = all(root, (e) => e.name === 'polyline' && e.attrs.class === 'equity')
    expect(curve).toHaveLength(1)
    expect(curve[0]!.attrs.points!.trim().split(/\s+/)).toHaveLength(3)
    const bars = all(root, (e) => e.name === 'g' && e.attrs.class === 'bar')
    expect(bars).toHaveLength(8)
    for (const b of bars) expect(b.children.filter((c) => c.name === 'rect')).toHaveLength(1)
    expect(svg).not.toMatch(/NaN|Infinity|https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
  })

  test('--out FILE.html: one self-contained page with the SVG inline', async () => {
    const file = join(dir, 'report.html')
    expect((await run(['report', '--data-dir', dir, '--out', file])).code).toBe(0)
    const html = readFileSync(file, 'utf8')
    expect(html).toStartWith('<!DOCTYPE html>')
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"')
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i)
    parseXml(html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6))
  })
})

describe('chart edge cases', () => {
  const base = (history: HistoryRow[], trades: Trade[]) => computeReport({ portfolio: null, trades, history, clock: new Date(CLOCK) })

  test('text is escaped for XML: markup, quotes, control characters, lone surrogates', () => {
    const nasty = `<script>alert("x")</script> & 'Tom' \u0007 \uD800 ok`
    expect(esc(nasty)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;Tom&apos;  \uFFFD ok')
    const t = trade({ trade_id: 'x', timestamp: CLOCK, market_id: 'Z&1', market_question: nasty, event_title: '</g>', amount: 1, entry_price: 0.5 })
    const root = parseXml(renderSvg(base([], [t]), 'src <&>', { standalone: true }))
    const title = all(root, (e) => e.name === 'g' && e.attrs.class === 'bar')[0]!.children.find((c) => c.name === 'title')!
    expect(title.text).toContain(`<script>alert("x")</script> & 'Tom'`)
  })

  test('no history: axes and a notice, no curve; one point: a marker, no NaN', () => {
    const none = parseXml(renderSvg(base([], []), 's'))
    expect(all(none, (e) => e.name === 'polyline')).toHaveLength(0)
    expect(texts(none).join(' ')).toContain('No portfolio history yet')
    expect(texts(none)).toContain('Date (UTC)')
    const svg1 = renderSvg(base([hist('2026-01-07', 10000)], []), 's')
    const one = parseXml(svg1)
    expect(all(one, (e) => e.name === 'circle')).toHaveLength(1)
    expect(texts(one)).toContain('2026-01-07')
    expect(svg1).not.toMatch(/NaN|Infinity/)
  })

  test('niceTicks covers the range with round steps', () => {
    expect(niceTicks(9704.42, 10000)).toEqual([9700, 9750, 9800, 9850, 9900, 9950, 10000])
    expect(niceTicks(-400, 72.26, 6)).toEqual([-400, -300, -200, -100, 0, 100])
    expect(niceTicks(5, 5).length).toBeGreaterThan(1)
  })
})

describe.skipIf(!dbAvailable)('report through the phases', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('report')
    dir = tempDir('report-pg')
    // Phase 4 writes every group to both stores: a few days of history, then settlements.
    for (const [source, now] of [['sample', '2026-02-12T12:00:00Z'], ['sample', '2026-02-14T12:00:00Z'], ['sample:resolved', '2026-02-18T12:00:00Z']] as const) {
      await runCycle(cfg(dir, 4, t.url), { source, now })
    }
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })

  const report = async (phase: number, url = t.url) => {
    const out = await run(['report', '--json', '--phase', String(phase), '--data-dir', dir, '--database-url', url])
    return { code: out.code, stderr: out.stderr, doc: out.code === 0 ? JSON.parse(out.stdout) : null }
  }

  test('PostgreSQL in phase 7 gives the same report as JSON in phase 0', async () => {
    const json = await report(0)
    const pg = await report(7)
    expect(json.doc.source.read_from).toBe('json')
    expect(pg.doc.source.read_from).toBe('postgres')
    const { source: _a, ...fromJson } = json.doc
    const { source: _b, ...fromPg } = pg.doc
    expect(fromPg).toEqual(fromJson)
    expect(fromJson.summary.settled_trades).toBeGreaterThan(0)
    expect(fromJson.equity.length).toBe(3)
  })

  test('phase 6 with the database down falls back to JSON loudly; phase 7 exits 5', async () => {
    const down = 'postgres://postgres@127.0.0.1:1/prescient_nowhere'
    const six = await report(6, down)
    expect(six.code).toBe(0)
    expect(six.doc.source.read_from).toBe('json (fallback)')
    const seven = await report(7, down)
    expect(seven.code).toBe(5)
  })
})
