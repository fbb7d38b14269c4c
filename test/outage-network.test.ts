/**
 * Network failures, end to end through `prescient cycle` (in-process, via main):
 *  - PostgreSQL behind a TCP proxy (test/_proxy.ts) that is cut before the cycle,
 *    while it reads, when its commit begins, and after COMMIT was sent (the reply is
 *    lost). Phases 1-5 finish on JSON, exit 0 with a warning, and the next cycle
 *    with the link back leaves the database level (verify: 0 differences).
 *    Phases 6-7 exit 5, write no JSON, and never trade twice on a lost reply.
 *  - The Gamma API served by a local Bun.serve that fails in every way seen in
 *    the wild: retries with backoff, then the last raw_events_backup.json with a
 *    warning, or exit 1 with one clear line; never a half-written state.
 * PRESCIENT_FULL=1 repeats the mid-cycle cuts in every phase 1-5, and (only under
 * scripts/full-reliability.sh, PRESCIENT_PG_STOP=1) stops the real server mid-run.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { fixture, fixturesAvailable } from './_fixtures.ts'
import { jsonFiles, rmrf, rowCounts, tempDir, truncateAll } from './_cycle.ts'
import { FULL, assertLevel, hashTree, recordFigures, runMain } from './_crash.ts'
import { startProxy, type TcpProxy } from './_proxy.ts'
import { phaseRow } from '../src/phase.ts'
import { readBehind } from '../src/store/behind.ts'
import { JsonStore } from '../src/store/json.ts'

const SNAP_A = 'gamma_markets_active_2026-01-10.json'
const SNAP_B = 'gamma_markets_active_2026-01-31.json'
const figures = { dbOutages: 0, dbOutagesSurvived: 0, apiFailures: 0, apiFailuresHandled: 0, halfWritten: 0 }

interface CycleJson {
  storage: { db: string; read_fallbacks: number }
  warnings: string[]
  fallback: { reason: string; from: string } | null
  signals: { trade_id: string | null; market_id: string }[]
  stats: { executed: number; events_in: number; markets_in: number }
}

const parse = (stdout: string) => JSON.parse(stdout) as CycleJson
/** One clear line: exactly one [error] line, no stack frame. */
function oneClearError(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => /\[error\]|ERROR/.test(l))
  expect(errors.length).toBe(1)
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  return errors[0]!
}

describe.skipIf(!dbAvailable || !fixturesAvailable)('PostgreSQL link failures', () => {
  let t: TestDb
  let proxy: TcpProxy
  let clock = Date.parse('2026-01-10T12:00:00Z')
  beforeAll(async () => {
    t = await createTestDb('netout')
    proxy = startProxy(t.url)
  })
  afterAll(async () => {
    proxy?.close()
    await t?.drop()
    recordFigures('outage-network/db', figures)
  })

  async function reset() {
    proxy.disarm()
    proxy.restore()
    await truncateAll(t.sql)
    await t.sql`delete from system_metadata`
  }

  /** Cut right after the cycle's own COMMIT went out (not a read transaction's, not the catch-up's). */
  function armLostCommitReply(): Promise<void> {
    return new Promise((resolve) => {
      const undo = proxy.observe(/lock_timeout/, () => {
        undo()
        // CommandComplete "COMMIT": the server committed; the client never hears it
        void proxy.armReply(/C\x00\x00\x00\x0bCOMMIT\x00/).then(resolve)
      })
    })
  }

  /** One cycle through the proxy; the source alternates so cycles change state. */
  function cycle(dir: string, phase: number, opts: { url?: string } = {}) {
    clock += 7 * 3_600_000
    const snap = (clock / 3_600_000) % 2 ? SNAP_A : SNAP_B
    return runMain(['cycle', '--phase', String(phase), '--source', fixture(snap), '--now', new Date(clock).toISOString(), '--data-dir', dir, '--json', '--database-url', opts.url ?? proxy.url(t.url)])
  }

  /** After an outage in phases 1-5: the next cycle with the link back converges, with no manual step. */
  async function expectConverges(dir: string, phase: number) {
    proxy.disarm()
    proxy.restore()
    const r = await cycle(dir, phase)
    expect(r.code).toBe(0)
    expect(parse(r.stdout).storage.db).toBe('caught up')
    expect(readBehind(dir)).toBeNull()
    expect(await assertLevel(dir, t.sql, t.url, phase)).toEqual([])
    figures.dbOutagesSurvived++
  }

  /** phases 1-5: the cycle under the outage finished on JSON with exit 0 and a warning */
  function expectSurvived(r: { code: number; stdout: string; stderr: string }, dir: string) {
    figures.dbOutages++
    expect({ code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ code: 0, stderr: '' })
    const report = parse(r.stdout)
    expect(['unreachable', 'write failed']).toContain(report.storage.db)
    expect(report.warnings.join('\n')).toMatch(/PostgreSQL|database/i)
    expect(report.warnings.join('\n')).not.toContain(t.url.split('@')[0]!.split(':').at(-1) || '\u0000')
    expect(r.stderr).toMatch(/\[warn\]/)
    expect(readBehind(dir)).not.toBeNull()
    return report
  }

  test('wrong port: phase 3 trades on JSON, exits 0 with a warning, converges when the URL is right', async () => {
    await reset()
    const dir = tempDir('net-port')
    try {
      const wrong = new URL(t.url)
      wrong.port = '1'
      const r = await cycle(dir, 3, { url: wrong.toString() })
      expect(expectSurvived(r, dir).stats.executed).toBeGreaterThan(0)
      expect((await rowCounts(t.sql)).trades).toBe(0)
      await expectConverges(dir, 3)
    } finally {
      rmrf(dir)
    }
  })

  test('link down before the cycle (connection refused): phase 5 reads JSON, writes JSON, converges', async () => {
    await reset()
    const dir = tempDir('net-refused')
    try {
      expect((await cycle(dir, 5)).code).toBe(0)
      proxy.cut()
      const r = await cycle(dir, 5)
      expectSurvived(r, dir)
      await expectConverges(dir, 5)
    } finally {
      rmrf(dir)
    }
  })

  const phases = FULL ? [1, 2, 3, 4, 5] : [5]
  for (const phase of phases) {
    const cuts: [string, () => Promise<void>][] = [
      ['when the commit begins', () => proxy.arm(/lock_timeout/)],
      ['after COMMIT was sent (the reply is lost)', armLostCommitReply],
    ]
    if (phaseRow(phase).reads !== 'json') cuts.unshift(['while it reads the portfolio', () => proxy.arm(/read only/)])
    for (const [when, arm] of cuts) {
      test(`phase ${phase}: link cut ${when}: exit 0 on JSON, then converges within one cycle`, async () => {
        await reset()
        const dir = tempDir(`net-cut${phase}`)
        try {
          expect((await cycle(dir, phase)).code).toBe(0)
          const fired = arm()
          const r = await cycle(dir, phase)
          expect(await Promise.race([fired.then(() => 'cut'), Bun.sleep(200).then(() => 'never cut')])).toBe('cut')
          const report = expectSurvived(r, dir)
          if (when.startsWith('while it reads')) expect(report.storage.read_fallbacks).toBeGreaterThan(0)
          await expectConverges(dir, phase)
        } finally {
          rmrf(dir)
        }
      })
    }
  }

  for (const phase of FULL ? [6, 7] : [7]) {
    test(`phase ${phase}: link cut when the commit begins: exit 5, no JSON, nothing committed`, async () => {
      await reset()
      const dir = tempDir(`net-cut${phase}`)
      try {
        expect((await cycle(dir, phase)).code).toBe(0)
        const before = await rowCounts(t.sql)
        proxy.arm(/lock_timeout/)
        const r = await cycle(dir, phase)
        figures.dbOutages++
        expect(r.code).toBe(5)
        expect(oneClearError(r.stderr)).toMatch(/database|PostgreSQL/i)
        expect(jsonFiles(dir)).toEqual([])
        expect(await rowCounts(t.sql)).toEqual(before)
        figures.dbOutagesSurvived++
      } finally {
        rmrf(dir)
      }
    })

    test(`phase ${phase}: COMMIT reply lost: exit 5, and the next cycle does not trade the same markets again`, async () => {
      await reset()
      const dir = tempDir(`net-lost${phase}`)
      try {
        const fired = armLostCommitReply()
        const r = await cycle(dir, phase)
        expect(await Promise.race([fired.then(() => 'cut'), Bun.sleep(200).then(() => 'never cut')])).toBe('cut')
        figures.dbOutages++
        expect(r.code).toBe(5)
        oneClearError(r.stderr)
        expect(jsonFiles(dir)).toEqual([])
        proxy.restore()
        // the commit landed although the client never heard: the next cycle reads it back
        const next = await cycle(dir, phase)
        expect(next.code).toBe(0)
        const open = await t.sql`select market_id, count(*)::int as n from trades where status = 'open' group by market_id having count(*) > 1`
        expect([...open]).toEqual([])
        figures.dbOutagesSurvived++
      } finally {
        rmrf(dir)
      }
    })

    test(`phase ${phase}: link refused from the start: exit 5 naming the database, no JSON, no trade`, async () => {
      await reset()
      const dir = tempDir(`net-down${phase}`)
      try {
        proxy.cut()
        const r = await cycle(dir, phase)
        figures.dbOutages++
        expect(r.code).toBe(5)
        expect(oneClearError(r.stderr)).toMatch(/unreachable|database/i)
        expect(jsonFiles(dir)).toEqual([])
        expect((await rowCounts(t.sql)).trades).toBe(0)
        figures.dbOutagesSurvived++
      } finally {
        rmrf(dir)
      }
    })
  }

  // KNOWN GAP: a link that goes silent (no RST: a dropped VPN, a sleeping laptop's Wi-Fi) makes
  // the cycle wait forever: postgres.js has no client-side query timeout and the server's
  // statement_timeout never sees the query. Measured: still hanging after 40 s, holding the
  // lock, so later scheduled cycles exit 4 until TCP gives up (~15 min on Linux). Wanted: a
  // deadline on the cycle's DB work, then the phase's on-DB-failure rule.
  test('phase 3: a link that stalls mid-commit (no RST) is given up on within a deadline; exit 0 on JSON', async () => {
    await reset()
    const dir = tempDir('net-stall')
    process.env.PRESCIENT_DB_TIMEOUT_MS = '2000'
    try {
      void proxy.arm(/lock_timeout/, { then: 'stall' })
      const r = await Promise.race([cycle(dir, 3), Bun.sleep(30_000).then(() => null)])
      expect(r?.code).toBe(0)
      expect(parse(r!.stdout).storage.db).not.toBe('ok')
      expect(readBehind(dir)).not.toBeNull()
      await expectConverges(dir, 3)
    } finally {
      delete process.env.PRESCIENT_DB_TIMEOUT_MS
      proxy.restore()
      rmrf(dir)
    }
  })

  test.skipIf(!FULL || process.env.PRESCIENT_PG_STOP !== '1')('the server stopped and started again (full script only)', async () => {
    await reset()
    const dir = tempDir('net-stop')
    const pg = (what: 'stop' | 'start') => Bun.spawnSync(['pg_ctlcluster', '--skip-systemctl-redirect', '15', 'main', what])
    try {
      expect((await cycle(dir, 4, { url: t.url })).code).toBe(0)
      expect(pg('stop').exitCode).toBe(0)
      try {
        for (const phase of [1, 2, 3, 4, 5]) expectSurvived(await cycle(dir, phase, { url: t.url }), dir)
        for (const phase of [6, 7]) {
          const r = await cycle(dir, phase, { url: t.url })
          figures.dbOutages++
          expect(r.code).toBe(5)
          figures.dbOutagesSurvived++
        }
      } finally {
        expect(pg('start').exitCode).toBe(0)
      }
      for (let i = 0; i < 50; i++) {
        try {
          await t.sql`select 1`
          break
        } catch {
          await Bun.sleep(200)
        }
      }
      const r = await cycle(dir, 5, { url: t.url })
      expect(r.code).toBe(0)
      expect(readBehind(dir)).toBeNull()
      expect(await assertLevel(dir, t.sql, t.url, 5)).toEqual([])
      figures.dbOutagesSurvived += 5
    } finally {
      rmrf(dir)
    }
  }, 60_000)
})

// ---- the Gamma API ---------------------------------------------------------------

/** The 2026-01-31 snapshot as an /events response (markets nested under their event), padded to 3 pages. */
function eventsFromSnapshot(): unknown[] {
  const markets = JSON.parse(readFileSync(fixture(SNAP_B), 'utf8')) as { events?: { id: string }[] }[]
  const byId = new Map<string, Record<string, unknown> & { markets: unknown[] }>()
  for (const m of markets) {
    const parent = m.events?.[0]
    if (!parent) continue
    const { events: _drop, ...market } = m
    const e = byId.get(parent.id) ?? { ...parent, markets: [] }
    e.markets.push(market)
    byId.set(parent.id, e)
  }
  const padding = Array.from({ length: 180 }, (_, i) => ({ id: `pad${i}`, title: `Padding ${i}`, liquidity: 1, markets: [] }))
  return [...byId.values(), ...padding]
}

type Handler = (url: URL, n: number) => Response | Promise<Response>

describe.skipIf(!dbAvailable || !fixturesAvailable)('Gamma API failures (cycle --source api)', () => {
  const EVENTS = fixturesAvailable ? eventsFromSnapshot() : []
  const page = (url: URL) => {
    const offset = Number(url.searchParams.get('offset'))
    const limit = Number(url.searchParams.get('limit'))
    return Response.json(EVENTS.slice(offset, offset + limit))
  }
  let handler: Handler = page
  let requests = 0
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      requests++
      return handler(new URL(req.url), requests)
    },
  })
  const knobs = { GAMMA_API_URL: `http://127.0.0.1:${server.port}`, PRESCIENT_GAMMA_RETRIES: '2', PRESCIENT_GAMMA_BACKOFF_MS: '5', PRESCIENT_GAMMA_TIMEOUT_MS: '300' }
  let t: TestDb
  let dir: string
  beforeAll(async () => {
    t = await createTestDb('gammaout')
    dir = tempDir('gamma-out')
  })
  afterAll(async () => {
    server.stop(true)
    await t?.drop()
    rmrf(dir)
    recordFigures('outage-network/gamma', figures)
  })

  const NOW = '2026-01-31T18:00:00.000Z'
  const api = (d: string, env: Record<string, string | undefined> = {}) => {
    requests = 0
    return runMain(['cycle', '--phase', '4', '--source', 'api', '--now', NOW, '--data-dir', d, '--json', '--database-url', t.url], { ...knobs, ...env })
  }
  const backup = (d: string) => join(d, 'events', 'raw_events_backup.json')

  test('a healthy API: three pages, a clean cycle, the backup written', async () => {
    handler = page
    const r = await api(dir)
    expect(r.code).toBe(0)
    const report = parse(r.stdout)
    expect(requests).toBe(3)
    expect(report.fallback).toBeNull()
    expect(report.stats.executed).toBeGreaterThan(0)
    expect(existsSync(backup(dir))).toBe(true)
  })

  const truncated = () => {
    const body = JSON.stringify(EVENTS.slice(0, 100))
    return new Response(body.slice(0, body.length / 2), { headers: { 'content-type': 'application/json' } })
  }
  const failures: [string, Handler][] = [
    ['HTTP 500 on every attempt', () => new Response('internal error', { status: 500 })],
    ['HTTP 503 with Retry-After: 0', () => new Response('busy', { status: 503, headers: { 'retry-after': '0' } })],
    ['a timeout on every attempt', async () => (await Bun.sleep(600), Response.json([]))],
    ['an HTML page instead of JSON', () => new Response('<!doctype html><title>Captive portal</title>', { headers: { 'content-type': 'text/html' } })],
    ['an empty body', () => new Response('')],
    ['an empty first page ([])', () => Response.json([])],
    ['a truncated page (half a JSON body)', truncated],
    ['JSON that is not an array', () => Response.json({ error: 'rate limited' })],
    ['page 1 fine, page 2 failing', (url) => (Number(url.searchParams.get('offset')) === 0 ? page(url) : new Response('bad gateway', { status: 502 }))],
    ['the body stalls half-way (a slow loris)', () => {
      const body = JSON.stringify(EVENTS.slice(0, 100))
      return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(body.slice(0, 500))) }, pull: () => new Promise(() => {}) }))
    }],
  ]
  for (const [what, h] of failures) {
    test(`${what}: retried with backoff, then a clean cycle on the last good backup, with a warning`, async () => {
      handler = h
      const before = readFileSync(backup(dir), 'utf8')
      const r = await api(dir)
      figures.apiFailures++
      expect(r.code).toBe(0)
      const report = parse(r.stdout)
      expect(report.fallback?.from).toBe(backup(dir))
      expect(report.warnings.join('\n')).toMatch(/live data unavailable/i)
      expect(r.stderr).toMatch(/retry 1\/2/)
      expect(requests).toBeGreaterThanOrEqual(3)
      // the last good data stays the last good data
      expect(readFileSync(backup(dir), 'utf8')).toBe(before)
      expect(report.storage.db).toBe('ok')
      expect(await assertLevel(dir, t.sql, t.url, 4)).toEqual([])
      figures.apiFailuresHandled++
    })
  }

  test('a page repeated by offset paging: a clean live cycle, no event or market twice', async () => {
    handler = (url) => {
      const offset = Number(url.searchParams.get('offset'))
      return page(new URL(url.toString().replace(`offset=${offset}`, `offset=${offset === 100 ? 0 : offset}`)))
    }
    const r = await api(dir)
    figures.apiFailures++
    expect(r.code).toBe(0)
    const report = parse(r.stdout)
    expect(report.fallback).toBeNull()
    const json = new JsonStore(dir)
    const ids = (await json.loadMarkets()).map((m) => m.market_id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(await assertLevel(dir, t.sql, t.url, 4)).toEqual([])
    figures.apiFailuresHandled++
  })

  test('500 twice then fine: retried, and the cycle runs on live data', async () => {
    handler = (url, n) => (n <= 2 ? new Response('oops', { status: 500 }) : page(url))
    const r = await api(dir)
    figures.apiFailures++
    expect(r.code).toBe(0)
    expect(parse(r.stdout).fallback).toBeNull()
    expect(requests).toBe(5)
    figures.apiFailuresHandled++
  })

  test('API down and no usable fallback: exit 1, one clear line, no stack trace, nothing written', async () => {
    handler = () => new Response('down', { status: 500 })
    const fresh = tempDir('gamma-fresh')
    try {
      const before = await rowCounts(t.sql)
      const r = await api(fresh)
      figures.apiFailures++
      expect(r.code).toBe(1)
      expect(oneClearError(r.stderr)).toMatch(/Gamma API|fallback/)
      expect(r.stdout).toBe('')
      expect(jsonFiles(fresh)).toEqual([])
      expect(await rowCounts(t.sql)).toEqual(before)
      figures.apiFailuresHandled++
    } finally {
      rmrf(fresh)
    }
  })

  test('API down and the backup older than PRESCIENT_MAX_FALLBACK_AGE_HOURS (24): exit 1, nothing changed', async () => {
    handler = () => new Response('down', { status: 500 })
    const old = JSON.parse(readFileSync(backup(dir), 'utf8'))
    writeFileSync(backup(dir), JSON.stringify({ ...old, fetched_at: new Date(Date.now() - 30 * 3_600_000).toISOString() }))
    const before = hashTree(dir, { skip: (p) => p.startsWith('.prescient/') })
    const rows = await rowCounts(t.sql)
    const r = await api(dir)
    figures.apiFailures++
    expect(r.code).toBe(1)
    expect(oneClearError(r.stderr)).toMatch(/nothing was traded or written/)
    expect(hashTree(dir, { skip: (p) => p.startsWith('.prescient/') })).toEqual(before)
    expect(await rowCounts(t.sql)).toEqual(rows)
    figures.apiFailuresHandled++
  })

  test('a malformed knob is a usage error naming it', async () => {
    const r = await api(dir, { PRESCIENT_GAMMA_RETRIES: 'lots' })
    expect(r.code).toBe(2)
    expect(oneClearError(r.stderr)).toContain('PRESCIENT_GAMMA_RETRIES')
  })
})
