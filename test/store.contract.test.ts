/** The Store contract (test/_contract.ts) over every implementation. */
import { afterAll, beforeAll, describe } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resetPgTables, storeContract } from './_contract.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'

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
