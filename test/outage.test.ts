/**
 * Phases 1-5 keep trading on JSON when PostgreSQL is down, and the next cycle
 * with the database back leaves both holding the same facts. Phases 6-7 exit 5
 * and write nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { cfg, expectSameFacts, jsonFiles, rmrf, rowCounts, tempDir } from './_cycle.ts'
import { Exit, PrescientError } from '../src/errors.ts'
import { readBehind } from '../src/store/behind.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { runCycle } from '../src/trading/cycle.ts'

const DOWN = 'postgres://postgres:s3cret-pw@127.0.0.1:1/nowhere'


describe.skipIf(!dbAvailable || !fixturesAvailable)('outages', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('outage')
    dir = tempDir('outage')
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })

  test('phase 3 with the database down trades on JSON, exits 0, and warns', async () => {
    const report = await runCycle(cfg(dir, 3, DOWN), { source: fixture('gamma_markets_active_2026-01-10.json') })
    expect(report.storage.db).toBe('unreachable')
    expect(report.warnings.join('\n')).toMatch(/unreachable|unavailable/i)
    expect(report.warnings.join('\n')).not.toContain('s3cret-pw')
    expect(report.stats.executed).toBeGreaterThan(0)
    expect(jsonFiles(dir)).toContain('trades/paper_trades.json')
    expect(readBehind(dir)).not.toBeNull()
    expect((await rowCounts(t.sql)).trades).toBe(0)
  })

  test('when the database is back, the next cycle leaves DB and JSON holding the same facts', async () => {
    const report = await runCycle(cfg(dir, 3, t.url), { source: fixture('gamma_markets_active_2026-01-31.json') })
    expect(report.storage.db).toBe('caught up')
    expect(readBehind(dir)).toBeNull()
    expect(report.stats.marked).toBeGreaterThan(0)
    // phase 3 writes portfolio, history and signals: compare what both hold
    const json = new JsonStore(dir)
    const pg = new PgStore(t.sql)
    expect(await pg.loadPortfolio()).toEqual(await json.loadPortfolio())
    expect(await pg.loadTrades()).toEqual(await json.loadTrades())
    expect(await pg.loadHistory()).toEqual(await json.loadHistory())
    expect(await pg.loadArchives()).toEqual(await json.loadArchives())
    expect(await pg.loadSignals()).toEqual(await json.loadSignals())
  })

  test('phase 4 then holds every group level, including markets', async () => {
    await runCycle(cfg(dir, 4, t.url), { source: fixture('gamma_markets_active_2026-01-31.json'), now: '2026-02-01T12:00:00Z' })
    await expectSameFacts(dir, t.sql)
  })

  for (const phase of [6, 7]) {
    test(`phase ${phase} with the database down exits 5 and writes nothing`, async () => {
      const fresh = tempDir(`outage${phase}`)
      try {
        const err = await runCycle(cfg(fresh, phase, DOWN), { source: fixture('gamma_markets_active_2026-01-10.json') }).catch((e) => e)
        expect(err).toBeInstanceOf(PrescientError)
        expect((err as PrescientError).exitCode).toBe(Exit.dbUnreachable)
        expect((err as PrescientError).message).not.toContain('s3cret-pw')
        expect(jsonFiles(fresh)).toEqual([])
        expect(existsSync(join(fresh, '.prescient', 'cycle.lock'))).toBe(false)
      } finally {
        rmrf(fresh)
      }
    })
  }
})
