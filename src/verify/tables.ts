/**
 * What `verify` compares: each table's natural key, its compared columns (in
 * the order the row text is built), how PostgreSQL rows map back to the JSON
 * shape (the query modules' own mappers), and where its JSON twin lives.
 * Columns the JSON files do not hold (id, created_at, updated_at) are left out.
 */
import type { PendingQuery } from 'postgres'
import * as v from 'valibot'
import type { Q } from '../db/client.ts'
import { archiveFromRow, historyFromRow } from '../db/queries/history.ts'
import { eventFromRow, marketFromRow } from '../db/queries/markets.ts'
import { positionFromRow } from '../db/queries/portfolio.ts'
import { signalFromRow } from '../db/queries/signals.ts'
import { tradeFromRow } from '../db/queries/trades.ts'
import { iso, num, type Row } from '../db/queries/_util.ts'
import { SignalSchema } from '../schema/files.ts'
import type { ImportTable } from '../import/tables.ts'
import { SEP, type Col } from './canon.ts'

type Frag = PendingQuery<any>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

export interface CompareSpec {
  name: ImportTable
  dbOnly?: false
  /** the JSON file(s) holding the same rows */
  twin: string
  cols: readonly Col[]
  key: (row: Obj) => string
  /** the key as text in SQL, equal to key() of the mapped row */
  sqlKey: (sql: Q) => Frag
  /** sql: digests computed inside PostgreSQL; js: rows streamed and hashed here (JSONB columns) */
  mode: 'sql' | 'js'
  /** the select list the mapper expects */
  select: (sql: Q) => Frag
  map: (r: Row) => Obj
  /** which of two JSON records with one key counts, as import decides: 'first' (later ones are faults) or 'last' (the files replace by key) */
  keep: 'first' | 'last'
}

export interface DbOnlySpec {
  name: string
  dbOnly: true
  note: string
}

export type TableSpec = CompareSpec | DbOnlySpec

const t = (name: string): Col => ({ name, type: 'text' })
const n = (name: string): Col => ({ name, type: 'num' })
const i = (name: string): Col => ({ name, type: 'int' })
const ts = (name: string): Col => ({ name, type: 'ts' })

const TRADE_COLS: Col[] = [
  t('trade_id'), ts('timestamp'), t('market_id'), t('market_question'), t('action'), n('amount'), n('entry_price'), n('confidence'),
  t('reason'), t('status'), t('event_id'), t('event_title'), ts('event_end_date'), n('current_pnl'), n('realized_pnl'), n('exit_price'), ts('exit_timestamp'),
]
const POSITION_COLS: Col[] = [
  t('trade_id'), t('market_id'), t('market_question'), t('action'), n('amount'), n('entry_price'), ts('entry_timestamp'), t('status'),
  n('current_pnl'), n('realized_pnl'), n('exit_price'), ts('exit_timestamp'),
]
const STATE_COLS: Col[] = [n('balance'), n('total_invested'), n('total_profit_loss'), i('trade_count'), ts('created_at'), ts('last_updated')]
const SIGNAL_COLS: Col[] = [
  ts('timestamp'), t('market_id'), t('market_question'), t('action'), n('target_price'), n('amount'), n('confidence'), t('reason'),
  n('yes_price'), n('no_price'), n('market_liquidity'), n('market_volume'), t('event_id'), t('event_title'), ts('event_end_date'),
  { name: 'executed', type: 'bool', nullAs: false }, ts('executed_at'), t('trade_id'),
]
const HISTORY_COLS: Col[] = [
  { name: 'snapshot_date', type: 'date' }, ts('timestamp'), n('balance'), n('total_invested'), n('total_profit_loss'), n('total_value'),
  i('open_positions'), i('trade_count'),
]
const ARCHIVE_COLS: Col[] = [ts('archived_at'), t('archive_month'), i('signals_count'), { name: 'signals', type: 'json' }]
const EVENT_COLS: Col[] = [
  t('event_id'), t('title'), t('slug'), n('liquidity'), n('volume'), n('volume24hr'), ts('start_date'), ts('end_date'), i('days_until_end'),
  { name: 'event_data', type: 'json' }, { name: 'is_filtered', type: 'bool', nullAs: true },
]
const MARKET_COLS: Col[] = [
  t('market_id'), t('question'), t('event_id'), t('event_title'), ts('event_end_date'), n('liquidity'), n('volume'), n('volume24hr'),
  n('yes_price'), n('no_price'), n('market_conviction'), { name: 'market_data', type: 'json' }, { name: 'is_filtered', type: 'bool', nullAs: true },
]

const UTC_MS = `YYYY-MM-DD"T"HH24:MI:SS.MS"Z"`
const cols = (sql: Q, c: readonly Col[]): Frag => sql`${sql(c.map((x) => x.name))}`
/** JSONB reorders keys and may hold un-normalised signals: read them through the schema, as PgStore does. */
const canonicalSignal = (s: unknown) => {
  const r = v.safeParse(SignalSchema, s)
  return r.success ? r.output : s
}

export const TABLES: readonly TableSpec[] = [
  {
    name: 'trades', twin: 'trades/paper_trades.json', cols: TRADE_COLS, mode: 'sql', keep: 'first',
    key: (r) => String(r.trade_id), sqlKey: (sql) => sql`trade_id::text`,
    select: (sql) => cols(sql, TRADE_COLS), map: tradeFromRow,
  },
  {
    name: 'portfolio_state', twin: 'trades/portfolio.json (state)', cols: STATE_COLS, mode: 'sql', keep: 'first',
    key: () => '1', sqlKey: (sql) => sql`id::text`,
    select: (sql) => cols(sql, STATE_COLS),
    map: (r) => ({
      balance: num(r.balance), total_invested: num(r.total_invested), total_profit_loss: num(r.total_profit_loss),
      trade_count: num(r.trade_count), created_at: iso(r.created_at), last_updated: iso(r.last_updated),
    }),
  },
  {
    name: 'portfolio_positions', twin: 'trades/portfolio.json (positions)', cols: POSITION_COLS, mode: 'sql', keep: 'first',
    key: (r) => String(r.trade_id), sqlKey: (sql) => sql`trade_id::text`,
    select: (sql) => cols(sql, POSITION_COLS), map: positionFromRow,
  },
  { name: 'portfolio_snapshots', dbOnly: true, note: 'DB-only time series (no JSON twin)' },
  {
    name: 'trading_signals', twin: 'history/signals_archive_*.json + trades/current_signals.json', cols: SIGNAL_COLS, mode: 'sql',
    keep: 'last',
    key: (r) => `${r.market_id}${SEP}${r.timestamp}`,
    sqlKey: (sql) => sql`market_id::text || chr(31) || to_char(timestamp at time zone 'UTC', ${UTC_MS})`,
    select: (sql) => cols(sql, SIGNAL_COLS), map: signalFromRow,
  },
  {
    name: 'signal_archives', twin: 'history/signals_archive_*.json', cols: ARCHIVE_COLS, mode: 'js', keep: 'last',
    key: (r) => String(r.archived_at), sqlKey: (sql) => sql`to_char(archived_at at time zone 'UTC', ${UTC_MS})`,
    select: (sql) => sql`archived_at, archive_month, signals_count, signals_data`,
    map: (r) => {
      const a = archiveFromRow(r)
      return { ...a, signals: Array.isArray(a.signals) ? a.signals.map(canonicalSignal) : a.signals }
    },
  },
  {
    name: 'portfolio_history', twin: 'history/portfolio_history.json', cols: HISTORY_COLS, mode: 'sql', keep: 'last',
    key: (r) => String(r.snapshot_date), sqlKey: (sql) => sql`to_char(snapshot_date, 'YYYY-MM-DD')`,
    select: (sql) => sql`to_char(snapshot_date, 'YYYY-MM-DD') as snapshot_date, ${cols(sql, HISTORY_COLS.slice(1))}`,
    map: historyFromRow,
  },
  {
    name: 'events', twin: 'events/filtered_events.json', cols: EVENT_COLS, mode: 'js', keep: 'first',
    key: (r) => String(r.event_id), sqlKey: (sql) => sql`event_id::text`,
    select: (sql) => cols(sql, EVENT_COLS), map: eventFromRow,
  },
  {
    name: 'markets', twin: 'markets/filtered_markets.json', cols: MARKET_COLS, mode: 'js', keep: 'first',
    key: (r) => String(r.market_id), sqlKey: (sql) => sql`market_id::text`,
    select: (sql) => cols(sql, MARKET_COLS), map: marketFromRow,
  },
  { name: 'market_snapshots', dbOnly: true, note: 'DB-only time series (no JSON twin)' },
  { name: 'system_metadata', dbOnly: true, note: 'not compared: run markers, partly DB-only' },
]

export const TABLE_NAMES = TABLES.map((s) => s.name)

export function tableSpec(name: string): TableSpec | undefined {
  return TABLES.find((s) => s.name === name)
}

/** The key as people read it (composite keys joined with " @ "). */
export const showKey = (key: string) => key.split(SEP).join(' @ ')
