/** The Store contract (test/_contract.ts) over every implementation. */
import { afterAll, beforeAll, describe } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resetPgTables, storeContract } from './_contract.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { RoutedStore } from '../src/store/routed.ts'
import { phaseRow } from '../src/phase.ts'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

storeContract('JsonStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prescient-contract-'))
  dirs.push(dir)
  return new JsonStore(dir)
})

describe.skipIf(!dbAvailable)('PgStore', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await createTestDb('contract')
  })
  afterAll(() => t?.drop())

  storeContract('PgStore', async () => {
    await resetPgTables(t.sql)
    return new PgStore(t.sql)
  })
})

// The routed store, in the phases where it composes both: 5 (writes both, reads the DB with a
// JSON fallback) and 7 (PostgreSQL only). Phases 0-4 read JSON, which the JsonStore run covers.
describe.skipIf(!dbAvailable)('RoutedStore', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await createTestDb('contract_routed')
  })
  afterAll(() => t?.drop())

  for (const phase of [5, 7]) {
    storeContract(`RoutedStore (phase ${phase})`, async () => {
      await resetPgTables(t.sql)
      const dir = mkdtempSync(join(tmpdir(), `prescient-contract-routed${phase}-`))
      dirs.push(dir)
      return new RoutedStore({ row: phaseRow(phase), json: new JsonStore(dir), pg: new PgStore(t.sql), dataDir: dir })
    })
  }
})
