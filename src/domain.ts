/**
 * The facts the cycle produces, in the shape both stores hold them. JSON files
 * and tables carry the same fields (snake_case, as in the seed), so `verify`
 * can compare them column by column. Times are ISO 8601 strings in UTC.
 * Money is rounded to cents, prices to 6 places and confidence to 4, the
 * scales the schema stores, so both stores hold identical values.
 */
export type Action = 'buy_yes' | 'buy_no'
export type TradeStatus = 'open' | 'closed'

export interface Trade {
  trade_id: string
  timestamp: string
  market_id: string
  market_question: string
  action: Action
  amount: number
  entry_price: number
  confidence: number
  reason: string | null
  status: TradeStatus
  event_id: string | null
  event_title: string | null
  event_end_date: string | null
  current_pnl: number | null
  realized_pnl: number | null
  exit_price: number | null
  exit_timestamp: string | null
}

export interface Position {
  trade_id: string
  market_id: string
  market_question: string
  action: Action
  amount: number
  entry_price: number
  entry_timestamp: string
  status: TradeStatus
  current_pnl: number | null
  realized_pnl: number | null
  exit_price: number | null
  exit_timestamp: string | null
}

export interface PortfolioState {
  balance: number
  total_invested: number
  total_profit_loss: number
  trade_count: number
  created_at: string
  last_updated: string
}

/** trades/portfolio.json: the current state and the open positions. */
export interface Portfolio extends PortfolioState {
  positions: Position[]
}

export interface Signal {
  timestamp: string
  market_id: string
  market_question: string
  action: Action
  target_price: number
  amount: number
  confidence: number
  reason: string | null
  yes_price: number
  no_price: number
  market_liquidity: number | null
  market_volume: number | null
  event_id: string | null
  event_title: string | null
  event_end_date: string | null
  executed: boolean
  executed_at: string | null
  trade_id: string | null
}

export interface HistoryRow {
  snapshot_date: string
  timestamp: string
  balance: number
  total_invested: number
  total_profit_loss: number
  total_value: number
  open_positions: number
  trade_count: number
}

/** One entry of history/signals_archive_YYYY-MM.json; a row of signal_archives. */
export interface SignalArchive {
  archived_at: string
  archive_month: string
  signals_count: number
  signals: Signal[]
}

export interface EventRecord {
  event_id: string
  title: string
  slug: string | null
  liquidity: number | null
  volume: number | null
  volume24hr: number | null
  start_date: string | null
  end_date: string | null
  days_until_end: number | null
  event_data: Record<string, unknown>
  is_filtered: boolean
}

export interface MarketRecord {
  market_id: string
  question: string
  event_id: string | null
  event_title: string | null
  event_end_date: string | null
  liquidity: number | null
  volume: number | null
  volume24hr: number | null
  yes_price: number | null
  no_price: number | null
  market_conviction: number | null
  market_data: Record<string, unknown>
  is_filtered: boolean
}

export interface MarketSnapshot {
  market_id: string
  timestamp: string
  yes_price: number | null
  no_price: number | null
  liquidity: number | null
  volume: number | null
  volume24hr: number | null
  market_conviction: number | null
}

/** events/raw_events_backup.json: the last source data, kept for offline cycles. */
export interface RawEventsBackup {
  fetched_at: string
  source: string
  events: Record<string, unknown>[]
}

export const round = (x: number, places: number) => {
  const f = 10 ** places
  return Math.round((x + Number.EPSILON * Math.sign(x)) * f) / f
}
export const money = (x: number) => round(x, 2)
export const price = (x: number) => round(x, 6)
