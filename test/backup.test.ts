/**
 * Backups you can trust: every format dumps, restores and reproduces the
 * manifest (rows and content hashes) and the stores' loads; damaged or
 * unmanifested dumps are refused before anything is touched; a database with
 * data is not overwritten without --force; --verify leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import postgres from 'postgres'
import { ADMIN_URL, connectTo, createTestDb, dbAvailable, dropDatabases, type TestDb } from './_db.ts'
import { snapshot } from './_contract.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { cfg, rmrf, tempDir } from './_cycle.ts'
import type { Sql } from '../src/db/client.ts'
import { finishHash, RowHashSum, tableInfo, tableStats } from '../src/backup/catalog.ts'
import { dumpName } from '../src/backup/files.ts'
import { findTool, installDirs, parseToolVersion, serverMajor } from '../src/backup/pgtools.ts'
import { Exit } from '../src/errors.ts'
import { acquireLock } from '../src/lock.ts'
import { PgStore } from '../src/store/postgres.ts'
import { runCycle } from '../src/trading/cycle.ts'
import { verify } from '../src/verify/index.ts'
import { runMain as run } from './_run.ts'


/** Everything the database holds, as the stores read it. */
const loads = (sql: Sql) => snapshot(new PgStore(sql))

const admin = () => postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
async function databases(like: string): Promise<string[]> {
  const a = admin()
  try {
    return (await a<{ d: string }[]>`select datname as d from pg_database where datname like ${like}`).map((r) => r.d)
  } finally {
    await a.end()
  }
}
describe('pg tools (pure)', () => {
  test('versions and install folders', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 16.4')).toMatchObject({ major: 16, minor: 4 })
    expect(parseToolVersion('psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n')).toMatchObject({ major: 15, minor: 20 })
    expect(parseToolVersion('pg_dump (PostgreSQL) 9.6.24')).toMatchObject({ major: 9.6, minor: 24 })
    expect(serverMajor(160004)).toBe(16)
    expect(serverMajor(90624)).toBe(9.6)
    const fake: Record<string, string[]> = { 'C:\\Program Files\\PostgreSQL': ['9.6', '16', 'pgAdmin 4', '13'], '/usr/lib/postgresql': ['15', '17', '9.6'] }
    expect(installDirs('win32', { ProgramFiles: 'C:\\Program Files' }, (d) => fake[d] ?? [])).toEqual([
      'C:\\Program Files\\PostgreSQL\\16\\bin',
      'C:\\Program Files\\PostgreSQL\\13\\bin',
      'C:\\Program Files\\PostgreSQL\\9.6\\bin',
    ])
    expect(installDirs('linux', {}, (d) => fake[d] ?? [])).toEqual(['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/9.6/bin'])
  })

  test('a tool older than needed is a configuration error naming what was found', async () => {
    const err = await findTool('pg_dump', 99).catch((e) => e)
    expect(err.exitCode).toBe(Exit.usage)
    expect(err.message).toMatch(/pg_dump 99 or newer is needed|pg_dump was not found/)
  })

  test('the streamed row hash sums exactly like bigint arithmetic, across its fold', () => {
    const sum = new RowHashSum()
    let ref = 0n
    const n = (1 << 20) + 3
    for (let i = 0; i < n; i++) {
      const line = Buffer.from(`[${i}]`)
      sum.add(line)
      ref += createHash('sha256').update(line).digest().readBigInt64BE(0)
    }
    expect(sum.rows).toBe(n)
    expect(sum.sum).toBe(ref)
    expect(finishHash(n, sum.sum)).toBe(createHash('md5').update(`${n}:${ref}`).digest('hex'))
  })
})

describe.skipIf(!dbAvailable || !fixturesAvailable)('dump and restore', () => {
  let src: TestDb
  let dataDir: string
  let out: string
  let before: Awaited<ReturnType<typeof loads>>
  const made: string[] = []
  const conn = (url: string) => ['--database-url', url, '--env-file', '/nonexistent/.env']
  const dumps: Record<string, string> = {}

  beforeAll(async () => {
    src = await createTestDb('backup')
    dataDir = tempDir('backup-data')
    out = tempDir('backup-out')
    await runCycle(cfg(dataDir, 4, src.url), { source: fixture('gamma_markets_active_2026-01-10.json') })
    await runCycle(cfg(dataDir, 4, src.url), { source: fixture('gamma_markets_active_2026-01-31.json') })
    before = await loads(src.sql)
    expect(before.trades.length).toBeGreaterThan(0)
  })
  afterAll(async () => {
    await src?.drop()
    await dropDatabases(...made)
    rmrf(dataDir)
    rmrf(out)
  })

  for (const format of ['json', 'sql', 'custom'] as const) {
    test(`${format}: dump, restore into a new database: manifest, loads and verify all match`, async () => {
      const d = await run(['dump', '--format', format, '--out', out, '--json', ...conn(src.url)])
      expect(d.stderr).toBe('')
      expect(d.code).toBe(0)
      const doc = JSON.parse(d.stdout)
      const file: string = doc.dump.path
      dumps[format] = file
      expect(file).toMatch(new RegExp(`prescient_${src.name}_\\d{8}T\\d{6}Z\\.${{ json: 'jsonl\\.gz', sql: 'sql', custom: 'dump' }[format]}$`))
      const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8'))
      expect(manifest.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
      expect(Object.keys(manifest.tables).length).toBe(12)
      expect(manifest.schema_version).toBe(2)
      // the manifest describes the source exactly (for json the hashes were computed while streaming)
      expect(manifest.tables).toEqual(await tableStats(src.sql, await tableInfo(src.sql)))

      const target = `${src.name}_r_${format}`
      made.push(target)
      const r = await run(['restore', file, '--database', target, '--yes', '--json', ...conn(src.url)])
      expect(r.code).toBe(0)
      const rep = JSON.parse(r.stdout)
      expect(rep).toMatchObject({ ok: true, created: true, database: target, rolled_back: false })
      expect(rep.tables.every((t: { hash_ok: boolean }) => t.hash_ok)).toBe(true)
      const t = connectTo(target)
      try {
        expect(await tableStats(t, await tableInfo(t))).toEqual(manifest.tables)
        expect(await loads(t)).toEqual(before)
        expect((await verify(t, dataDir)).equal).toBe(true)
        // serial ids were kept, and the sequences continue after them
        const [s] = await t<{ next: number; max: number }[]>`select nextval(pg_get_serial_sequence('trades', 'id'))::int as next, (select max(id) from trades)::int as max`
        expect(s!.next).toBe(s!.max + 1)
      } finally {
        await t.end()
      }
    })
  }

  test('--verify restores into a scratch database, compares, and drops it', async () => {
    for (const format of ['json', 'custom']) {
      const r = await run(['restore', dumps[format]!, '--verify', '--json', ...conn(src.url)])
      expect(r.code).toBe(0)
      const rep = JSON.parse(r.stdout)
      expect(rep).toMatchObject({ ok: true, verify: true, dropped: true })
      expect(rep.tables.length).toBe(12)
    }
    process.env.PRESCIENT_BACKUP_DIR = out
    try {
      const r = await run(['restore', 'latest', '--verify', '--json', ...conn(src.url)])
      expect(r.code).toBe(0)
      expect(Object.values(dumps)).toContain(JSON.parse(r.stdout).file)
    } finally {
      delete process.env.PRESCIENT_BACKUP_DIR
    }
    expect(await databases(`${src.name}_verify_%`)).toEqual([])
  })

  test('dump --prune keeps the policy set of this database only; --dry-run deletes nothing', async () => {
    const dir = tempDir('backup-prune')
    try {
      const old = ['2025-01-01T02:00:00Z', '2025-06-01T02:00:00Z', '2025-06-02T02:00:00Z'].map((t) => dumpName(src.name, 'json', new Date(t)))
      for (const n of old) {
        writeFileSync(join(dir, n), '')
        writeFileSync(join(dir, `${n}.manifest.json`), '{}')
      }
      writeFileSync(join(dir, dumpName('someone_else', 'json', new Date('2025-01-01T02:00:00Z'))), '')
      const dry = await run(['dump', '--out', dir, '--prune', '--dry-run', '--keep-daily', '1', '--keep-weekly', '0', '--json', ...conn(src.url)])
      expect(dry.code).toBe(0)
      expect(JSON.parse(dry.stdout).prune.deleted).toEqual([old[1], old[0]])
      expect(readdirSync(dir).length).toBe(7)
      const r = await run(['dump', '--out', dir, '--prune', '--keep-daily', '1', '--keep-weekly', '0', '--json', ...conn(src.url)])
      expect(r.code).toBe(0)
      const doc = JSON.parse(r.stdout)
      expect(doc.prune.deleted).toEqual([old[2], old[1], old[0]])
      expect(doc.prune.kept).toEqual([{ file: basename(doc.dump.path), reasons: ['newest', expect.stringMatching(/^daily /)] }])
      expect(readdirSync(dir).sort()).toEqual([basename(doc.dump.path), `${basename(doc.dump.path)}.manifest.json`, dumpName('someone_else', 'json', new Date('2025-01-01T02:00:00Z'))].sort())
      const bad = await run(['dump', '--out', dir, '--keep-daily', '3', ...conn(src.url)])
      expect(bad.code).toBe(2)
    } finally {
      rmrf(dir)
    }
  })

  test('a role without CREATEDB is told to pass --admin-url, and with it --verify works', async () => {
    const role = `prescient_t_nocreate_${src.name.slice(-6)}`
    const a = admin()
    await a.unsafe(`create role "${role}" login nocreatedb`)
    try {
      const url = new URL(src.url)
      url.username = role
      const r = await run(['restore', dumps.json!, '--verify', ...conn(url.toString())])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('cannot create database')
      const ok = await run(['restore', dumps.json!, '--verify', '--admin-url', ADMIN_URL, '--json', ...conn(url.toString())])
      expect(ok.code).toBe(0)
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, dropped: true })
    } finally {
      await a.unsafe(`drop role if exists "${role}"`)
      await a.end()
    }
  })

  test('a damaged dump or a missing manifest is refused before anything is touched', async () => {
    const bad = join(out, 'prescient_x_20260101T000000Z.jsonl.gz')
    const bytes = readFileSync(dumps.json!)
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    writeFileSync(bad, bytes)
    copyFileSync(`${dumps.json}.manifest.json`, `${bad}.manifest.json`)
    for (const extra of [['--database', `${src.name}_never`, '--yes'], ['--verify']]) {
      const r = await run(['restore', bad, ...extra, ...conn(src.url)])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(bad)
      expect(r.stderr).toContain('sha256')
    }
    const lone = join(out, 'prescient_y_20260101T000000Z.dump')
    copyFileSync(dumps.custom!, lone)
    const r = await run(['restore', lone, '--database', `${src.name}_never`, '--yes', ...conn(src.url)])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${lone}: its manifest`)
    expect(await databases(`${src.name}_never`)).toEqual([])
    expect(await databases(`${src.name}_verify_%`)).toEqual([])
  })

  test('a database holding data is refused without --force (exit 2), replaced with it', async () => {
    const r = await run(['restore', dumps.sql!, '--yes', '--data-dir', dataDir, ...conn(src.url)])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('already holds data')
    // the restore takes the cycle lock of the data dir: a cycle cannot run meanwhile
    const held = acquireLock(dataDir, 'cycle')
    const locked = await run(['restore', dumps.sql!, '--yes', '--force', '--data-dir', dataDir, ...conn(src.url)])
    held.release()
    expect(locked.code).toBe(Exit.locked)
    const f = await run(['restore', dumps.sql!, '--yes', '--force', '--data-dir', dataDir, ...conn(src.url)])
    expect(f.code).toBe(0)
    expect(await loads(src.sql)).toEqual(before)
  })

  test('a bad row in a consistent json dump fails cleanly: rolled back, no aborted session left', async () => {
    const text = gunzipSync(readFileSync(dumps.json!)).toString('utf8').split('\n')
    const i = text.findIndex((l, n) => n > 0 && l.startsWith('[') && text.slice(0, n).reverse().find((x) => x.startsWith('{'))!.includes('"table":"trades"'))
    text[i] = text[i]!.replace(/^\["(\d+)",/, '["not a number",')
    const file = join(out, `prescient_${src.name}_20250101T000000Z.jsonl.gz`)
    const gz = gzipSync(Buffer.from(text.join('\n')))
    writeFileSync(file, gz)
    const m = JSON.parse(readFileSync(`${dumps.json}.manifest.json`, 'utf8'))
    writeFileSync(`${file}.manifest.json`, JSON.stringify({ ...m, bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex') }))
    const target = `${src.name}_r_json`
    const r = await run(['restore', file, '--database', target, '--yes', '--force', ...conn(src.url)])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('invalid input syntax for type integer')
    const t = connectTo(target)
    try {
      expect(await loads(t)).toEqual(before)
    } finally {
      await t.end()
    }
    const a = admin()
    const aborted = await a`select count(*)::int as n from pg_stat_activity where datname = ${target} and state like 'idle in transaction%'`
    await a.end()
    expect(aborted[0]!.n).toBe(0)
  })

  test('emergency: the database is gone; restore recreates it from the json dump', async () => {
    const url = src.url
    await src.sql.end()
    await dropDatabases(src.name)
    const r = await run(['restore', dumps.json!, '--yes', '--data-dir', dataDir, ...conn(url)])
    expect(r.code).toBe(0)
    const t = connectTo(src.name)
    try {
      expect(await loads(t)).toEqual(before)
    } finally {
      await t.end()
    }
  })
})
