/**
 * The migration phase matrix, as data. Every storage decision in the product is
 * a lookup in PHASES; rolling back a step means lowering the number.
 */
export const GROUPS = ['portfolio', 'history', 'signals', 'markets'] as const
export type Group = (typeof GROUPS)[number]

/** Which tables and JSON files belong to each group (DESIGN.md). */
export const GROUP_TABLES: Record<Group, readonly string[]> = {
  portfolio: ['trades', 'portfolio_state', 'portfolio_positions', 'portfolio_snapshots'],
  history: ['portfolio_history', 'signal_archives'],
  signals: ['trading_signals'],
  markets: ['events', 'markets', 'market_snapshots'],
}

export const GROUP_FILES: Record<Group, readonly string[]> = {
  portfolio: ['trades/paper_trades.json', 'trades/portfolio.json'],
  history: ['history/portfolio_history.json', 'history/signals_archive_YYYY-MM.json'],
  signals: ['trades/current_signals.json'],
  markets: ['events/raw_events_backup.json', 'events/filtered_events.json', 'markets/filtered_markets.json'],
}

/** json: JSON only. db-fallback: DB, JSON when the DB fails (counted). db-emergency: DB; JSON only for read-only commands, loudly. db: DB only. */
export type ReadSource = 'json' | 'db-fallback' | 'db-emergency' | 'db'
/** continue: log, keep trading on JSON, catch up later. abort: exit 5, write nothing. */
export type OnDbFailure = 'none' | 'continue' | 'abort'

export interface PhaseRow {
  phase: number
  name: string
  jsonWrites: readonly Group[]
  dbWrites: readonly Group[]
  reads: ReadSource
  onDbFailure: OnDbFailure
}

const ALL = GROUPS
export const PHASES: readonly PhaseRow[] = [
  { phase: 0, name: 'preparation', jsonWrites: ALL, dbWrites: [], reads: 'json', onDbFailure: 'none' },
  { phase: 1, name: 'dual-write portfolio', jsonWrites: ALL, dbWrites: ['portfolio'], reads: 'json', onDbFailure: 'continue' },
  { phase: 2, name: '+ history', jsonWrites: ALL, dbWrites: ['portfolio', 'history'], reads: 'json', onDbFailure: 'continue' },
  { phase: 3, name: '+ signals', jsonWrites: ALL, dbWrites: ['portfolio', 'history', 'signals'], reads: 'json', onDbFailure: 'continue' },
  { phase: 4, name: '+ markets', jsonWrites: ALL, dbWrites: ALL, reads: 'json', onDbFailure: 'continue' },
  { phase: 5, name: 'switch reads', jsonWrites: ALL, dbWrites: ALL, reads: 'db-fallback', onDbFailure: 'continue' },
  { phase: 6, name: 'DB-only writes', jsonWrites: [], dbWrites: ALL, reads: 'db-emergency', onDbFailure: 'abort' },
  { phase: 7, name: 'PostgreSQL only', jsonWrites: [], dbWrites: ALL, reads: 'db', onDbFailure: 'abort' },
]

export const MAX_PHASE = PHASES.length - 1

export function phaseRow(phase: number): PhaseRow {
  const row = PHASES[phase]
  if (!row) throw new RangeError(`unknown phase ${phase}`)
  return row
}

/** JSON is the source of truth while it is still written (phases 0-5). */
export const jsonIsTruth = (row: PhaseRow) => row.jsonWrites.length === GROUPS.length

/** Does this phase touch the database at all? */
export const usesDb = (row: PhaseRow) => row.dbWrites.length > 0 || row.reads !== 'json'

/**
 * The seed's feature flags mapped onto a phase: writes off -> 0; writes on,
 * reads off -> 4 (the seed's flags cannot select single groups); reads on with
 * fallback -> 5; reads on without fallback -> 7. Reads without writes is refused.
 */
export function phaseFromFlags(write: boolean, read: boolean, fallback: boolean): number | { error: string } {
  if (!write && !read) return 0
  if (!write && read) return { error: 'USE_DATABASE_READ=true needs USE_DATABASE_WRITE=true: reading a database nothing writes would trade on stale state' }
  if (!read) return 4
  return fallback ? 5 : 7
}
