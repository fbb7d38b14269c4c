/**
 * One writer per data dir. Two cycles at once: exactly one runs, the other
 * exits 4 with one clear line. A lock left by a killed process is taken over.
 * Import, sync, verify and archive refuse (exit 4) while a cycle holds the
 * lock, and a cycle refuses while one of them does, so writes never interleave.
 *
 * The cycle that holds the lock is a real child process whose Gamma API (a
 * local Bun.serve) answers only when the test says so: the overlap is certain,
 * not a matter of timing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { jsonFiles, rmrf, rowCounts, tempDir } from './_cycle.ts'
import { BUN, CLI, FULL, childEnv, hashTree, recordFigures, runChild, runMain } from './_crash.ts'
import { commands } from '../commands/index.ts'
import { acquireLock, lockPath } from '../src/lock.ts'
import { logger } from '../src/logger.ts'

const figures = { races: 0, refusedWithExit4: 0, staleLocksRecovered: 0 }

/** Exactly one [error] line and no stack trace. */
function oneClearError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => /\[error\]/.test(l))
  expect(lines.length).toBe(1)
  expect(stderr).not.toMatch(/^\s+at .+:\d+/m)
  return lines[0]!
}

/** A Gamma API on 127.0.0.1 that holds every request until release(). */
function holdingApi(respond: () => Response) {
  const waiting: (() => void)[] = []
  let arrived: () => void = () => {}
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch() {
      arrived()
      await new Promise<void>((r) => waiting.push(r))
      return respond()
    },
  })
  const release = () => {
    for (const r of waiting.splice(0)) r()
  }
  return {
    url: `http://127.0.0.1:${server.port}`,
    /** Resolves when the next request arrives: take it before starting the client. */
    next: () => new Promise<void>((r) => (arrived = r)),
    release,
    stop() {
      release()
      server.stop(true)
    },
  }
}

describe.skipIf(!fixturesAvailable)('one cycle at a time', () => {
  const events = JSON.parse(readFileSync(fixture('gamma_markets_active_2026-01-31.json'), 'utf8')) as Record<string, unknown>[]
  // a /markets-shaped list is accepted by /events parsing only as events; serve one synthetic event per market
  const api = holdingApi(() => Response.json(events.slice(0, 50).map((m) => ({ id: `ev-${String(m.id)}`, title: String(m.question), liquidity: 50000, markets: [m] }))))
  const release = api.release
  const level = logger.level
  beforeAll(() => {
    logger.level = 0
  })
  afterAll(() => {
    logger.level = level
    api.stop()
    recordFigures('concurrency', figures)
  })

  /** Start a cycle in a child process and resolve once it holds the lock and waits on the API. */
  async function holdingCycle(dir: string, extra: string[] = []) {
    const reached = api.next()
    const proc = Bun.spawn([BUN, CLI, 'cycle', '--phase', '0', '--source', 'api', '--now', '2026-01-31T18:00:00Z', '--data-dir', dir, '--json', ...extra], {
      env: childEnv({ GAMMA_API_URL: api.url, PRESCIENT_GAMMA_TIMEOUT_MS: '20000', PRESCIENT_GAMMA_RETRIES: '0' }),
      stdout: 'pipe',
      stderr: 'pipe',
    })
    await Promise.race([reached, Bun.sleep(15_000).then(() => Promise.reject(new Error('the holding cycle never reached the API')))])
    expect(existsSync(lockPath(dir))).toBe(true)
    return {
      proc,
      async finish() {
        release()
        const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
        return { code: await proc.exited, stdout, stderr }
      },
    }
  }

  test('two cycles at once: exactly one runs, the other exits 4 with one clear line and writes nothing', async () => {
    const dir = tempDir('conc-two')
    try {
      const a = await holdingCycle(dir)
      const before = hashTree(dir)
      const b = await runChild(['cycle', '--phase', '0', '--source', fixture('gamma_markets_active_2026-01-10.json'), '--data-dir', dir])
      figures.races++
      expect(b.code).toBe(4)
      expect(oneClearError(b.stderr)).toMatch(/another cycle holds the lock \(pid \d+/)
      expect(b.stdout).toBe('')
      expect(hashTree(dir)).toEqual(before)
      figures.refusedWithExit4++
      const done = await a.finish()
      expect(done.code).toBe(0)
      expect(JSON.parse(done.stdout).stats.executed).toBeGreaterThan(0)
      expect(existsSync(lockPath(dir))).toBe(false)
    } finally {
      release()
      rmrf(dir)
    }
  }, 30_000)

  test(`${FULL ? 8 : 3} cycles started together: one runs, the rest exit 4`, async () => {
    const dir = tempDir('conc-many')
    try {
      const a = await holdingCycle(dir)
      const n = FULL ? 7 : 2
      const others = await Promise.all(Array.from({ length: n }, () => runChild(['cycle', '--phase', '0', '--source', 'sample', '--data-dir', dir])))
      figures.races += n
      expect(others.map((o) => o.code)).toEqual(Array(n).fill(4))
      figures.refusedWithExit4 += n
      expect((await a.finish()).code).toBe(0)
    } finally {
      release()
      rmrf(dir)
    }
  }, 60_000)

  test('a lock left by a killed cycle is taken over by the next run, with a warning', async () => {
    const dir = tempDir('conc-stale')
    try {
      const a = await holdingCycle(dir)
      a.proc.kill('SIGKILL')
      await a.proc.exited
      release()
      expect(existsSync(lockPath(dir))).toBe(true)
      const next = await runChild(['cycle', '--phase', '0', '--source', 'sample', '--data-dir', dir])
      expect(next.code).toBe(0)
      expect(next.stderr).toMatch(/recovering a stale lock left by pid \d+/)
      expect(existsSync(lockPath(dir))).toBe(false)
      figures.staleLocksRecovered++
    } finally {
      rmrf(dir)
    }
  }, 30_000)

  const writeLock = (dir: string, info: unknown) => {
    mkdirSync(dirname(lockPath(dir)), { recursive: true })
    writeFileSync(lockPath(dir), typeof info === 'string' ? info : JSON.stringify(info))
  }

  test('stale locks of every kind: empty, torn JSON, over two hours old on another host', async () => {
    const cases: [string, unknown][] = [
      ['empty (killed between create and write)', ''],
      ['torn JSON', '{"pid": 12'],
      ['another host, 3 h old', { pid: 1, host: 'elsewhere', started_at: new Date(Date.now() - 3 * 3_600_000).toISOString(), command: 'cycle' }],
    ]
    for (const [what, info] of cases) {
      const dir = tempDir('conc-kinds')
      try {
        writeLock(dir, info)
        const r = await runMain(['cycle', '--phase', '0', '--source', 'sample', '--data-dir', dir])
        expect({ what, code: r.code }).toEqual({ what, code: 0 })
        figures.staleLocksRecovered++
      } finally {
        rmrf(dir)
      }
    }
  })

  test('a fresh lock from another host is respected (its process cannot be checked): exit 4', async () => {
    const dir = tempDir('conc-host')
    try {
      writeLock(dir, { pid: 4242, host: 'other-machine', started_at: new Date().toISOString(), command: 'cycle' })
      const r = await runMain(['cycle', '--phase', '0', '--source', 'sample', '--data-dir', dir])
      expect(r.code).toBe(4)
      expect(oneClearError(r.stderr)).toContain('other-machine')
      expect(jsonFiles(dir)).toEqual([])
    } finally {
      rmrf(dir)
    }
  })

  test('a cycle refuses while an import (or sync, verify, archive) holds the lock', async () => {
    const dir = tempDir('conc-import')
    try {
      for (const holder of ['import', 'sync', 'verify', 'archive']) {
        const lock = acquireLock(dir, holder)
        try {
          const r = await runMain(['cycle', '--phase', '0', '--source', 'sample', '--data-dir', dir])
          expect({ holder, code: r.code }).toEqual({ holder, code: 4 })
          expect(oneClearError(r.stderr)).toContain(`another ${holder} holds the lock (pid ${process.pid}`)
          expect(jsonFiles(dir)).toEqual([])
          figures.refusedWithExit4++
        } finally {
          lock.release()
        }
      }
      expect(existsSync(lockPath(dir))).toBe(false)
    } finally {
      rmrf(dir)
    }
  })
})

describe.skipIf(!dbAvailable || !fixturesAvailable)('no other writer while a cycle runs', () => {
  let t: TestDb
  let dir: string
  const api = holdingApi(() => new Response('down', { status: 503 }))
  beforeAll(async () => {
    t = await createTestDb('conc')
    dir = tempDir('conc-db')
    // some state to import and verify
    expect((await runMain(['cycle', '--phase', '3', '--source', fixture('gamma_markets_active_2026-01-10.json'), '--data-dir', dir, '--database-url', t.url])).code).toBe(0)
  })
  afterAll(async () => {
    api.stop()
    await t?.drop()
    rmrf(dir)
  })

  const others: [string, string[]][] = [
    ['import', ['import', '--all', '--data-dir', '{dir}', '--database-url', '{url}']],
    ['sync', ['sync', '--phase', '3', '--data-dir', '{dir}', '--database-url', '{url}']],
    ['verify', ['verify', '--data-dir', '{dir}', '--database-url', '{url}']],
  ]
  for (const [name, argv] of others) {
    const present = name in commands
    const run = present ? test : test.todo
    run(`\`prescient ${name}\` during a cycle refuses with exit 4 and changes nothing${present ? '' : ' (command not registered yet)'}`, async () => {
      const reached = api.next()
      const proc = Bun.spawn([BUN, CLI, 'cycle', '--phase', '3', '--source', 'api', '--data-dir', dir, '--database-url', t.url], {
        env: childEnv({ GAMMA_API_URL: api.url, PRESCIENT_GAMMA_TIMEOUT_MS: '20000', PRESCIENT_GAMMA_RETRIES: '0' }),
        stdout: 'ignore',
        stderr: 'ignore',
      })
      try {
        await reached
        const files = hashTree(dir, { skip: (p) => p.startsWith('.prescient/') })
        const rows = await rowCounts(t.sql)
        const r = await runMain(argv.map((a) => a.replace('{dir}', dir).replace('{url}', t.url)))
        figures.refusedWithExit4++
        expect(r.code).toBe(4)
        expect(oneClearError(r.stderr)).toMatch(/another cycle holds the lock/)
        expect(hashTree(dir, { skip: (p) => p.startsWith('.prescient/') })).toEqual(files)
        expect(await rowCounts(t.sql)).toEqual(rows)
      } finally {
        api.release()
        await proc.exited
      }
    }, 30_000)
  }
})
