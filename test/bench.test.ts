/**
 * `prescient bench` at a tiny size: each benchmark completes, prints its
 * figures table, and leaves no scratch database and no temp folder behind.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { existsSync } from 'node:fs'
import { ADMIN_URL, dbAvailable } from './_db.ts'
import { runMain } from './_run.ts'

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

  test('an unknown benchmark is a usage error', async () => {
    expect((await cli(['bench', 'writes'])).code).toBe(2)
  })
})
