/**
 * Rolling forward and back through the phases loses nothing: raising the phase
 * backfills the new groups, and rolling back from 6 to 5 is refused until the
 * JSON files are rewritten from the database.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { cfg, rmrf, tempDir } from './_cycle.ts'
import { Exit, PrescientError } from '../src/errors.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { syncDbToJson } from '../src/sync.ts'
import { runCycle } from '../src/trading/cycle.ts'

describe.skipIf(!dbAvailable || !fixturesAvailable)('phase roll-forward and rollback', () => {
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('rollback')
    dir = tempDir('rollback')
  })
  afterAll(async () => {
    await t?.drop()
    rmrf(dir)
  })

  test('phase 1 then phase 2 backfills the history written before', async () => {
    await runCycle(cfg(dir, 1, t.url), { source: fixture('gamma_markets_active_2026-01-10.json') })
    const pg = new PgStore(t.sql)
    expect(await pg.loadHistory()).toEqual([])
    const r = await runCycle(cfg(dir, 2, t.url), { source: fixture('gamma_markets_active_2026-01-31.json') })
    expect(r.storage.db).toBe('caught up')
    const json = new JsonStore(dir)
    expect(await pg.loadHistory()).toEqual(await json.loadHistory())
    expect((await pg.loadHistory()).length).toBe(2)
    expect(await pg.loadArchives()).toEqual(await json.loadArchives())
  })

  test('after phase 6, phase 5 is refused until sync --from-db, then nothing is lost', async () => {
    await runCycle(cfg(dir, 4, t.url), { source: fixture('gamma_markets_active_2026-01-31.json'), now: '2026-02-01T00:00:00Z' })
    await runCycle(cfg(dir, 6, t.url), { source: fixture('gamma_markets_active_2026-01-31.json'), now: '2026-02-02T00:00:00Z' })
    const pg = new PgStore(t.sql)
    const json = new JsonStore(dir)
    const dbTrades = await pg.loadTrades()
    expect((await json.loadHistory()).length).toBeLessThan((await pg.loadHistory()).length)

    const err = await runCycle(cfg(dir, 5, t.url), { source: fixture('gamma_markets_active_2026-01-31.json'), now: '2026-02-03T00:00:00Z' }).catch((e) => e)
    expect(err).toBeInstanceOf(PrescientError)
    expect((err as PrescientError).exitCode).toBe(Exit.usage)
    expect((err as PrescientError).hint).toContain('sync --from-db')

    await syncDbToJson(t.sql, dir)
    expect(await json.loadTrades()).toEqual(dbTrades)
    await runCycle(cfg(dir, 5, t.url), { source: fixture('gamma_markets_active_2026-01-31.json'), now: '2026-02-03T00:00:00Z' })
    expect(await pg.loadTrades()).toEqual(await json.loadTrades())
    expect(await pg.loadHistory()).toEqual(await json.loadHistory())
    expect(await pg.loadPortfolio()).toEqual(await json.loadPortfolio())
  })
})
