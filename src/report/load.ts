/**
 * Read what the report needs through the phase's read source: JSON in phases
 * 0-4, PostgreSQL from phase 5 (falling back to JSON when it fails), and in
 * phase 6 JSON only as the loud emergency fallback a read-only command may use.
 * Only phase 7 refuses to run without the database (exit 5).
 */
import type { Config } from '../config.ts'
import { closeQuietly } from '../db/client.ts'
import { openDb } from '../db/open.ts'
import { logger } from '../logger.ts'
import { jsonIsTruth, phaseRow } from '../phase.ts'
import { readBehind } from '../store/behind.ts'
import { JsonStore } from '../store/json.ts'
import { PgStore } from '../store/postgres.ts'
import { RoutedStore } from '../store/routed.ts'
import type { HistoryRow, Portfolio, Trade } from '../domain.ts'

export interface ReportData {
  portfolio: Portfolio | null
  trades: Trade[]
  history: HistoryRow[]
  /** where the data was read: the phase's read source, or the JSON files it fell back to */
  source: { phase: number; phase_name: string; read_from: 'json' | 'postgres' | 'json (fallback)'; fallback_reads: number }
}

export async function loadReportData(config: Config): Promise<ReportData> {
  const row = phaseRow(config.phase)
  const json = new JsonStore(config.dataDir)
  const handle = row.reads === 'json' ? null : await openDb(config, row.reads === 'db')
  const sql = handle?.sql ?? null
  try {
    let pg: PgStore | null = sql ? new PgStore(sql) : null
    // Phase 5: while JSON is the truth, a database left behind by a failed write is stale.
    if (pg && jsonIsTruth(row) && readBehind(config.dataDir)) {
      logger.warn('the database is behind the JSON files (a failed write not yet caught up); reporting from JSON, the source of truth in this phase')
      pg = null
    }
    const store = new RoutedStore({ row, json, pg, dataDir: config.dataDir, dbError: handle?.error ?? new Error('database behind JSON'), readOnly: true })
    const portfolio = await store.loadPortfolio()
    const trades = await store.loadTrades()
    const history = await store.loadHistory()
    const fallback = store.readFallbacks + store.emergencyReads
    return {
      portfolio,
      trades,
      history,
      source: {
        phase: row.phase,
        phase_name: row.name,
        read_from: row.reads === 'json' ? 'json' : fallback ? 'json (fallback)' : 'postgres',
        fallback_reads: fallback,
      },
    }
  } finally {
    await closeQuietly(sql ?? undefined)
  }
}
