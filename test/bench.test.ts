/**
 * `prescient bench` at a tiny size: each benchmark completes, prints its
 * figures table, and leaves no scratch database and no temp folder behind.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { existsSync } from 'node:fs'
import { ADMIN_URL, createTestDb, dbAvailable } from './_db.ts'
import { runMain } from './_run.ts'
import { fillSyntheticTrades } from '../src/bench/dump.ts'
import { syntheticTrade } from '../src/bench/synthetic.ts'
import { PgStore } from '../src/store/postgres.ts'

/** bench dump needs pg_dump; without it on the PATH its test skips, except under CI=true, where it runs (and fails). */
const pgDumpMissing = !Bun.which('pg_dump') && process.env.CI !== 'true'
if (pgDumpMissing) console.warn('[skip] pg_dump is not on the PATH; the bench dump test skips')

/** Run the CLI in-process; the exit code and what it printed on stdout. */
const cli = async (args: string[]) => {
  const r = await runMain(args)
  return { code: r.code, out: r.stdout }
}

/** The scratch database and folder a run names in its last note are gone. */
async function cleanedUp(out: string): Promise<void> {
  const m = /scratch database (\S+) and folder (\S+): removed/.exec(out)
  expect(m).not.toBeNull()
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    expect(await sql`select datname from pg_database where datname = ${m![1]!}`).toHaveLength(0)
  } finally {
    await sql.end({ timeout: 1 })
  }
  expect(existsSync(m![2]!)).toBe(false)
}

describe.skipIf(!dbAvailable)('prescient bench (tiny)', () => {
  const saved = process.env.PRESCIENT_BENCH_ADMIN_URL
  beforeAll(async () => {
    process.env.PRESCIENT_BENCH_ADMIN_URL = ADMIN_URL
  })
  afterAll(() => {
    if (saved === undefined) delete process.env.PRESCIENT_BENCH_ADMIN_URL
    else process.env.PRESCIENT_BENCH_ADMIN_URL = saved
  })

  test('reads: four reads, JSON vs PostgreSQL, with ratios; cleans up', async () => {
    const { code, out } = await cli(['bench', 'reads', '--rows', '2000'])
    expect(code).toBe(0)
    for (const s of ['portfolio + open positions', 'open positions of one market', 'last 100 trades', 'P&L per market', 'PG faster by', 'cores']) expect(out).toContain(s)
    await cleanedUp(out)
  })

  test('import: import and verify against the COPY baseline, with peak RSS; --json', async () => {
    const { code, out } = await cli(['bench', 'import', '--rows', '2000', '--json'])
    expect(code).toBe(0)
    const r = JSON.parse(out)
    expect(r.bench).toBe('import')
    expect(r.rows).toBe(2000)
    expect(r.figures.import_ms).toBeGreaterThan(0)
    expect(r.figures.verify_peak_rss_mb).toBeGreaterThan(0)
    expect(r.targets.map((t: { what: string }) => t.what)).toEqual(['verify of the trades vs the COPY baseline', 'verify peak RSS'])
    await cleanedUp(r.notes.join('\n'))
  })

  test('cycle: phase 4 against phase 0 on the bundled sample; cleans up', async () => {
    const { code, out } = await cli(['bench', 'cycle', '--reps', '1'])
    expect(code).toBe(0)
    expect(out).toContain('phase 0 (JSON only)')
    expect(out).toContain('phase 4 (JSON + PostgreSQL)')
    expect(out).toContain('<= 1.3x')
    await cleanedUp(out)
  })

  test('dump: the server-side trades are syntheticTrade(i), also where i*104729 overflows int4', async () => {
    const t = await createTestDb('bench_fill')
    try {
      await fillSyntheticTrades(t.sql, 40)
      await fillSyntheticTrades(t.sql, 12, 2_999_990)
      const byId = (a: { trade_id: string }, b: { trade_id: string }) => (a.trade_id < b.trade_id ? -1 : 1)
      const want = [...Array.from({ length: 40 }, (_, i) => syntheticTrade(i)), ...Array.from({ length: 12 }, (_, i) => syntheticTrade(2_999_990 + i))]
      expect((await new PgStore(t.sql).loadTrades()).sort(byId)).toEqual(want.sort(byId))
    } finally {
      await t.drop()
    }
  })

  test.skipIf(pgDumpMissing)('dump: json dump against pg_dump plain, with peak RSS; --json; cleans up', async () => {
    const { code, out } = await cli(['bench', 'dump', '--rows', '2000', '--reps', '1', '--json'])
    expect(code).toBe(0)
    const r = JSON.parse(out)
    expect(r.bench).toBe('dump')
    expect(r.rows).toBe(2000)
    expect(r.table.map((row: string[]) => row[0])).toEqual(['pg_dump --format plain', 'prescient dump --format json'])
    expect(r.figures.pg_dump_ms).toBeGreaterThan(0)
    expect(r.figures.json_ms).toBeGreaterThan(0)
    expect(r.figures.ratio).toBeNumber()
    expect(Number.isFinite(r.figures.ratio)).toBe(true)
    expect(r.figures.pg_dump_peak_rss_mb).toBeGreaterThan(0)
    expect(r.figures.json_peak_rss_mb).toBeGreaterThan(0)
    expect(r.figures.plain_mb).toBeGreaterThan(0)
    expect(r.figures.json_mb).toBeGreaterThan(0)
    expect(r.figures.reps).toBe(1)
    expect(r.targets.map((t: { what: string }) => t.what)).toEqual(['json dump vs pg_dump plain', 'json dump peak RSS'])
    await cleanedUp(r.notes.join('\n'))
  })

  test('an unknown benchmark is a usage error', async () => {
    expect((await cli(['bench', 'writes'])).code).toBe(2)
  })
})
