/**
 * Crash safety: `prescient cycle` is SIGKILLed at random moments, in phases
 * 0, 3, 5 and 7, on the recorded snapshots, and after every kill the data dir
 * and the database must hold whole cycles only (see checkAfterKill in
 * _crash.ts for the exact invariants). The next run must recover the stale
 * lock by itself and leave JSON and the DB level (verify: 0 differences).
 *
 * Three kinds of kill: at a uniformly random moment of a typical cycle; at a
 * random moment after the JSON commit began (its first temp file appeared);
 * and at a random moment after the DB commit transaction began (seen by a TCP
 * proxy between the child and PostgreSQL). The last two aim at the windows
 * where a partial write could happen, which a uniform delay rarely hits.
 *
 * Default run: one kill of each kind per phase (10). PRESCIENT_FULL=1: 15 per phase (60).
 * PRESCIENT_CRASH_SEED replays a run (the seed is printed on failure).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { rmrf, tempDir, truncateAll } from './_cycle.ts'
import { BUN, FULL, assertLevel, checkAfterKill, dbFacts, jsonCommitTrigger, recordFigures, runChild, type KillOutcome, type KillTrigger } from './_crash.ts'
import { startProxy } from './_proxy.ts'
import { lockPath } from '../src/lock.ts'
import { logger } from '../src/logger.ts'
import { phaseRow } from '../src/phase.ts'
import { readBehind } from '../src/store/behind.ts'
import { JsonStore, journalPath } from '../src/store/json.ts'

/** default: one kill per mode (2 or 3 per phase, 10 in all); full: 15 per phase (60) */
const KILLS_OVERRIDE = process.env.PRESCIENT_CRASH_KILLS ? Number(process.env.PRESCIENT_CRASH_KILLS) : null
const SEED = Number(process.env.PRESCIENT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

/** mulberry32: a seeded [0,1) generator, so a failing run can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SOURCES = ['gamma_markets_active_2026-01-10.json', 'gamma_markets_active_2026-01-31.json']

type Mode = 'uniform' | 'json-commit' | 'db-commit'

interface Figures {
  kills: number
  byMode: Record<string, number>
  completedBeforeKill: number
  staleLocks: number
  journalsRolledForward: number
  temps: number
  lost: number
  violations: number
  landed: Record<string, number>
  windows: Record<string, Record<string, number>>
}
const figures: Figures = { kills: 0, byMode: {}, windows: {}, completedBeforeKill: 0, staleLocks: 0, journalsRolledForward: 0, temps: 0, lost: 0, violations: 0, landed: {} }

describe.skipIf(!dbAvailable || !fixturesAvailable)(`crash safety (seed ${SEED})`, () => {
  let t: TestDb
  const level = logger.level
  beforeAll(async () => {
    // the checks read the data dir the way the next run would, which finishes interrupted commits (a warning each)
    logger.level = 0
    t = await createTestDb('crash')
  })
  afterAll(async () => {
    logger.level = level
    await t?.drop()
    recordFigures('crash', { ...figures, seed: SEED })
  })

  for (const phase of [0, 3, 5, 7]) {
    test(
      `phase ${phase}: SIGKILL at random moments leaves whole cycles only, and the next run recovers`,
      async () => {
        const row = phaseRow(phase)
        const random = prng(SEED + phase)
        await truncateAll(t.sql)
        await t.sql`delete from system_metadata`
        const dir = tempDir(`crash${phase}`)
        // the child reaches PostgreSQL through a proxy, so the test sees its commit begin
        const proxy = startProxy(t.url)
        const dbCommit = (delayMs?: () => number): KillTrigger => ({ delayMs, arm: (fire) => proxy.observe(/lock_timeout/, fire) })
        const modes: Mode[] = ['uniform']
        if (row.jsonWrites.length) modes.push('json-commit')
        if (row.dbWrites.length) modes.push('db-commit')
        const target = KILLS_OVERRIDE ?? (FULL ? 15 : modes.length)
        let n = 0
        let clock = Date.parse('2026-01-10T12:00:00Z')
        const next = () => {
          clock += 5 * 3_600_000
          const source = fixture(SOURCES[n++ % SOURCES.length]!)
          const now = new Date(clock).toISOString()
          const args = ['cycle', '--phase', String(phase), '--source', source, '--now', now, '--data-dir', dir, '--json']
          if (row.dbWrites.length) args.push('--database-url', proxy.url(t.url))
          return { now, args }
        }
        const known = new Set<string>()
        const remember = (stdout: string) => {
          const report = JSON.parse(stdout) as { signals: { trade_id: string | null }[] }
          for (const s of report.signals) if (s.trade_id) known.add(s.trade_id)
        }
        const problems: string[] = []
        try {
          // two clean cycles: the state to protect, and how long a cycle and its commits take
          const windows: Record<Mode, number> = { uniform: 0, 'json-commit': 0, 'db-commit': 0 }
          let committed: string | null = null
          const calibrations: [Mode, KillTrigger | undefined][] = [
            ['json-commit', row.jsonWrites.length ? jsonCommitTrigger(dir) : undefined],
            ['db-commit', row.dbWrites.length ? dbCommit() : undefined],
          ]
          for (const [mode, trigger] of calibrations) {
            const c = next()
            const r = await runChild(c.args, { trigger })
            expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
            remember(r.stdout)
            committed = c.now
            windows.uniform = Math.max(windows.uniform, r.ms)
            if (trigger) windows[mode] = r.afterTriggerMs ?? 0
          }
          figures.windows[`phase ${phase}`] = Object.fromEntries(Object.entries(windows).map(([k, v]) => [k, Math.round(v)]))

          let kills = 0
          for (let attempt = 0; kills < target && attempt < target * 4; attempt++) {
            const mode = modes[kills % modes.length]!
            const victim = next()
            const delay = Math.round(random() * (windows[mode] || windows.uniform) * 10) / 10
            const r =
              mode === 'uniform'
                ? await runChild(victim.args, { killAfterMs: delay })
                : await runChild(victim.args, { trigger: mode === 'json-commit' ? jsonCommitTrigger(dir, () => delay) : dbCommit(() => delay) })
            const where = `${mode} kill +${delay} ms (${victim.now})`
            if (!r.killed) {
              // it finished before the kill: a completed cycle, not a kill
              if (r.code !== 0) problems.push(`${where}: the cycle exited ${r.code} unkilled: ${r.stderr.trim()}`)
              else remember(r.stdout)
              // the calibration run (the first of its kind) can take twice as long as the later ones:
              // aim the next kills within what this cycle actually took after the trigger
              if (mode !== 'uniform' && r.afterTriggerMs) windows[mode] = Math.min(windows[mode], r.afterTriggerMs)
              committed = victim.now
              figures.completedBeforeKill++
              continue
            }
            kills++
            const out: KillOutcome = await checkAfterKill({ dir, phase, sql: row.dbWrites.length ? t.sql : undefined, committedClock: committed, killedClock: victim.now, knownTrades: known })
            figures.kills++
            figures.byMode[mode] = (figures.byMode[mode] ?? 0) + 1
            figures.landed[out.landed] = (figures.landed[out.landed] ?? 0) + 1
            figures.lost += out.lost
            figures.temps += out.temps
            if (out.staleLock) figures.staleLocks++
            if (out.journal) figures.journalsRolledForward++
            for (const v of out.violations) problems.push(`${where}: ${v}`)

            // the next clean cycle: takes over a stale lock, catches up, and leaves both stores level
            const clean = next()
            const c = await runChild(clean.args)
            if (c.code !== 0) {
              problems.push(`${where}: the next cycle exited ${c.code}: ${c.stderr.trim()}`)
              continue
            }
            if (out.staleLock && !/stale lock/.test(c.stderr)) problems.push(`${where}: the stale lock was taken over silently: ${c.stderr}`)
            remember(c.stdout)
            committed = clean.now
            if (existsSync(lockPath(dir))) problems.push(`${where}: the lock is still held after a clean cycle`)
            if (row.jsonWrites.length && row.dbWrites.length) {
              if (readBehind(dir)) problems.push(`${where}: the "DB behind" marker is still set after a clean cycle`)
              for (const p of await assertLevel(dir, t.sql, t.url, phase)) problems.push(`${where}, after the next cycle: ${p}`)
            }
            if (row.dbWrites.length) {
              const f = await dbFacts(t.sql)
              if (f.clock !== clean.now) problems.push(`${where}: DB clock ${f.clock} after the clean cycle at ${clean.now}`)
              for (const id of known) if (!f.tradeIds.has(id)) problems.push(`${where}: trade ${id} missing from the DB`)
            }
          }
          expect(kills).toBe(target)
          expect(known.size).toBeGreaterThan(0)
        } finally {
          proxy.close()
          figures.violations += problems.length
          if (problems.length) console.error(`phase ${phase}, seed ${SEED}:\n  ${problems.join('\n  ')}`)
          rmrf(dir)
        }
        expect(problems).toEqual([])
      },
      (FULL ? 240 : 40) * 1000,
    )
  }
})

describe('the JSON commit journal', () => {
  const write = (p: string, s: string) => {
    mkdirSync(dirname(p), { recursive: true })
    writeFileSync(p, s)
  }
  function interrupted(dir: string, pid: number) {
    // a two-file commit killed after its first rename: portfolio.json is new, paper_trades.json old
    const portfolio = join(dir, 'trades/portfolio.json')
    const trades = join(dir, 'trades/paper_trades.json')
    write(portfolio, '{"new": true}')
    write(trades, '[]')
    const tmp = join(dir, 'trades/.paper_trades.json.1.beef.prescient-tmp')
    write(tmp, '["new"]')
    write(journalPath(dir), JSON.stringify({ pid, host: hostname(), renames: [[join(dir, 'trades/.portfolio.json.1.dead.prescient-tmp'), portfolio], [tmp, trades]] }))
    return { trades, tmp }
  }

  test('a commit cut between its renames is finished by the next reader', async () => {
    const dir = tempDir('journal')
    try {
      const dead = Bun.spawn([BUN, '-e', '0'])
      await dead.exited
      const { trades, tmp } = interrupted(dir, dead.pid)
      new JsonStore(dir)
      expect(readFileSync(trades, 'utf8')).toBe('["new"]')
      expect(existsSync(tmp)).toBe(false)
      expect(existsSync(journalPath(dir))).toBe(false)
    } finally {
      rmrf(dir)
    }
  })

  test("a journal whose writer is still running is left to it", async () => {
    const dir = tempDir('journal-live')
    const live = Bun.spawn([BUN, '-e', 'await Bun.sleep(10000)'])
    try {
      const { trades } = interrupted(dir, live.pid)
      new JsonStore(dir)
      expect(readFileSync(trades, 'utf8')).toBe('[]')
      expect(existsSync(journalPath(dir))).toBe(true)
    } finally {
      live.kill('SIGKILL')
      rmrf(dir)
    }
  })
})
