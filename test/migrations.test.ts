import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { migrate, migrationStatus, MIGRATIONS } from '../src/db/migrations.ts'

describe.skipIf(!dbAvailable)('migrations', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await createTestDb('migrations', { migrated: false })
  })
  afterAll(() => t?.drop())

  test('applies every migration once, then nothing', async () => {
    expect(await migrate(t.sql)).toEqual(MIGRATIONS.map((m) => m.name))
    expect(await migrate(t.sql)).toEqual([])
    const tables = await t.sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.tables
      where table_schema = 'public' and table_name <> 'prescient_migrations'`
    expect(tables[0]!.n).toBe(11)
    const meta = await t.sql`select key from system_metadata order by key`
    expect(meta.map((r) => r.key)).toContain('last_trade_execution')
  })

  test('two concurrent migrate calls apply each file exactly once', async () => {
    const other = await createTestDb('migrations_race', { migrated: false })
    try {
      const [a, b] = await Promise.all([migrate(other.sql), migrate(other.sql)])
      expect([...a, ...b].sort()).toEqual(MIGRATIONS.map((m) => m.name).sort())
    } finally {
      await other.drop()
    }
  })

  test('an edited applied migration is refused with a clear message', async () => {
    await t.sql`update prescient_migrations set checksum = 'tampered' where version = 1`
    const status = await migrationStatus(t.sql)
    expect(status[0]!.state).toBe('edited')
    await expect(migrate(t.sql)).rejects.toThrow(/00001_init\.sql was changed after it was applied/)
    await t.sql`update prescient_migrations set checksum = ${MIGRATIONS[0]!.checksum} where version = 1`
  })

  test('timestamps are stored with their time zone', async () => {
    const cols = await t.sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.columns
      where table_schema = 'public' and data_type = 'timestamp without time zone'`
    expect(cols[0]!.n).toBe(0)
  })
})

describe.skipIf(!dbAvailable)('adopting a database made by hand from the seed schema', () => {
  test('00001 is recorded as the baseline and only 00002 runs', async () => {
    const t = await createTestDb('migrations_seed', { migrated: false })
    try {
      await t.sql.unsafe(MIGRATIONS[0]!.sql)
      await t.sql`insert into trades (trade_id, timestamp, market_id, market_question, action, amount, entry_price, confidence, status)
                  values ('trade_seed_1', '2025-10-20 17:02:45.884042', '634159', 'q', 'buy_yes', 100, 0.86, 0.36, 'open')`
      const applied = await migrate(t.sql)
      expect(applied[0]).toMatch(/00001_init\.sql \(adopted/)
      expect(applied.slice(1)).toEqual(MIGRATIONS.slice(1).map((m) => m.name))
      expect((await migrationStatus(t.sql)).every((s) => s.state === 'applied')).toBe(true)
      const r = await t.sql`select timestamp from trades where trade_id = 'trade_seed_1'`
      expect((r[0]!.timestamp as Date).toISOString()).toBe('2025-10-20T17:02:45.884Z')
    } finally {
      await t.drop()
    }
  })
})
