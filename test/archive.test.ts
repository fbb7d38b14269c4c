import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { archiveCandidates, checkArchive, removeOriginals, writeArchive, type Manifest } from '../src/archive.ts'
import { TarScanner, padding, tarHeader, tarTrailer } from '../src/tar.ts'
import { jsonFiles, rmrf, tempDir } from './_cycle.ts'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { runMain as run } from './_run.ts'


const NO_ENV = ['--env-file', '/nonexistent/.env']
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')
const tarList = (p: string) => spawnSync('tar', ['-tzf', p], { encoding: 'utf8' }).stdout.trim().split('\n').sort()
/** A port nothing listens on: phase 7 needs a database configured, and --force never connects. */
const DEAD_DB = ['--database-url', 'postgres://nobody@127.0.0.1:9/none']

let root: string
async function cycledDataDir(name: string, extra: string[] = []): Promise<string> {
  const dir = join(root, name)
  const r = await run(['cycle', '--source', 'sample', '--data-dir', dir, ...NO_ENV, ...extra])
  expect(r.code).toBe(0)
  return dir
}

beforeAll(() => {
  root = tempDir('archive')
})
afterAll(() => rmrf(root))

describe('archive --force (no database)', () => {
  test('a .tar.gz of exactly the JSON files, with a manifest whose hashes match, listed by tar -tzf', async () => {
    const dir = await cycledDataDir('plain')
    writeFileSync(join(dir, 'history/signals_archive_2001-01.json'), '[]\n') // every month is archived
    mkdirSync(join(dir, 'logs'), { recursive: true })
    writeFileSync(join(dir, 'logs/prescient-2001-01-01.log'), 'not archived\n')
    const expected = jsonFiles(dir) // all JSON files outside .prescient/ and logs/
    expect(expected).toContain('trades/paper_trades.json')
    expect(expected).toContain('history/signals_archive_2001-01.json')
    expect(existsSync(join(dir, '.prescient/metadata.json'))).toBe(true)

    const out = join(root, 'out-plain')
    const r = await run(['archive', '--force', '--json', '--data-dir', dir, '--out', out, ...NO_ENV])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    const manifest: Manifest = JSON.parse(readFileSync(doc.manifestPath, 'utf8'))
    expect(doc.manifestPath).toBe(`${doc.path}.sha256.json`)
    expect(readdirSync(out).sort()).toEqual([manifest.archive, `${manifest.archive}.sha256.json`])
    expect(manifest.verify).toEqual({ checked: false, reason: '--force' })
    expect(manifest.files.map((f) => f.path).sort()).toEqual(expected)
    for (const f of manifest.files) {
      expect(f.sha256).toBe(sha(join(dir, f.path)))
      expect(f.size).toBe(readFileSync(join(dir, f.path)).length)
    }
    expect(manifest.sha256).toBe(sha(doc.path))
    expect(tarList(doc.path)).toEqual(expected)

    const x = join(root, 'extracted')
    mkdirSync(x)
    expect(spawnSync('tar', ['-xzf', doc.path, '-C', x]).status).toBe(0)
    for (const f of expected) expect(sha(join(x, f))).toBe(sha(join(dir, f)))
    expect(existsSync(join(dir, 'trades/paper_trades.json'))).toBe(true) // originals stay without --remove
  })

  test('without --force and without a database: refused, exit 2, nothing written', async () => {
    const dir = await cycledDataDir('nodb')
    const out = join(root, 'out-nodb')
    const r = await run(['archive', '--data-dir', dir, '--out', out, ...NO_ENV])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--force')
    expect(existsSync(out)).toBe(false)
  })
})

describe('archive --remove', () => {
  test('refused below phase 7, where the JSON files are still used', async () => {
    const dir = await cycledDataDir('phase0')
    const r = await run(['archive', '--force', '--remove', '--yes', '--data-dir', dir, '--out', join(root, 'out-p0'), ...NO_ENV])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('phase 0')
    expect(jsonFiles(dir).length).toBeGreaterThan(3)
  })

  test('phase 7: deletes the originals after checking the archive, which restores them byte for byte', async () => {
    const dir = await cycledDataDir('phase7')
    const before = Object.fromEntries(jsonFiles(dir).map((f) => [f, sha(join(dir, f))]))
    const noYes = await run(['archive', '--force', '--remove', '--phase', '7', '--data-dir', dir, '--out', join(root, 'out-p7'), ...NO_ENV, ...DEAD_DB])
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('--yes')
    const r = await run(['archive', '--force', '--remove', '--yes', '--json', '--phase', '7', '--data-dir', dir, '--out', join(root, 'out-p7'), ...NO_ENV, ...DEAD_DB])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.removed.sort()).toEqual(Object.keys(before))
    expect(jsonFiles(dir)).toEqual([])
    expect(existsSync(join(dir, '.prescient/metadata.json'))).toBe(true)
    const x = join(root, 'restored')
    mkdirSync(x)
    expect(spawnSync('tar', ['-xzf', doc.path, '-C', x]).status).toBe(0)
    expect(Object.fromEntries(jsonFiles(x).map((f) => [f, sha(join(x, f))]))).toEqual(before)
  })

  test('nothing is removed when the archive is damaged or an original changed after archiving', async () => {
    const dir = await cycledDataDir('guard')
    const files = archiveCandidates(dir)
    const verify = { checked: false, reason: 'test' } as const
    const a = await writeArchive(dir, files, { outDir: join(root, 'out-guard'), phase: 7, verify, now: new Date(2030, 0, 1) })
    writeFileSync(join(dir, 'trades/portfolio.json'), readFileSync(join(dir, 'trades/portfolio.json'), 'utf8') + ' ')
    await expect(removeOriginals(dir, a.path, a.manifest)).rejects.toThrow(/portfolio\.json changed after it was archived/)
    expect(jsonFiles(dir).length).toBe(files.length)

    const b = await writeArchive(dir, files, { outDir: join(root, 'out-guard'), phase: 7, verify, now: new Date(2030, 0, 2) })
    const bytes = readFileSync(b.path)
    bytes[bytes.length - 12]! ^= 0xff
    writeFileSync(b.path, bytes)
    expect((await checkArchive(b.path, b.manifest)).length).toBeGreaterThan(0)
    await expect(removeOriginals(dir, b.path, b.manifest)).rejects.toThrow(/not removing anything/)
    expect(jsonFiles(dir).length).toBe(files.length)
  })
})

describe('the tar writer', () => {
  test('long paths use the ustar prefix; GNU tar and our reader agree', () => {
    const name = `${'deep/'.repeat(30)}file.json`
    const body = Buffer.from('{"x":1}\n')
    const tar = Buffer.concat([tarHeader({ name, size: body.length, mtime: new Date(0) }), body, padding(body.length), tarTrailer(512 + 512)])
    expect(tar.length % 10240).toBe(0)
    const path = join(root, 'long.tar.gz')
    writeFileSync(path, gzipSync(tar))
    expect(tarList(path)).toEqual([name])
    const s = new TarScanner()
    for (let i = 0; i < tar.length; i += 100) s.push(tar.subarray(i, i + 100)) // any chunking
    expect(s.finish()).toEqual([{ name, size: body.length, type: '0', sha256: createHash('sha256').update(body).digest('hex') }])
  })
})

describe.skipIf(!dbAvailable)('archive checks verify against PostgreSQL', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await createTestDb('archive')
  })
  afterAll(async () => {
    await db?.drop()
  })

  test('verify not clean (the database is empty): refused with exit 3, nothing written', async () => {
    const dir = await cycledDataDir('dirty')
    const out = join(root, 'out-dirty')
    const r = await run(['archive', '--data-dir', dir, '--out', out, '--database-url', db.url, ...NO_ENV])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('difference')
    expect(existsSync(out)).toBe(false)
  })

  test('verify clean after a phase 4 cycle: archived without --force, recorded in the manifest', async () => {
    const dir = await cycledDataDir('clean', ['--phase', '4', '--database-url', db.url])
    const r = await run(['archive', '--json', '--data-dir', dir, '--out', join(root, 'out-clean'), '--database-url', db.url, ...NO_ENV])
    if (r.code !== 0) console.error(r.stderr)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).manifest.verify).toEqual({ checked: true, differences: 0, database: db.name })
  })
})
