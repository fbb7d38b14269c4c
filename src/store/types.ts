/**
 * The one Store contract. JsonStore and PgStore implement it; RoutedStore
 * composes them by the phase matrix. A cycle reads through `load*` and writes
 * everything it produced through one `commit`, which each backend applies
 * atomically (one transaction for PostgreSQL, one atomic rename per file for JSON).
 */
import type { EventRecord, HistoryRow, MarketRecord, MarketSnapshot, Portfolio, RawEventsBackup, Signal, SignalArchive, Trade } from '../domain.ts'
import type { Group } from '../phase.ts'

/** Everything one cycle writes. Lists are upserts by natural key unless noted. */
export interface CycleChanges {
  /** cycle clock */
  at: string
  portfolio: Portfolio
  /** new trades and trades whose status or P&L changed */
  trades: Trade[]
  /** the current signals (replaces current_signals.json; appended to trading_signals) */
  signals: Signal[]
  /** appended to the month's archive file and to signal_archives; null when no signals */
  archive: SignalArchive | null
  /** the day's portfolio_history row (one per day: replaced when the day already has one) */
  history: HistoryRow
  /** the source data, kept as raw_events_backup.json (JSON only, not a table) */
  rawEvents: RawEventsBackup | null
  /** the filtered events and markets (replace the previous filtered set) */
  events: EventRecord[]
  markets: MarketRecord[]
  /** DB-only time series */
  marketSnapshots: MarketSnapshot[]
  /** system_metadata keys to set */
  metadata: Record<string, string>
}

export interface CommitOptions {
  /**
   * A store may do its work while the gate is pending, but it commits nothing
   * before the gate resolves, and nothing at all if it rejects (the commit then
   * rejects with the gate's error). RoutedStore uses it to run the database
   * transaction while the JSON files, the truth, are written, and to write the
   * JSON files while the database is still being opened and checked.
   */
  gate?: Promise<unknown>
}

export interface TradeQuery {
  marketId?: string
  status?: 'open' | 'closed'
  /** newest first, at most this many */
  limit?: number
}

export interface Store {
  readonly kind: string
  /** null when nothing has been stored yet (a fresh install starts at the default balance) */
  loadPortfolio(): Promise<Portfolio | null>
  loadTrades(query?: TradeQuery): Promise<Trade[]>
  loadSignals(): Promise<Signal[]>
  loadHistory(): Promise<HistoryRow[]>
  loadArchives(): Promise<SignalArchive[]>
  loadEvents(): Promise<EventRecord[]>
  loadMarkets(): Promise<MarketRecord[]>
  /** Apply a cycle's changes for the given groups only. */
  commit(changes: CycleChanges, groups: readonly Group[], opts?: CommitOptions): Promise<void>
  close(): Promise<void>
}
