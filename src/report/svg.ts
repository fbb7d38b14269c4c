/**
 * The report as one self-contained SVG: the equity curve (total_value by
 * snapshot_date) and P&L by market as horizontal bars. No external fonts,
 * scripts or images, so it opens offline; every piece of text is escaped.
 */
import { fmtMoney } from '../output.ts'
import type { MarketPnl, Report } from './compute.ts'
import { edge, pct, signedMoney } from './render.ts'

const W = 960
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
const UP = '#2e7d32'
const DOWN = '#c62828'
const LINE = '#1f5fa8'
const AXIS = '#444'
const GRID = '#e3e3e3'
/** More bars than this: the best and worst halves are drawn, the rest counted. */
export const MAX_BARS = 40

/** Text for XML: characters XML 1.0 forbids are dropped, lone surrogates replaced, markup escaped. */
export function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** Shorten by code points (never splitting a surrogate pair), before escaping. */
export function cut(s: string, n: number): string {
  const cp = Array.from(s)
  return cp.length > n ? `${cp.slice(0, n - 1).join('')}…` : s
}

const f = (x: number) => (Math.round(x * 10) / 10).toString()

/** Round tick values covering [min, max]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.01 || 1
    min -= pad
    max += pad
  }
  const raw = (max - min) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag
  const ticks: number[] = []
  for (let v = Math.floor(min / step) * step; v <= Math.ceil(max / step) * step + step / 2; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

const DAY = 86_400_000
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`)
const dayStr = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Date ticks: every day for short histories, else about six evenly spaced days. */
export function dateTicks(first: number, last: number): number[] {
  const days = Math.round((last - first) / DAY)
  const step = Math.max(1, Math.ceil(days / 6))
  const out: number[] = []
  for (let t = first; t <= last + 1; t += step * DAY) out.push(t)
  return out
}

const tickLabel = (v: number, step: number) => (step >= 1 ? fmtMoney(v).replace(/\.00$/, '') : fmtMoney(v))

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${f(x)}" y="${f(y)}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`
}

/** Panel 1: the equity curve. */
function equityPanel(r: Report, top: number): { svg: string; height: number } {
  const H = 300
  const left = 90
  const right = W - 30
  const plotTop = top + 34
  const plotBottom = top + H - 50
  const out: string[] = [text(left, top + 18, 'Equity curve: total value by day (portfolio_history)', 'font-size="15" font-weight="600"')]
  const pts = r.equity
  out.push(`<rect x="${left}" y="${f(plotTop)}" width="${right - left}" height="${f(plotBottom - plotTop)}" fill="none" stroke="${AXIS}" stroke-width="1"/>`)
  out.push(text(left - 70, (plotTop + plotBottom) / 2, 'Total value (USD)', `font-size="12" text-anchor="middle" transform="rotate(-90 ${f(left - 70)} ${f((plotTop + plotBottom) / 2)})"`))
  out.push(text((left + right) / 2, plotBottom + 40, 'Date (UTC)', 'font-size="12" text-anchor="middle"'))
  if (!pts.length) {
    out.push(text((left + right) / 2, (plotTop + plotBottom) / 2, 'No portfolio history yet: run `prescient cycle`', 'font-size="13" text-anchor="middle" fill="#777"'))
    return { svg: out.join('\n'), height: H }
  }
  const values = pts.map((p) => p.total_value)
  // A little room above and below, so the curve never runs along the frame.
  const [lo, hi] = [Math.min(...values), Math.max(...values)]
  const yt = niceTicks(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05)
  const [y0, y1] = [yt[0]!, yt[yt.length - 1]!]
  const first = dayMs(pts[0]!.date)
  const last = dayMs(pts[pts.length - 1]!.date)
  // One point (or one day) gets a day either side so it sits in the middle.
  const [x0, x1] = last > first ? [first, last] : [first - DAY, first + DAY]
  const sx = (t: number) => left + 12 + ((t - x0) / (x1 - x0)) * (right - left - 24)
  const sy = (v: number) => plotBottom - ((v - y0) / (y1 - y0)) * (plotBottom - plotTop)
  const ystep = yt.length > 1 ? yt[1]! - yt[0]! : 1
  for (const v of yt) {
    out.push(`<line x1="${left}" y1="${f(sy(v))}" x2="${right}" y2="${f(sy(v))}" stroke="${GRID}"/>`)
    out.push(text(left - 6, sy(v) + 4, tickLabel(v, ystep), 'font-size="11" text-anchor="end"'))
  }
  for (const t of last > first ? dateTicks(first, last) : [first]) {
    out.push(`<line x1="${f(sx(t))}" y1="${f(plotBottom)}" x2="${f(sx(t))}" y2="${f(plotBottom + 5)}" stroke="${AXIS}"/>`)
    out.push(text(sx(t), plotBottom + 18, dayStr(t), 'font-size="11" text-anchor="middle"'))
  }
  const start = pts[0]!.total_value
  out.push(`<line x1="${left}" y1="${f(sy(start))}" x2="${right}" y2="${f(sy(start))}" stroke="#999" stroke-dasharray="4 4"/>`)
  const below = sy(start) < plotTop + 16
  out.push(text(right - 4, sy(start) + (below ? 13 : -4), `first ${fmtMoney(start)}`, 'font-size="10" text-anchor="end" fill="#777"'))
  const coords = pts.map((p) => `${f(sx(dayMs(p.date)))},${f(sy(p.total_value))}`)
  if (pts.length > 1) out.push(`<polyline class="equity" points="${coords.join(' ')}" fill="none" stroke="${LINE}" stroke-width="2.5" stroke-linejoin="round"/>`)
  if (pts.length <= 60) {
    for (const p of pts) {
      out.push(`<circle cx="${f(sx(dayMs(p.date)))}" cy="${f(sy(p.total_value))}" r="3.5" fill="${LINE}"><title>${esc(`${p.date}: ${fmtMoney(p.total_value)}`)}</title></circle>`)
    }
  }
  // The last value, on the side of the point away from the line coming into it.
  const lastPt = pts[pts.length - 1]!
  const prev = pts[pts.length - 2]?.total_value ?? lastPt.total_value
  const dy = prev > lastPt.total_value ? 18 : -10
  out.push(text(sx(dayMs(lastPt.date)) - 8, sy(lastPt.total_value) + dy, fmtMoney(lastPt.total_value), `font-size="11" text-anchor="end" fill="${LINE}" font-weight="600"`))
  return { svg: out.join('\n'), height: H }
}

/** Panel 2: P&L by market, one horizontal bar each. */
function marketsPanel(r: Report, top: number): { svg: string; height: number } {
  let rows: (MarketPnl | null)[] = r.by_market
  const hidden = Math.max(0, rows.length - MAX_BARS)
  if (hidden) rows = [...r.by_market.slice(0, MAX_BARS / 2), null, ...r.by_market.slice(-MAX_BARS / 2)]
  const labelW = 360
  const left = 30 + labelW
  const right = W - 110
  const rowH = 22
  const plotTop = top + 34
  const plotBottom = plotTop + Math.max(1, rows.length) * rowH
  const H = plotBottom - top + 50
  const out: string[] = [text(30, top + 18, 'P&L by market (realized + unrealized)', 'font-size="15" font-weight="600"')]
  out.push(text(right + 100, top + 18, 'P&L (USD)', 'font-size="12" text-anchor="end" font-weight="600"'))
  out.push(text((left + right) / 2, plotBottom + 40, 'P&L (USD)', 'font-size="12" text-anchor="middle"'))
  if (!rows.length) {
    out.push(`<rect x="${left}" y="${f(plotTop)}" width="${right - left}" height="${rowH}" fill="none" stroke="${AXIS}"/>`)
    out.push(text((left + right) / 2, plotTop + 15, 'No trades yet', 'font-size="13" text-anchor="middle" fill="#777"'))
    return { svg: out.join('\n'), height: H }
  }
  const pnls = r.by_market.map((m) => m.pnl)
  const xt = niceTicks(Math.min(0, ...pnls), Math.max(0, ...pnls), 6)
  const [v0, v1] = [xt[0]!, xt[xt.length - 1]!]
  const sx = (v: number) => left + ((v - v0) / (v1 - v0)) * (right - left)
  const xstep = xt.length > 1 ? xt[1]! - xt[0]! : 1
  for (const v of xt) {
    out.push(`<line x1="${f(sx(v))}" y1="${f(plotTop)}" x2="${f(sx(v))}" y2="${f(plotBottom)}" stroke="${GRID}"/>`)
    out.push(text(sx(v), plotBottom + 18, tickLabel(v, xstep), 'font-size="11" text-anchor="middle"'))
  }
  out.push(`<line x1="${left}" y1="${f(plotBottom)}" x2="${right}" y2="${f(plotBottom)}" stroke="${AXIS}"/>`)
  rows.forEach((m, i) => {
    const y = plotTop + i * rowH
    if (!m) {
      out.push(text(left - 8, y + 15, `… ${hidden} more markets (see --json)`, 'font-size="11" text-anchor="end" fill="#777"'))
      return
    }
    const [a, b] = [sx(Math.min(0, m.pnl)), sx(Math.max(0, m.pnl))]
    const label = `${cut(m.question, 52)}`
    out.push(`<g class="bar"><title>${esc(`${m.market_id}: ${m.question} (${m.event_title ?? 'no event'}): ${signedMoney(m.pnl)}`)}</title>`)
    out.push(text(left - 8, y + 15, label, 'font-size="11" text-anchor="end"'))
    out.push(`<rect x="${f(a)}" y="${f(y + 4)}" width="${f(Math.max(1, b - a))}" height="${rowH - 8}" fill="${m.pnl < 0 ? DOWN : UP}"/>`)
    out.push(text(right + 100, y + 15, signedMoney(m.pnl), `font-size="11" text-anchor="end" fill="${m.pnl < 0 ? DOWN : UP}"`))
    out.push('</g>')
  })
  out.push(`<line x1="${f(sx(0))}" y1="${f(plotTop)}" x2="${f(sx(0))}" y2="${f(plotBottom)}" stroke="${AXIS}"/>`)
  return { svg: out.join('\n'), height: H }
}

/** The SVG element; `standalone` adds the XML declaration a .svg file starts with. */
export function renderSvg(r: Report, source: string, opts: { standalone?: boolean } = {}): string {
  const s = r.summary
  const head = [
    text(30, 34, 'prescient: portfolio report', 'font-size="20" font-weight="700"'),
    text(30, 56, `as of ${r.clock}${r.since ? ` · trades since ${r.since}` : ''} · ${source}`, 'font-size="12" fill="#555"'),
    text(
      30,
      80,
      `balance ${s.balance === null ? '—' : fmtMoney(s.balance)} · total value ${s.total_value === null ? '—' : fmtMoney(s.total_value)} · invested ${fmtMoney(s.invested)} · ` +
        `realized ${signedMoney(s.realized_pnl)} · unrealized ${signedMoney(s.unrealized_pnl)} · win rate ${pct(s.win_rate)} (${s.wins}/${s.settled_trades}) · avg edge ${edge(s.avg_edge)}`,
      'font-size="12"',
    ),
  ]
  const eq = equityPanel(r, 96)
  const mk = marketsPanel(r, 96 + eq.height + 10)
  const H = 96 + eq.height + 10 + mk.height
  return [
    ...(opts.standalone ? ['<?xml version="1.0" encoding="UTF-8"?>'] : []),
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${f(H)}" viewBox="0 0 ${W} ${f(H)}" font-family="${esc(FONT)}" fill="#222" role="img">`,
    `<title>${esc(`prescient portfolio report as of ${r.clock}`)}</title>`,
    `<rect width="${W}" height="${f(H)}" fill="#fff"/>`,
    ...head,
    eq.svg,
    mk.svg,
    '</svg>',
    '',
  ].join('\n')
}
