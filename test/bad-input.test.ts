/**
 * The bad-input corpus (test/fixtures/bad/, made by scripts/make-bad-corpus.ts):
 * every case runs in-process through main() and must give its exit code and ONE
 * clear error line naming the file and the JSON path (or the flag), with no stack
 * trace, and change no JSON file and no table. Bad records inside a good source are
 * skipped and reported instead (exit 0, `rejects` in `cycle --json`).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ADMIN_URL, createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { REPO } from './_fixtures.ts'
import { rmrf, rowCounts, tempDir } from './_cycle.ts'
import { hashTree, recordFigures, runMain } from './_crash.ts'
import { logger } from '../src/logger.ts'
import type { Expect } from '../scripts/make-bad-corpus.ts'

const CORPUS = resolve(REPO, 'test/fixtures/bad')

const cases = readdirSync(CORPUS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => ({ name: e.name, expect: JSON.parse(readFileSync(join(CORPUS, e.name, 'expect.json'), 'utf8')) as Expect }))
const needsDb = (e: Expect) => JSON.stringify(e).includes('{db}') || JSON.stringify(e).includes('{admin}')
const figures = { cases: 0, passed: 0, fatal: 0, recordRejects: 0 }

test('the corpus has at least 30 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30)
})

describe('bad input', () => {
  let t: TestDb | undefined
  const level = logger.level
  beforeAll(async () => {
    // the level a user sees: errors, warnings and the hints under them
    logger.level = 3
    if (dbAvailable) t = await createTestDb('badinput')
  })
  afterAll(async () => {
    logger.level = level
    await t?.drop()
    recordFigures('bad-input', figures)
  })

  for (const c of cases) {
    const e = c.expect
    test.skipIf(needsDb(e) && !dbAvailable)(`${c.name}: ${e.about} -> exit ${e.exit}`, async () => {
      const work = tempDir(`bad-${c.name}`)
      try {
        cpSync(join(CORPUS, c.name), work, { recursive: true })
        const data = join(work, 'data')
        const sub = (s: string) => s.replaceAll('{data}', data).replaceAll('{case}', work).replaceAll('{db}', t?.url ?? '').replaceAll('{admin}', ADMIN_URL)
        const args = e.args.map(sub)
        const env = Object.fromEntries(Object.entries(e.env ?? {}).map(([k, v]) => [k, sub(v)]))
        const skip = (p: string) => p.startsWith('.prescient/')
        const files = hashTree(data, { skip })
        const rows = t ? await rowCounts(t.sql) : null
        figures.cases++

        const r = await runMain(args, env)
        try {
          expect({ exit: r.code, stderr: r.code === e.exit ? '' : r.stderr }).toEqual({ exit: e.exit, stderr: '' })
          expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
          if (e.exit !== 0) {
            const lines = r.stderr.split('\n')
            const errors = lines.filter((l) => l.includes('[error]'))
            expect(errors.length).toBe(1)
            // the message, and the hint printed right under it (which may name the flag to change)
            const at = lines.indexOf(errors[0]!)
            const line = /\[info\]/.test(lines[at + 1] ?? '') ? `${errors[0]} ${lines[at + 1]}` : errors[0]!
            if (e.message) expect(line).toMatch(new RegExp(e.message, 'i'))
            if (e.path) expect(line).toContain(e.path)
            if (e.file) expect(line).toContain(e.file)
            expect(r.stdout).toBe('')
            figures.fatal++
          }
          if (e.rejects) {
            const report = JSON.parse(r.stdout) as { rejects: { id: string | null; where: string; reason: string }[] }
            expect(report.rejects.length).toBe(e.rejects.length)
            for (const want of e.rejects) {
              const hit = report.rejects.find((x) => x.id === want.id && x.where.endsWith(want.where) && x.where.includes('source.json') && new RegExp(want.reason, 'i').test(x.reason))
              expect({ want, got: hit ? 'found' : report.rejects }).toEqual({ want, got: 'found' })
            }
            figures.recordRejects += e.rejects.length
          }
          if (e.unchanged !== false) {
            expect(hashTree(data, { skip })).toEqual(files)
            if (t && rows) expect(await rowCounts(t.sql)).toEqual(rows)
          }
          figures.passed++
        } finally {
          if (e.cleanup) await cleanup(e.cleanup)
        }
      } finally {
        rmrf(work)
      }
    })
  }

  test.skipIf(!dbAvailable)('setup with quoted names created exactly those names, and nothing else', async () => {
    const setupCase = cases.find((c) => c.name === 'setup-names-with-quotes')
    expect(setupCase).toBeDefined()
    // the case above dropped them again; prove the quoting by the names themselves
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
    try {
      const dbs = await admin`select datname from pg_database where datname like 'bad "db"%' or datname = 'x'`
      expect([...dbs]).toEqual([])
    } finally {
      await admin.end()
    }
  })
})

async function cleanup(c: NonNullable<Expect['cleanup']>) {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    for (const d of c.databases ?? []) {
      const [row] = await admin`select 1 from pg_database where datname = ${d}`
      expect(row).toBeDefined()
      await admin`drop database if exists ${admin(d)} with (force)`
    }
    for (const role of c.roles ?? []) {
      const [row] = await admin`select rolsuper, rolcreaterole from pg_roles where rolname = ${role}`
      expect(row).toEqual({ rolsuper: false, rolcreaterole: false })
      await admin`drop owned by ${admin(role)}`.catch(() => {})
      await admin`drop role if exists ${admin(role)}`
    }
  } finally {
    await admin.end()
  }
}

test('every case folder has what its expect.json uses', () => {
  for (const c of cases) {
    const s = JSON.stringify(c.expect)
    if (s.includes('{case}/source.json')) expect({ c: c.name, ok: existsSync(join(CORPUS, c.name, 'source.json')) }).toEqual({ c: c.name, ok: true })
    if (s.includes('{case}/.env')) expect({ c: c.name, ok: existsSync(join(CORPUS, c.name, '.env')) }).toEqual({ c: c.name, ok: true })
  }
})
