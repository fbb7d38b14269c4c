/**
 * The contract between the source readers, the pure trading logic and the
 * cycle orchestrator (src/trading/cycle.ts).
 */
import type { EventRecord, HistoryRow, MarketRecord, MarketSnapshot, Portfolio, Signal, SignalArchive, Trade } from '../domain.ts'

/** A Gamma market after validation and normalisation (string-encoded JSON decoded, numbers parsed). */
export interface NormMarket {
  id: string
  question: string
  slug: string | null
  conditionId: string | null
  active: boolean
  closed: boolean
  /** closed with a final outcome we can pay out on */
  resolved: boolean
  /** final payout per share for YES / NO when resolved (1/0, 0/1, or a scalar's final prices) */
  payoutYes: number | null
  payoutNo: number | null
  outcomes: string[]
  yesPrice: number | null
  noPrice: number | null
  liquidity: number | null
  volume: number | null
  volume24hr: number | null
  endDate: string | null
  updatedAt: string | null
  eventId: string | null
  eventTitle: string | null
  eventEndDate: string | null
  raw: Record<string, unknown>
}

export interface NormEvent {
  id: string
  title: string
  slug: string | null
  liquidity: number | null
  volume: number | null
  volume24hr: number | null
  startDate: string | null
  endDate: string | null
  markets: NormMarket[]
  /** the event object as received, without nested markets */
  raw: Record<string, unknown>
}

/** A record that failed validation: skipped and counted, never fatal. */
export interface Reject {
  kind: 'event' | 'market'
  id: string | null
  /** where it was: file or URL, and the JSON path of the record, e.g. $[12].markets[3] */
  where: string
  reason: string
}

export interface SourceData {
  /** 'api', or the file path */
  source: string
  fetchedAt: string
  /** latest updatedAt seen in the data; the clock of a recorded snapshot */
  snapshotTime: string | null
  events: NormEvent[]
  /** the raw /events-shaped objects, for raw_events_backup.json */
  rawEvents: Record<string, unknown>[]
  rejects: Reject[]
  /** set when the live API failed and older data was used instead */
  fallback?: { reason: string; from: string; age_hours: number | null }
}

export interface StrategyConfig {
  startingBalance: number
  minLiquidity: number
  minVolume: number
  minDaysToEnd: number
  maxDaysToEnd: number
  minPrice: number
  maxPrice: number
  minConviction: number
  maxConviction: number
  kellyFraction: number
  maxPositionFraction: number
  maxPositionAmount: number
  cashReserveFraction: number
  minTradeAmount: number
  maxTradesPerCycle: number
}

export interface TradingInput {
  source: SourceData
  /** null on a fresh install: the broker starts one at startingBalance */
  portfolio: Portfolio | null
  /** every trade whose status is open (the ones the positions refer to) */
  openTrades: Trade[]
  now: Date
  strategy: StrategyConfig
}

export interface TradingStats {
  events_in: number
  markets_in: number
  events_kept: number
  markets_kept: number
  signals: number
  executed: number
  marked: number
  settled: number
  realized_pnl: number
  rejects: number
}

export interface TradingOutcome {
  portfolio: Portfolio
  /** new trades, and open trades whose P&L or status changed */
  trades: Trade[]
  signals: Signal[]
  archive: SignalArchive | null
  history: HistoryRow
  events: EventRecord[]
  markets: MarketRecord[]
  marketSnapshots: MarketSnapshot[]
  stats: TradingStats
}
