/**
 * One spec per importable table: its columns (with the sizes PostgreSQL
 * enforces), natural key, record schema (the stores' own, from
 * src/schema/files.ts), the row it becomes, and how its JSON file(s) are read.
 * The order of IMPORT_TABLES is FK-safe: trades before trading_signals.
 */
import * as v from 'valibot'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { EventRecord, HistoryRow, MarketRecord, Portfolio, Position, Signal, SignalArchive, Trade } from '../domain.ts'
import {
  ARCHIVE_DIR, ARCHIVE_FILE_RE, EventRecordSchema, FILES, HistoryRowSchema, MarketRecordSchema, PortfolioFileSchema,
  PositionSchema, SignalArchiveSchema, SignalSchema, TradeSchema, archiveRel,
} from '../schema/files.ts'
import { bool, date, int, jsonb, num, text, ts, vc, type Col } from './columns.ts'
import { readSignals } from './signals.ts'
import { readJsonObjectWithout, streamJsonArray, streamJsonArrayAt, type StreamStats } from './stream.ts'

export const IMPORT_TABLES = [
  'trades', 'portfolio_state', 'portfolio_positions', 'portfolio_history', 'signal_archives', 'trading_signals', 'events', 'markets',
] as const
export type ImportTable = (typeof IMPORT_TABLES)[number]

/** One record as read from a file, before validation. */
export interface Rec {
  value: unknown
  /** the file, relative to the data dir */
  file: string
  /** JSON path inside the file, e.g. [3, 'signals', 2] */
  keys: (string | number)[]
  /** duplicates of this record's key in the same file are rejects (keep the first) */
  unique?: boolean
  /** a reason found by the reader (e.g. `signals` is not an array): rejected as is */
  problem?: string
  /** trading_signals: later sources win a key clash (allJsonSignals); staged as _ord */
  ord?: bigint
}

export interface Source {
  rel: string
  path: string
}

export type Emit = (rec: Rec) => void | Promise<void>
export type OnBytes = (n: number, rel: string) => void
export interface FileStat extends StreamStats {
  rel: string
}

export interface TableSpec<R = any> {
  table: ImportTable
  columns: Col[]
  /** the natural key: the ON CONFLICT target */
  key: string[]
  keyName: string
  keyOf(r: R): string
  schema: v.GenericSchema<unknown, R>
  row(r: R): unknown[]
  /** JSON field of a column where the names differ (for reject paths) */
  fields?: Record<string, string>
  /** made equal to the file: rows whose key is not in it are deleted */
  mirror?: boolean
  /** columns set to now() when a row changes */
  touch?: string[]
  /** 'last': an earlier record with the same key is superseded, as the file schema's lastWins says */
  keep: 'first' | 'last'
  /** staged even into an empty table: SQL-side dedupe by _ord and FK checks (trading_signals) */
  alwaysStage?: boolean
  sources(dataDir: string): Promise<Source[]>
  read(sources: Source[], emit: Emit, onBytes?: OnBytes): Promise<FileStat[]>
}

const src = (dataDir: string, rel: string): Source => ({ rel, path: join(dataDir, rel) })

/** history/signals_archive_YYYY-MM.json, oldest month first. */
export async function archiveSources(dataDir: string): Promise<Source[]> {
  let names: string[] = []
  try {
    names = await readdir(join(dataDir, ARCHIVE_DIR))
  } catch {
    // no history folder yet
  }
  return names.flatMap((n) => ARCHIVE_FILE_RE.exec(n)?.[1] ?? []).sort().map((m) => src(dataDir, archiveRel(m)))
}

/** Every element of each source's top-level array. */
export async function readArrays(sources: Source[], emit: Emit, onBytes?: OnBytes, unique = true): Promise<FileStat[]> {
  const stats: FileStat[] = []
  for (const s of sources) {
    const st = await streamJsonArray(s.path, (value, i) => emit({ value, file: s.rel, keys: [i], unique }), { onBytes: onBytes && ((n) => onBytes(n, s.rel)) })
    stats.push({ rel: s.rel, ...st })
  }
  return stats
}

const one = (rel: string) => async (dataDir: string) => [src(dataDir, rel)]

const TRADE_COLS = [
  vc('trade_id', 255), ts('timestamp'), vc('market_id', 255), text('market_question'), vc('action', 50), num('amount', 15, 2),
  num('entry_price', 10, 6), num('confidence', 5, 4), text('reason'), vc('status', 50), vc('event_id', 255), text('event_title'),
  ts('event_end_date'), num('current_pnl', 15, 2), num('realized_pnl', 15, 2), num('exit_price', 10, 6), ts('exit_timestamp'),
]
const POSITION_COLS = [
  vc('trade_id', 255), vc('market_id', 255), text('market_question'), vc('action', 50), num('amount', 15, 2), num('entry_price', 10, 6),
  ts('entry_timestamp'), vc('status', 50), num('current_pnl', 15, 2), num('realized_pnl', 15, 2), num('exit_price', 10, 6), ts('exit_timestamp'),
]
export const SIGNAL_COLS = [
  ts('timestamp'), vc('market_id', 255), text('market_question'), vc('action', 50), num('target_price', 10, 6), num('amount', 15, 2),
  num('confidence', 5, 4), text('reason'), num('yes_price', 10, 6), num('no_price', 10, 6), num('market_liquidity', 15, 2),
  num('market_volume', 15, 2), vc('event_id', 255), text('event_title'), ts('event_end_date'), bool('executed'), ts('executed_at'), vc('trade_id', 255),
]
const HISTORY_COLS = [
  date('snapshot_date'), ts('timestamp'), num('balance', 15, 2), num('total_invested', 15, 2), num('total_profit_loss', 15, 2),
  num('total_value', 15, 2), int('open_positions'), int('trade_count'),
]
const EVENT_COLS = [
  vc('event_id', 255), text('title'), vc('slug', 500), num('liquidity', 15, 2), num('volume', 15, 2), num('volume24hr', 15, 2),
  ts('start_date'), ts('end_date'), int('days_until_end'), jsonb('event_data'), bool('is_filtered'),
]
const MARKET_COLS = [
  vc('market_id', 255), text('question'), vc('event_id', 255), text('event_title'), ts('event_end_date'), num('liquidity', 15, 2),
  num('volume', 15, 2), num('volume24hr', 15, 2), num('yes_price', 10, 6), num('no_price', 10, 6), num('market_conviction', 10, 6),
  jsonb('market_data'), bool('is_filtered'),
]

/** The record's values in column order. */
const rowOf = (cols: Col[]) => (r: object) => cols.map((c) => (r as Record<string, unknown>)[c.name])

const trades: TableSpec<Trade> = {
  table: 'trades', columns: TRADE_COLS, key: ['trade_id'], keyName: 'trade_id', keyOf: (t) => t.trade_id,
  schema: TradeSchema, row: rowOf(TRADE_COLS), keep: 'first',
  sources: one(FILES.trades.rel), read: (s, emit, onBytes) => readArrays(s, emit, onBytes),
}

const STATE_COLS = [int('id'), num('balance', 15, 2), num('total_invested', 15, 2), num('total_profit_loss', 15, 2), int('trade_count'), ts('created_at'), ts('last_updated')]
/** The top level of portfolio.json; positions are skipped by the reader, so the schema sees none. */
const state: TableSpec<Portfolio> = {
  table: 'portfolio_state', columns: STATE_COLS, key: ['id'], keyName: 'id', keyOf: () => '1',
  schema: PortfolioFileSchema, row: (p) => [1, p.balance, p.total_invested, p.total_profit_loss, p.trade_count, p.created_at, p.last_updated], keep: 'first',
  sources: one(FILES.portfolio.rel),
  async read(sources, emit, onBytes) {
    const stats: FileStat[] = []
    for (const s of sources) {
      const { value, stats: st } = await readJsonObjectWithout(s.path, 'positions')
      onBytes?.(st.bytes, s.rel)
      if (value) await emit({ value, file: s.rel, keys: [] })
      stats.push({ rel: s.rel, ...st })
    }
    return stats
  },
}

const positions: TableSpec<Position> = {
  table: 'portfolio_positions', columns: POSITION_COLS, key: ['trade_id'], keyName: 'trade_id', keyOf: (p) => p.trade_id,
  schema: PositionSchema, row: rowOf(POSITION_COLS), keep: 'first', mirror: true,
  sources: one(FILES.portfolio.rel),
  async read(sources, emit, onBytes) {
    const stats: FileStat[] = []
    for (const s of sources) {
      const st = await streamJsonArrayAt(s.path, 'positions', (value, i) => emit({ value, file: s.rel, keys: ['positions', i], unique: true }), {
        onBytes: onBytes && ((n) => onBytes(n, s.rel)),
      })
      stats.push({ rel: s.rel, ...st })
    }
    return stats
  },
}

const history: TableSpec<HistoryRow> = {
  table: 'portfolio_history', columns: HISTORY_COLS, key: ['snapshot_date'], keyName: 'snapshot_date', keyOf: (h) => h.snapshot_date,
  schema: HistoryRowSchema, row: rowOf(HISTORY_COLS), keep: 'last',
  sources: one(FILES.history.rel), read: (s, emit, onBytes) => readArrays(s, emit, onBytes),
}

const ARCHIVE_COLS = [ts('archived_at'), vc('archive_month', 7), int('signals_count'), jsonb('signals_data')]
const archives: TableSpec<SignalArchive> = {
  table: 'signal_archives', columns: ARCHIVE_COLS, key: ['archived_at'], keyName: 'archived_at', keyOf: (a) => a.archived_at,
  schema: SignalArchiveSchema, row: (a) => [a.archived_at, a.archive_month, a.signals_count, a.signals], fields: { signals_data: 'signals' }, keep: 'last',
  sources: archiveSources, read: (s, emit, onBytes) => readArrays(s, emit, onBytes),
}

const signals: TableSpec<Signal> = {
  table: 'trading_signals', columns: SIGNAL_COLS, key: ['market_id', 'timestamp'], keyName: 'market_id+timestamp',
  keyOf: (s) => `${s.market_id} @ ${s.timestamp}`, schema: SignalSchema, row: rowOf(SIGNAL_COLS), keep: 'first', alwaysStage: true,
  sources: async (dataDir) => [...(await archiveSources(dataDir)), src(dataDir, FILES.signals.rel)],
  read: readSignals,
}

const events: TableSpec<EventRecord> = {
  table: 'events', columns: EVENT_COLS, key: ['event_id'], keyName: 'event_id', keyOf: (e) => e.event_id,
  schema: EventRecordSchema, row: rowOf(EVENT_COLS), keep: 'first', mirror: true, touch: ['updated_at'],
  sources: one(FILES.events.rel), read: (s, emit, onBytes) => readArrays(s, emit, onBytes),
}

const markets: TableSpec<MarketRecord> = {
  table: 'markets', columns: MARKET_COLS, key: ['market_id'], keyName: 'market_id', keyOf: (m) => m.market_id,
  schema: MarketRecordSchema, row: rowOf(MARKET_COLS), keep: 'first', mirror: true, touch: ['updated_at'],
  sources: one(FILES.markets.rel), read: (s, emit, onBytes) => readArrays(s, emit, onBytes),
}

export const SPECS: Record<ImportTable, TableSpec> = {
  trades, portfolio_state: state, portfolio_positions: positions, portfolio_history: history,
  signal_archives: archives, trading_signals: signals, events, markets,
}
