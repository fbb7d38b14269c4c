/**
 * RoutedStore's commit order while JSON is the truth (phases 1-5): the JSON files are staged
 * while the database is still being opened and checked, the DB transaction runs while they are
 * written, and COMMIT is sent only once they are. So the DB is never ahead of JSON, a refusal
 * from the database side writes nothing, and a failed JSON write rolls the transaction back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resetPgTables, sampleChanges } from './_contract.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { leftoverTemps } from './_crash.ts'
import { phaseRow } from '../src/phase.ts'
import { readBehind } from '../src/store/behind.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { RoutedStore } from '../src/store/routed.ts'
import type { Store } from '../src/store/types.ts'

describe.skipIf(!dbAvailable)('RoutedStore commit order (phase 4)', () => {
  let t: TestDb
  const dirs: string[] = []
  beforeAll(async () => {
    t = await createTestDb('routed')
  })
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    await t?.drop()
  })
  beforeEach(() => resetPgTables(t.sql))

  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'prescient-routed-'))
    dirs.push(d)
    return d
  }
  const trades = async () => (await t.sql`select count(*)::int as n from trades`)[0]!.n as number
  const idleInTx = async () =>
    (await t.sql`select count(*)::int as n from pg_stat_activity where datname = ${t.name} and state like 'idle in transaction%' and pid <> pg_backend_pid()`)[0]!.n as number

  test('the database side refusing the cycle writes nothing: no JSON, no temps, no marker, no rows', async () => {
    const dir = tempDir()
    const json = new JsonStore(dir)
    let refuse!: (err: Error) => void
    const pending = new Promise<{ pg: Store | null }>((_, reject) => (refuse = reject))
    const store = new RoutedStore({ row: phaseRow(4), json, pg: null, pending, dataDir: dir })
    const committing = store.commit(sampleChanges())
    await Bun.sleep(100) // the JSON files are staged meanwhile
    refuse(new Error('JSON is behind the database'))
    await expect(committing).rejects.toThrow('JSON is behind the database')
    expect(await json.loadPortfolio()).toBeNull()
    expect(leftoverTemps(dir)).toEqual([])
    expect(readBehind(dir)).toBeNull()
    expect(await trades()).toBe(0)
  })

  test('COMMIT waits for the JSON files: while they are written the database holds nothing new', async () => {
    const dir = tempDir()
    const real = new JsonStore(dir)
    let seenDuringJson = { trades: -1, openTransactions: -1 }
    const json: Store = Object.assign(Object.create(real), {
      async commit(...args: Parameters<Store['commit']>) {
        await Bun.sleep(100) // the DB statement has run by now, and waits for COMMIT
        seenDuringJson = { trades: await trades(), openTransactions: await idleInTx() }
        return real.commit(...args)
      },
    })
    const store = new RoutedStore({ row: phaseRow(4), json, pg: new PgStore(t.sql), dataDir: dir })
    await store.commit(sampleChanges())
    expect(seenDuringJson).toEqual({ trades: 0, openTransactions: 1 })
    expect(await trades()).toBe(3)
    expect((await real.loadTrades()).length).toBe(3)
    expect(readBehind(dir)).toBeNull()
    expect(store.dbWriteFailures).toBe(0)
  })

  test('a failed JSON write rolls the DB transaction back and leaves the marker for the catch-up', async () => {
    const dir = tempDir()
    const real = new JsonStore(dir)
    const json: Store = Object.assign(Object.create(real), {
      async commit() {
        await Bun.sleep(100)
        throw new Error('ENOSPC: no space left on device')
      },
    })
    const store = new RoutedStore({ row: phaseRow(4), json, pg: new PgStore(t.sql), dataDir: dir })
    await expect(store.commit(sampleChanges())).rejects.toThrow('ENOSPC')
    await Bun.sleep(100) // the rollback follows the rejected gate
    expect(await trades()).toBe(0)
    expect(await idleInTx()).toBe(0)
    expect(existsSync(join(dir, 'trades'))).toBe(false)
    expect(readBehind(dir)?.reason).toBe('cycle in progress')
  })
})
