/**
 * Every phase 0-7 touches exactly the JSON files and tables the matrix says.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { cfg, jsonFiles, rmrf, rowCounts, tempDir, truncateAll } from './_cycle.ts'
import { GROUP_TABLES, PHASES } from '../src/phase.ts'
import { runCycle } from '../src/trading/cycle.ts'

const ALL_JSON = [
  'events/filtered_events.json',
  'events/raw_events_backup.json',
  'history/portfolio_history.json',
  'history/signals_archive_2026-01.json',
  'markets/filtered_markets.json',
  'trades/current_signals.json',
  'trades/paper_trades.json',
  'trades/portfolio.json',
]

describe.skipIf(!dbAvailable || !fixturesAvailable)('phase matrix', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await createTestDb('phases')
  })
  afterAll(() => t?.drop())

  for (const row of PHASES) {
    test(`phase ${row.phase} (${row.name}) writes exactly its JSON files and tables`, async () => {
      await truncateAll(t.sql)
      const dir = tempDir(`phase${row.phase}`)
      try {
        const report = await runCycle(cfg(dir, row.phase, t.url), { source: fixture('gamma_markets_active_2026-01-10.json') })
        expect(report.stats.signals).toBeGreaterThan(0)
        expect(jsonFiles(dir)).toEqual(row.jsonWrites.length ? ALL_JSON : [])
        const counts = await rowCounts(t.sql)
        const expected = new Set(row.dbWrites.flatMap((g) => GROUP_TABLES[g]))
        for (const [table, n] of Object.entries(counts)) {
          if (expected.has(table)) expect({ table, written: n > 0 }).toEqual({ table, written: true })
          else expect({ table, rows: n }).toEqual({ table, rows: 0 })
        }
        const meta = await t.sql<{ value: string }[]>`select value from system_metadata where key = 'last_cycle_phase'`
        expect(meta[0]?.value).toBe(row.dbWrites.length ? String(row.phase) : undefined)
      } finally {
        rmrf(dir)
      }
    })
  }
})
