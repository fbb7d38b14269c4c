/**
 * `prescient sync`: bring one store level with the other.
 *
 * JSON -> DB (phases 1-5, JSON is the truth): every row of the phase's groups
 * is upserted in ONE transaction; mirror tables (state, positions, events,
 * markets) are made equal. Rows only the DB has in append-only tables are kept
 * (nothing is ever deleted from history); `verify` reports them.
 *
 * DB -> JSON (`--from-db`, before rolling back from phase 6 or 7): the JSON files
 * are rewritten from PostgreSQL, atomically, so JSON can be the truth again.
 */
import type { Signal } from './domain.ts'
import { writeJsonAtomicMany } from './atomic.ts'
import type { Sql } from './db/client.ts'
import { upsertArchives, upsertHistory } from './db/queries/history.ts'
import { replaceEvents, replaceMarkets } from './db/queries/markets.ts'
import { getMetadata, setMetadata } from './db/queries/metadata.ts'
import { replacePositions, upsertState } from './db/queries/portfolio.ts'
import { saveCurrentSignals, upsertSignals } from './db/queries/signals.ts'
import { upsertTrades } from './db/queries/trades.ts'
import type { Group } from './phase.ts'
import { archiveRel, FILES } from './schema/files.ts'
import { clearBehind } from './store/behind.ts'
import { JsonStore, journalPath } from './store/json.ts'
import { PgStore } from './store/postgres.ts'

export interface SyncReport {
  direction: 'json-to-db' | 'db-to-json'
  groups: Group[]
  rows: Record<string, number>
  summary: string
}

const summarise = (rows: Record<string, number>) =>
  Object.entries(rows)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')

/** Every signal JSON knows: the monthly archives plus the current file (current wins on a key clash). */
export function allJsonSignals(archives: { signals: Signal[] }[], current: Signal[]): Signal[] {
  const byKey = new Map<string, Signal>()
  for (const s of [...archives.flatMap((a) => a.signals), ...current]) byKey.set(`${s.market_id}|${s.timestamp}`, s)
  return [...byKey.values()]
}

export async function syncJsonToDb(dataDir: string, sql: Sql, groups: readonly Group[]): Promise<SyncReport> {
  const json = new JsonStore(dataDir)
  const has = (g: Group) => groups.includes(g)
  // Read (and validate) everything first: a bad file stops the sync before the DB is touched.
  const portfolio = has('portfolio') ? await json.loadPortfolio() : null
  const trades = has('portfolio') ? await json.loadTrades() : []
  const history = has('history') ? await json.loadHistory() : []
  const archives = has('history') || has('signals') ? await json.loadArchives() : []
  const current = has('signals') ? await json.loadSignals() : []
  const events = has('markets') ? await json.loadEvents() : []
  const markets = has('markets') ? await json.loadMarkets() : []
  const rows: Record<string, number> = {}

  await sql.begin(async (tx) => {
    if (has('portfolio')) {
      await upsertTrades(tx, trades)
      rows.trades = trades.length
      if (portfolio) {
        await upsertState(tx, portfolio)
        await replacePositions(tx, portfolio.positions)
        rows.portfolio_positions = portfolio.positions.length
      }
    }
    if (has('history')) {
      await upsertHistory(tx, history)
      await upsertArchives(tx, archives)
      rows.portfolio_history = history.length
      rows.signal_archives = archives.length
    }
    if (has('signals')) {
      const all = allJsonSignals(archives, current)
      await upsertSignals(tx, all)
      await saveCurrentSignals(tx, current)
      rows.trading_signals = all.length
    }
    if (has('markets')) {
      await replaceEvents(tx, events)
      await replaceMarkets(tx, markets)
      rows.events = events.length
      rows.markets = markets.length
    }
    await setMetadata(tx, { last_sync_at: new Date().toISOString(), last_sync_direction: 'json-to-db' })
  })
  clearBehind(dataDir)
  return { direction: 'json-to-db', groups: [...groups], rows, summary: summarise(rows) }
}

/** Rewrite every JSON file from PostgreSQL (raw_events_backup.json, which has no table, is left alone). */
export async function syncDbToJson(sql: Sql, dataDir: string): Promise<SyncReport> {
  const pg = new PgStore(sql)
  const json = new JsonStore(dataDir)
  const [portfolio, trades, signals, history, archives, events, markets] = await Promise.all([
    pg.loadPortfolio(),
    pg.loadTrades(),
    pg.loadSignals(),
    pg.loadHistory(),
    pg.loadArchives(),
    pg.loadEvents(),
    pg.loadMarkets(),
  ])
  // paper_trades.json is kept in the order trades happened (oldest first).
  const chronological = [...trades].reverse()
  const put: { path: string; value: unknown }[] = [
    { path: json.path(FILES.trades.rel), value: chronological },
    { path: json.path(FILES.signals.rel), value: signals },
    { path: json.path(FILES.history.rel), value: history },
    { path: json.path(FILES.events.rel), value: events },
    { path: json.path(FILES.markets.rel), value: markets },
  ]
  if (portfolio) put.push({ path: json.path(FILES.portfolio.rel), value: portfolio })
  const months = new Map<string, typeof archives>()
  for (const a of archives) months.set(a.archive_month, [...(months.get(a.archive_month) ?? []), a])
  for (const [month, entries] of months) put.push({ path: json.path(archiveRel(month)), value: entries })
  // The JSON twin of system_metadata, so a later cycle in phase <= 5 knows JSON has caught up.
  put.push({ path: json.path(FILES.metadata.rel), value: { ...(await json.loadMetadata()), ...(await getMetadata(sql)) } })
  await writeJsonAtomicMany(put, { journal: journalPath(dataDir) })
  clearBehind(dataDir)
  const rows = { trades: trades.length, portfolio_positions: portfolio?.positions.length ?? 0, trading_signals: signals.length, portfolio_history: history.length, signal_archives: archives.length, events: events.length, markets: markets.length }
  return { direction: 'db-to-json', groups: ['portfolio', 'history', 'signals', 'markets'], rows, summary: summarise(rows) }
}
