/**
 * The report as one self-contained HTML page: the SVG charts inline, the tables
 * as HTML. No external stylesheet, font or script, so it opens offline.
 */
import { fmtMoney } from '../output.ts'
import type { MarketPnl, Report } from './compute.ts'
import { edge, pct, signedMoney } from './render.ts'
import { esc, renderSvg } from './svg.ts'

type Cell = string | number
const td = (c: Cell, num = false) => `<td${num ? ' class="n"' : ''}>${esc(String(c))}</td>`

function table(title: string, head: string[], rows: Cell[][], numeric: number[] = []): string {
  return [
    `<h2>${esc(title)}</h2>`,
    '<table>',
    `<thead><tr>${head.map((h, i) => `<th${numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => td(c, numeric.includes(i))).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n')
}

const marketRows = (rows: MarketPnl[]): Cell[][] =>
  rows.map((m) => [m.market_id, m.question, m.event_title ?? '', m.trades, fmtMoney(m.invested), signedMoney(m.realized_pnl), signedMoney(m.unrealized_pnl), signedMoney(m.pnl)])
const MARKET_HEAD = ['market', 'question', 'event', 'trades', 'invested', 'realized', 'unrealized', 'P&L']
const MARKET_NUM = [3, 4, 5, 6, 7]

const CSS = `
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#555;font-size:13px;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
svg{max-width:100%;height:auto}`

export function renderHtml(r: Report, source: string): string {
  const s = r.summary
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`prescient report ${r.clock}`)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<h1>prescient: portfolio report</h1>',
    `<p class="sub">as of ${esc(r.clock)}${r.since ? ` · trades since ${esc(r.since)}` : ''} · ${esc(source)}</p>`,
    table(
      'Summary',
      ['balance', 'invested', 'realized P&L', 'unrealized P&L', 'total value', 'trades', 'settled', 'win rate', 'avg edge'],
      [[s.balance === null ? '—' : fmtMoney(s.balance), fmtMoney(s.invested), signedMoney(s.realized_pnl), signedMoney(s.unrealized_pnl), s.total_value === null ? '—' : fmtMoney(s.total_value), s.trades, s.settled_trades, pct(s.win_rate), edge(s.avg_edge)]],
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ),
    renderSvg(r, source),
    table(`Best ${r.best.length} markets`, MARKET_HEAD, marketRows(r.best), MARKET_NUM),
    table(`Worst ${r.worst.length} markets`, MARKET_HEAD, marketRows(r.worst), MARKET_NUM),
    table(
      'P&L by event',
      ['event', 'title', 'markets', 'trades', 'invested', 'realized', 'unrealized', 'P&L'],
      r.by_event.map((e) => [e.event_id ?? '—', e.event_title ?? '', e.markets, e.trades, fmtMoney(e.invested), signedMoney(e.realized_pnl), signedMoney(e.unrealized_pnl), signedMoney(e.pnl)]),
      [2, 3, 4, 5, 6, 7],
    ),
    table('Exposure by days to end (open trades)', ['days to end', 'open trades', 'cost', 'value'], r.exposure.map((e) => [e.bucket, e.trades, fmtMoney(e.amount), fmtMoney(e.value)]), [1, 2, 3]),
    table('Trades per day (UTC)', ['day', 'opened', 'settled'], r.trades_per_day.map((d) => [d.date, d.opened, d.settled]), [1, 2]),
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
