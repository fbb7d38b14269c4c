/**
 * The paper broker: opens, marks and settles positions on a working copy of the
 * portfolio. Pure: no I/O, the clock is passed in. Money is rounded to cents as it is
 * produced, so the JSON files and the database hold identical values.
 *
 *   shares       = amount / entry_price            (not stored; recomputed from the two)
 *   current_pnl  = shares × price_of_side_held − amount
 *   realized_pnl = shares × payout − amount; balance += amount + realized_pnl
 */
import { money, price, type Portfolio, type Position, type Signal, type Trade } from '../domain.ts'
import type { NormMarket, StrategyConfig } from './types.ts'

/** A portfolio being changed by one cycle, with the trades it touched. */
export interface Book {
  portfolio: Portfolio
  /** open trades by trade_id (copies) */
  trades: Map<string, Trade>
  /** trade_ids whose status or P&L changed this cycle, or that are new */
  changed: Set<string>
}

export function newPortfolio(cfg: StrategyConfig, now: Date): Portfolio {
  const at = now.toISOString()
  return { balance: money(cfg.startingBalance), total_invested: 0, total_profit_loss: 0, trade_count: 0, created_at: at, last_updated: at, positions: [] }
}

export const shares = (p: { amount: number; entry_price: number }) => (p.entry_price > 0 ? p.amount / p.entry_price : 0)

/** What a position is worth now: its cost plus its last known P&L. */
export const positionValue = (p: Position) => p.amount + (p.current_pnl ?? 0)

/** Cash plus the marked value of open positions. */
export const equityOf = (pf: Portfolio) => money(pf.balance + pf.positions.reduce((s, p) => s + positionValue(p), 0))

/**
 * Realized P&L to date is not stored on its own; it is what total_profit_loss holds
 * beyond the open positions' unrealized P&L (the invariant this module keeps).
 */
export const realizedToDate = (pf: Portfolio) => pf.total_profit_loss - pf.positions.reduce((s, p) => s + (p.current_pnl ?? 0), 0)

/** YYYYMMDD_HHMMSS in UTC. */
const stamp = (now: Date) => now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15)
export const tradeId = (now: Date, marketId: string) => `trade_${stamp(now)}_${marketId}`

const sidePrice = (action: Position['action'], yes: number | null, no: number | null) => (action === 'buy_yes' ? yes : no)

/** Step 1: positions whose market resolved are paid out, closed and removed from the portfolio. */
export function settle(book: Book, markets: Map<string, NormMarket>, now: Date): { settled: number; realized: number } {
  const at = now.toISOString()
  let settled = 0
  let realized = 0
  const keep: Position[] = []
  for (const pos of book.portfolio.positions) {
    const m = markets.get(pos.market_id)
    const payout = m?.resolved ? sidePrice(pos.action, m.payoutYes, m.payoutNo) : null
    if (payout === null || payout === undefined) {
      keep.push(pos)
      continue
    }
    const pnl = money(shares(pos) * payout - pos.amount)
    book.portfolio.balance = money(book.portfolio.balance + pos.amount + pnl)
    realized += pnl
    settled++
    const trade = book.trades.get(pos.trade_id)
    if (trade) {
      Object.assign(trade, { status: 'closed', exit_price: price(payout), exit_timestamp: at, current_pnl: pnl, realized_pnl: pnl })
      book.changed.add(trade.trade_id)
    }
  }
  book.portfolio.positions = keep
  return { settled, realized: money(realized) }
}

/**
 * Step 2: open positions are marked at the current price of the side held. A position
 * whose market is absent, closed (awaiting a clear outcome) or without a price keeps
 * its last P&L: a closed market's 0/0 prices are not a valuation.
 */
export function markToMarket(book: Book, markets: Map<string, NormMarket>): number {
  let marked = 0
  for (const pos of book.portfolio.positions) {
    const m = markets.get(pos.market_id)
    if (!m || m.closed) continue
    const px = sidePrice(pos.action, m.yesPrice, m.noPrice)
    if (px === null) continue
    const pnl = money(shares(pos) * px - pos.amount)
    marked++
    if (pos.current_pnl === pnl) continue
    pos.current_pnl = pnl
    const trade = book.trades.get(pos.trade_id)
    if (trade && trade.current_pnl !== pnl) {
      trade.current_pnl = pnl
      book.changed.add(trade.trade_id)
    }
  }
  return marked
}

/**
 * Step 5: execute signals in order. Each is capped so that cashReserveFraction of the
 * equity stays in cash; one that would fall below minTradeAmount stays unexecuted.
 */
export function execute(book: Book, signals: Signal[], cfg: StrategyConfig, now: Date): Trade[] {
  const at = now.toISOString()
  const reserve = equityOf(book.portfolio) * cfg.cashReserveFraction
  const held = new Set(book.portfolio.positions.map((p) => p.market_id))
  const out: Trade[] = []
  for (const s of signals) {
    if (out.length >= cfg.maxTradesPerCycle || held.has(s.market_id)) continue
    const amount = money(Math.min(s.amount, book.portfolio.balance - reserve))
    if (amount < cfg.minTradeAmount || amount <= 0) continue
    if (amount < s.amount) {
      s.reason = `${s.reason ?? ''}; reduced from ${s.amount.toFixed(2)} to keep the cash reserve`
      s.amount = amount
    }
    const id = tradeId(now, s.market_id)
    const trade: Trade = {
      trade_id: id,
      timestamp: at,
      market_id: s.market_id,
      market_question: s.market_question,
      action: s.action,
      amount,
      entry_price: s.target_price,
      confidence: s.confidence,
      reason: s.reason,
      status: 'open',
      event_id: s.event_id,
      event_title: s.event_title,
      event_end_date: s.event_end_date,
      current_pnl: 0,
      realized_pnl: null,
      exit_price: null,
      exit_timestamp: null,
    }
    book.portfolio.positions.push({
      trade_id: id,
      market_id: s.market_id,
      market_question: s.market_question,
      action: s.action,
      amount,
      entry_price: s.target_price,
      entry_timestamp: at,
      status: 'open',
      current_pnl: 0,
      realized_pnl: null,
      exit_price: null,
      exit_timestamp: null,
    })
    book.portfolio.balance = money(book.portfolio.balance - amount)
    book.portfolio.total_invested = money(book.portfolio.total_invested + amount)
    book.portfolio.trade_count += 1
    book.trades.set(id, trade)
    book.changed.add(id)
    held.add(s.market_id)
    Object.assign(s, { executed: true, executed_at: at, trade_id: id })
    out.push(trade)
  }
  return out
}
