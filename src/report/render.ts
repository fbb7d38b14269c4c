/** The report as text tables for stdout. */
import { fmtMoney, renderTable, type Cell } from '../output.ts'
import type { MarketPnl, Report } from './compute.ts'

export const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`)
export const signedMoney = (x: number) => (x > 0 ? `+${fmtMoney(x)}` : fmtMoney(x))
export const edge = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`)
const cut = (s: string | null, n = 56) => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s)

const marketRows = (rows: MarketPnl[]): Cell[][] =>
  rows.map((m) => [m.market_id, cut(m.question), m.trades, fmtMoney(m.invested), signedMoney(m.realized_pnl), signedMoney(m.unrealized_pnl), signedMoney(m.pnl)])
const MARKET_HEAD = ['market', 'question', 'trades', 'invested', 'realized', 'unrealized', 'P&L']

export function renderReport(r: Report, source: string): string {
  const s = r.summary
  const out: string[] = []
  out.push(`Report as of ${r.clock}${r.since ? `, trades since ${r.since}` : ''} (${source})`)
  out.push(
    renderTable(
      ['balance', 'invested', 'realized P&L', 'unrealized P&L', 'total P&L', 'total value'],
      [[s.balance === null ? '—' : fmtMoney(s.balance), fmtMoney(s.invested), signedMoney(s.realized_pnl), signedMoney(s.unrealized_pnl), signedMoney(s.total_pnl), s.total_value === null ? '—' : fmtMoney(s.total_value)]],
    ),
  )
  out.push(
    renderTable(
      ['trades', 'open', 'settled', 'wins', 'losses', 'win rate', 'avg edge'],
      [[s.trades, s.open_trades, s.settled_trades, s.wins, s.losses, pct(s.win_rate), edge(s.avg_edge)]],
    ),
  )
  if (!r.by_market.length) {
    out.push('No trades yet: run `prescient cycle` first.')
    return out.join('\n')
  }
  out.push(renderTable(MARKET_HEAD, marketRows(r.best), { title: `Best ${r.best.length} markets` }))
  out.push(renderTable(MARKET_HEAD, marketRows(r.worst), { title: `Worst ${r.worst.length} markets` }))
  out.push(
    renderTable(
      ['event', 'title', 'markets', 'trades', 'invested', 'realized', 'unrealized', 'P&L'],
      r.by_event.map((e) => [e.event_id ?? '—', cut(e.event_title, 48), e.markets, e.trades, fmtMoney(e.invested), signedMoney(e.realized_pnl), signedMoney(e.unrealized_pnl), signedMoney(e.pnl)]),
      { title: 'P&L by event' },
    ),
  )
  out.push(
    renderTable(
      ['days to end', 'open trades', 'cost', 'value'],
      r.exposure.map((e) => [e.bucket, e.trades, fmtMoney(e.amount), fmtMoney(e.value)]),
      { title: 'Exposure by days to end (open trades)' },
    ),
  )
  out.push(renderTable(['day (UTC)', 'opened', 'settled'], r.trades_per_day.map((d) => [d.date, d.opened, d.settled]), { title: 'Trades per day' }))
  out.push(`All ${r.by_market.length} markets: prescient report --json (by_market), or --out report.html for the charts.`)
  return out.join('\n')
}
