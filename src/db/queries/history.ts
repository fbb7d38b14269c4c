/** portfolio_history (one row per day) and signal_archives (one row per archived_at). */
import type { Q } from '../client.ts'
import type { HistoryRow, Signal, SignalArchive } from '../../domain.ts'
import { batches, dedupeBy, iso, jsonb, jsonRows, num, obj, type Fragment, type Row } from './_util.ts'

const HISTORY_COLS = ['snapshot_date', 'timestamp', 'balance', 'total_invested', 'total_profit_loss', 'total_value', 'open_positions', 'trade_count'] as const

const historyOnConflict = (sql: Q) => sql`
  on conflict (snapshot_date) do update set
    timestamp = excluded.timestamp, balance = excluded.balance, total_invested = excluded.total_invested,
    total_profit_loss = excluded.total_profit_loss, total_value = excluded.total_value,
    open_positions = excluded.open_positions, trade_count = excluded.trade_count`

export async function upsertHistory(sql: Q, rows: readonly HistoryRow[]): Promise<void> {
  for (const chunk of batches(dedupeBy(rows, (h) => h.snapshot_date))) {
    await sql`insert into portfolio_history ${sql(chunk, ...HISTORY_COLS)} ${historyOnConflict(sql)}`
  }
}

/** upsertHistory as one part of a single-statement commit (allInOne). */
export function upsertHistoryParts(sql: Q, rows: readonly HistoryRow[]): Fragment[] {
  const unique = dedupeBy(rows, (h) => h.snapshot_date)
  return unique.length ? [sql`insert into portfolio_history (${sql(HISTORY_COLS)}) ${jsonRows(sql, 'portfolio_history', HISTORY_COLS, unique)} ${historyOnConflict(sql)}`] : []
}

export function historyFromRow(r: Row): HistoryRow {
  return {
    snapshot_date: String(r.snapshot_date),
    timestamp: iso(r.timestamp),
    balance: num(r.balance),
    total_invested: num(r.total_invested),
    total_profit_loss: num(r.total_profit_loss),
    total_value: num(r.total_value),
    open_positions: num(r.open_positions),
    trade_count: num(r.trade_count),
  }
}

/** Oldest day first. DATE is read as text so no time zone can shift the day. */
export async function selectHistory(sql: Q): Promise<HistoryRow[]> {
  const rows = await sql`
    select snapshot_date::text as snapshot_date, timestamp, balance, total_invested, total_profit_loss,
           total_value, open_positions, trade_count
    from portfolio_history order by snapshot_date`
  return rows.map(historyFromRow)
}

const ARCHIVE_COLS = ['archived_at', 'archive_month', 'signals_count', 'signals_data'] as const

const archivesOnConflict = (sql: Q) => sql`
  on conflict (archived_at) do update set
    archive_month = excluded.archive_month, signals_count = excluded.signals_count, signals_data = excluded.signals_data`

export async function upsertArchives(sql: Q, archives: readonly SignalArchive[]): Promise<void> {
  const rows = dedupeBy(archives, (a) => a.archived_at).map((a) => ({
    archived_at: a.archived_at,
    archive_month: a.archive_month,
    signals_count: a.signals_count,
    signals_data: jsonb(sql, a.signals),
  }))
  for (const chunk of batches(rows, 200)) {
    await sql`insert into signal_archives ${sql(chunk, ...ARCHIVE_COLS)} ${archivesOnConflict(sql)}`
  }
}

/** upsertArchives as one part of a single-statement commit (allInOne); signals_data travels inside the one jsonb parameter. */
export function upsertArchivesParts(sql: Q, archives: readonly SignalArchive[]): Fragment[] {
  const rows = dedupeBy(archives, (a) => a.archived_at).map((a) => ({
    archived_at: a.archived_at,
    archive_month: a.archive_month,
    signals_count: a.signals_count,
    signals_data: a.signals,
  }))
  return rows.length ? [sql`insert into signal_archives (${sql(ARCHIVE_COLS)}) ${jsonRows(sql, 'signal_archives', ARCHIVE_COLS, rows)} ${archivesOnConflict(sql)}`] : []
}

export function archiveFromRow(r: Row): SignalArchive {
  return {
    archived_at: iso(r.archived_at),
    archive_month: String(r.archive_month),
    signals_count: num(r.signals_count),
    signals: obj<Signal[]>(r.signals_data),
  }
}

/** Oldest first. signals_data holds the signals exactly as the JSON archive does. */
export async function selectArchives(sql: Q, month?: string): Promise<SignalArchive[]> {
  const rows = await sql`
    select archived_at, archive_month, signals_count, signals_data from signal_archives
    where ${month === undefined ? sql`true` : sql`archive_month = ${month}`}
    order by archived_at`
  return rows.map(archiveFromRow)
}
