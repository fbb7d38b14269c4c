import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { diskUsage, jsonFiles, logInfo, usageFromStatfs } from '../src/status.ts'
import { runMain as run } from './_run.ts'


let dataDir: string
const NO_ENV = ['--env-file', '/nonexistent/.env']

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'prescient-status-'))
  for (const d of ['trades', 'history', 'logs']) mkdirSync(join(dataDir, d))
  writeFileSync(join(dataDir, 'trades/paper_trades.json'), '[]')
  writeFileSync(join(dataDir, 'trades/portfolio.json'), JSON.stringify({ balance: 10000 }))
  writeFileSync(join(dataDir, 'history/signals_archive_2025-01.json'), '[1,2,3]')
  writeFileSync(join(dataDir, 'history/signals_archive_2025-02.json'), '[1]')
  // scheduled (non-TTY) runs prune logs older than 30 days from the log folder, so these live elsewhere
  mkdirSync(join(dataDir, 'logs-fixture'))
  const day = (n: number) => new Date(Date.now() - n * 86_400_000)
  const older = join(dataDir, `logs-fixture/prescient-${day(1).toISOString().slice(0, 10)}.log`)
  const newer = join(dataDir, `logs-fixture/prescient-${day(0).toISOString().slice(0, 10)}.log`)
  writeFileSync(older, `${day(1).toISOString()} ERROR old failure\n`)
  writeFileSync(newer, `${day(0).toISOString()} INFO  fine\n${day(0).toISOString()} ERROR cannot reach postgres://u:hunter2pw@db:5432/x\n${day(0).toISOString()} INFO  later\n`)
  utimesSync(older, day(1), day(1))
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('status without a database', () => {
  test('phase 0, no database, file sizes, both monthly archives', async () => {
    const r = await run(['status', '--json', '--data-dir', dataDir, ...NO_ENV])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.phase.number).toBe(0)
    expect(doc.phase.name).toBe('preparation')
    expect(doc.phase.source).toContain('no database')
    expect(doc.database.configured).toBe(false)
    const byPath = Object.fromEntries(doc.files.map((f: { path: string }) => [f.path, f]))
    expect(byPath['trades/paper_trades.json'].size).toBe(2)
    expect(byPath['trades/paper_trades.json'].exists).toBe(true)
    expect(byPath['history/signals_archive_2025-01.json'].size).toBe(7)
    expect(byPath['history/signals_archive_2025-02.json'].size).toBe(3)
    expect(byPath['events/raw_events_backup.json'].exists).toBe(false)
    expect(typeof doc.disk.usedPercent).toBe('number')
    expect(typeof doc.disk.warning).toBe('boolean')
  })

  test('human output shows the phase and the files as tables', async () => {
    const r = await run(['status', '--data-dir', dataDir, ...NO_ENV])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('0: preparation')
    expect(r.stdout).toContain('not configured')
    expect(r.stdout).toContain('history/signals_archive_2025-02.json')
    expect(r.stdout).toContain('2 B')
  })

  test('the newest log and its last ERROR line, masked', () => {
    const logs = logInfo(join(dataDir, 'logs-fixture'))
    expect(logs.files).toBe(2)
    expect(logs.newest?.name).toBe(`prescient-${new Date().toISOString().slice(0, 10)}.log`)
    expect(logs.lastError?.line).toContain('cannot reach')
    expect(logs.lastError?.line).not.toContain('hunter2pw')
    expect(logInfo(join(dataDir, 'absent')).exists).toBe(false)
  })

  test('an empty data dir lists every file as missing, and disk usage walks up to an existing folder', () => {
    const files = jsonFiles(join(dataDir, 'nothing-here'))
    expect(files.every((f) => !f.exists)).toBe(true)
    expect(files.map((f) => f.path)).toContain('history/signals_archive_*.json')
    const d = diskUsage(join(dataDir, 'no', 'such', 'dir'))
    expect(d.path).toBe(dataDir)
    expect(d.free).toBeGreaterThan(0)
  })
})

describe('disk usage', () => {
  test('warns above 80% used, counting as df does', () => {
    expect(usageFromStatfs({ bsize: 4096, blocks: 100, bfree: 30, bavail: 25 })).toMatchObject({ free: 25 * 4096, usedPercent: 73.7, warning: false })
    expect(usageFromStatfs({ bsize: 4096, blocks: 100, bfree: 15, bavail: 10 })).toMatchObject({ usedPercent: 89.5, warning: true })
  })
})

describe('status as a real process', () => {
  test('stdout holds exactly one JSON document', async () => {
    const p = Bun.spawn([process.execPath, 'src/cli.ts', 'status', '--json', '--data-dir', dataDir, '--database-url', 'postgres://nobody@127.0.0.1:1/x', ...NO_ENV], {
      cwd: join(import.meta.dir, '..'),
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, PRESCIENT_LOG_FILE: 'off' },
    })
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited])
    expect(code).toBe(0)
    expect(JSON.parse(out).database.reachable).toBe(false)
  })
})

describe('status with an unreachable database', () => {
  const url = 'postgres://nobody:s3cretpw@127.0.0.1:1/nowhere'
  test('is shown, not fatal, in phases 0-5', async () => {
    const r = await run(['status', '--json', '--data-dir', dataDir, '--database-url', url, ...NO_ENV])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.database.configured).toBe(true)
    expect(doc.database.reachable).toBe(false)
    expect(doc.database.url).not.toContain('s3cretpw')
    expect(r.stdout + r.stderr).not.toContain('s3cretpw')
    const human = await run(['status', '--data-dir', dataDir, '--database-url', url, ...NO_ENV])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('NO:')
  })

  test('exits 5 after printing when the phase requires the database', async () => {
    const r = await run(['status', '--json', '--phase', '6', '--data-dir', dataDir, '--database-url', url, ...NO_ENV])
    expect(r.code).toBe(5)
    expect(JSON.parse(r.stdout).phase.number).toBe(6)
  })
})

describe.skipIf(!dbAvailable)('status with a migrated database', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await createTestDb('status')
    await t.sql`update system_metadata set value = '2025-03-01T12:00:00Z', updated_at = now() where key = 'last_trade_execution'`
    await t.sql`insert into system_metadata (key, value) values ('last_custom_step', 'done')`
    await t.sql`insert into portfolio_state (id, balance, total_invested, total_profit_loss, trade_count, created_at, last_updated)
                values (1, 10000, 0, 0, 0, now(), now())`
  })
  afterAll(() => t?.drop())

  test('row counts for all 11 tables, migrations and last runs', async () => {
    const r = await run(['status', '--json', '--phase', '1', '--data-dir', dataDir, '--database-url', t.url, ...NO_ENV])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.phase.number).toBe(1)
    expect(doc.phase.dbWrites).toEqual(['portfolio'])
    expect(doc.database.reachable).toBe(true)
    expect(doc.database.serverVersion).toMatch(/^\d+/)
    expect(doc.database.migrations.current).toBe(true)
    expect(doc.database.tables).toHaveLength(11)
    const rows = Object.fromEntries(doc.database.tables.map((x: { table: string; rows: number }) => [x.table, x.rows]))
    expect(rows.portfolio_state).toBe(1)
    expect(rows.trades).toBe(0)
    expect(rows.system_metadata).toBe(6)
    const runs = Object.fromEntries(doc.database.lastRuns.map((x: { key: string; value: string }) => [x.key, x.value]))
    expect(runs.last_trade_execution).toBe('2025-03-01T12:00:00Z')
    expect(runs.last_custom_step).toBe('done')
    expect(runs.last_event_export).toBeNull()
    expect(Object.keys(runs)).toEqual(expect.arrayContaining(['last_event_export', 'last_market_filter', 'last_signal_generation', 'last_trade_execution']))

    const human = await run(['status', '--data-dir', dataDir, '--database-url', t.url, ...NO_ENV])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('portfolio_state')
    expect(human.stdout).toContain('last_custom_step')
  })
})
