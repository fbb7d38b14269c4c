import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Exit, PrescientError } from '../src/errors.ts'
import { logger } from '../src/logger.ts'
import { backoffMs, fetchEvents, loadSource } from '../src/trading/gamma.ts'
import { REPO } from './_fixtures.ts'

/** n synthetic /events items, each with one market. */
const events = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k
    return {
      id: `e${i}`,
      title: `Event ${i}`,
      liquidity: 1000 + i,
      markets: [{ id: `m${i}`, question: `Market ${i}?`, outcomes: '["Yes", "No"]', outcomePrices: '["0.3", "0.7"]', liquidity: '500', volume: '900', updatedAt: '2026-02-01T00:00:00Z' }],
    }
  })

type Handler = (url: URL, n: number) => Response | Promise<Response>
let handler: Handler = () => new Response('[]')
let requests: URL[] = []
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req) {
    const url = new URL(req.url)
    requests.push(url)
    return handler(url, requests.length)
  },
})
const base = `http://127.0.0.1:${server.port}`
const tmp = mkdtempSync(join(tmpdir(), 'prescient-gamma-'))
// The retry and fallback warnings are expected here; keep the test output readable.
const level = logger.level
beforeAll(() => {
  logger.level = 0
})
afterAll(() => {
  logger.level = level
  server.stop(true)
  rmSync(tmp, { recursive: true, force: true })
})

let sleeps: number[] = []
const sleep = async (ms: number) => void sleeps.push(ms)
beforeEach(() => {
  requests = []
  sleeps = []
})
const json = (x: unknown, status = 200) => Response.json(x, { status })
const page = (url: URL, total: number) => {
  const offset = Number(url.searchParams.get('offset'))
  const limit = Number(url.searchParams.get('limit'))
  return json(events(offset, Math.max(0, Math.min(limit, total - offset))))
}
const marketIds = (s: { events: { markets: { id: string }[] }[] }) => s.events.flatMap((e) => e.markets.map((m) => m.id))

async function failure(p: Promise<unknown>): Promise<PrescientError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(PrescientError)
    return err as PrescientError
  }
  throw new Error('expected a failure')
}

describe('fetchEvents', () => {
  test('pages by offset until a short page, with closed=false and active=true', async () => {
    handler = (url) => page(url, 250)
    const s = await fetchEvents({ baseUrl: `${base}/`, pageSize: 100, sleep })
    expect(requests.map((u) => u.searchParams.get('offset'))).toEqual(['0', '100', '200'])
    expect(requests.every((u) => u.pathname === '/events' && u.searchParams.get('closed') === 'false' && u.searchParams.get('active') === 'true' && u.searchParams.get('limit') === '100')).toBe(true)
    expect(s.events.length).toBe(250)
    expect(s.source).toBe('api')
    expect(s.rawEvents.length).toBe(250)
    expect(s.snapshotTime).toBe('2026-02-01T00:00:00.000Z')
  })

  test('an empty page after full pages stops the paging; maxPages caps it', async () => {
    handler = (url) => page(url, 20)
    expect((await fetchEvents({ baseUrl: base, pageSize: 10, sleep })).events.length).toBe(20)
    expect(requests.length).toBe(3)
    requests = []
    handler = (url) => page(url, 1000)
    expect((await fetchEvents({ baseUrl: base, pageSize: 10, maxPages: 2, sleep })).events.length).toBe(20)
    expect(requests.length).toBe(2)
  })

  test('HTTP 500 then success is retried with backoff', async () => {
    handler = (url, n) => (n === 1 ? new Response('boom', { status: 500 }) : page(url, 5))
    const s = await fetchEvents({ baseUrl: base, pageSize: 10, sleep, random: () => 0.5 })
    expect(s.events.length).toBe(5)
    expect(requests.length).toBe(2)
    expect(sleeps).toEqual([backoffMs(0, () => 0.5)])
  })

  test('429 honours Retry-After', async () => {
    handler = (url, n) => (n === 1 ? new Response('slow down', { status: 429, headers: { 'retry-after': '2' } }) : page(url, 1))
    await fetchEvents({ baseUrl: base, sleep })
    expect(sleeps).toEqual([2000])
  })

  test('a request that times out is retried', async () => {
    handler = async (url, n) => {
      if (n === 1) await Bun.sleep(300)
      return page(url, 3)
    }
    const s = await fetchEvents({ baseUrl: base, timeoutMs: 60, sleep })
    expect(s.events.length).toBe(3)
    expect(sleeps.length).toBe(1)
  })

  test('an HTML body (proxy, captive portal) is retried', async () => {
    handler = (url, n) => (n === 1 ? new Response('<html><body>Gateway</body></html>', { headers: { 'content-type': 'text/html' } }) : page(url, 2))
    expect((await fetchEvents({ baseUrl: base, sleep })).events.length).toBe(2)
    expect(requests.length).toBe(2)
  })

  test('a page repeated by offset paging does not double events or markets', async () => {
    handler = (url) => {
      const offset = Number(url.searchParams.get('offset'))
      if (offset === 0 || offset === 10) return json(events(0, 10)) // the API served page 1 twice
      return json(events(10, 4))
    }
    const s = await fetchEvents({ baseUrl: base, pageSize: 10, sleep })
    expect(requests.length).toBe(3)
    expect(marketIds(s)).toEqual(Array.from({ length: 14 }, (_, i) => `m${i}`))
    expect(new Set(marketIds(s)).size).toBe(marketIds(s).length)
  })

  test('a 404 fails at once, naming the URL', async () => {
    handler = () => new Response('not found', { status: 404, statusText: 'Not Found' })
    const err = await failure(fetchEvents({ baseUrl: base, sleep }))
    expect(requests.length).toBe(1)
    expect(sleeps).toEqual([])
    expect(err.exitCode).toBe(Exit.runtime)
    expect(err.message).toContain(`${base}/events?closed=false`)
    expect(err.message).toContain('404')
  })

  test('when every retry fails: PrescientError naming the URL and the last problem', async () => {
    handler = () => new Response('down', { status: 503 })
    const err = await failure(fetchEvents({ baseUrl: base, retries: 2, sleep }))
    expect(requests.length).toBe(3)
    expect(sleeps.length).toBe(2)
    expect(err.exitCode).toBe(Exit.runtime)
    expect(err.message).toContain(`${base}/events?closed=false&active=true&limit=100&offset=0`)
    expect(err.message).toContain('HTTP 503')
    expect(err.message).toContain('after 3 attempts')
  })

  test('a refused connection is a network error, retried, then reported', async () => {
    const dead = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
    const url = `http://127.0.0.1:${dead.port}`
    dead.stop(true)
    const err = await failure(fetchEvents({ baseUrl: url, retries: 1, sleep }))
    expect(err.message).toContain(url)
    expect(sleeps.length).toBe(1)
  })

  test('invalid records in a page are counted, not fatal', async () => {
    handler = () => json([...events(0, 2), { id: 'bad', title: 'B', volume: -3, markets: [] }, 'junk'])
    const s = await fetchEvents({ baseUrl: base, sleep })
    expect(s.events.length).toBe(2)
    expect(s.rejects.map((r) => r.where)).toEqual([`${base}/events?closed=false&active=true&limit=100&offset=0 $[2]`, `${base}/events?closed=false&active=true&limit=100&offset=0 $[3]`])
  })

  test('backoff grows exponentially with jitter and is capped', () => {
    expect(backoffMs(0, () => 0)).toBe(250)
    expect(backoffMs(0, () => 1)).toBe(500)
    expect(backoffMs(3, () => 0)).toBe(2000)
    expect(backoffMs(20, () => 1)).toBe(15000)
  })
})

describe('loadSource', () => {
  const sample = resolve(REPO, 'data/sample/markets_open.json')
  const now = new Date('2026-02-17T15:00:00Z')

  test("'api' returns live data when the API answers", async () => {
    handler = (url) => page(url, 3)
    const s = await loadSource('api', { gammaUrl: base, dataDir: tmp, bundledSnapshot: sample, now })
    expect(s.fallback).toBeUndefined()
    expect(s.events.length).toBe(3)
  })

  test('API down: falls back to the last raw_events_backup.json, with its age', async () => {
    handler = () => new Response('down', { status: 502 })
    const dataDir = join(tmp, 'with-backup')
    mkdirSync(join(dataDir, 'events'), { recursive: true })
    writeFileSync(join(dataDir, 'events', 'raw_events_backup.json'), JSON.stringify({ fetched_at: '2026-02-17T09:00:00.000Z', source: 'api', events: events(0, 4) }))
    const s = await loadSource('api', { gammaUrl: base, dataDir, bundledSnapshot: sample, retries: 1, sleep, now })
    expect(s.events.length).toBe(4)
    expect(s.fallback).toEqual({ reason: expect.stringContaining('HTTP 502'), from: join(dataDir, 'events', 'raw_events_backup.json'), age_hours: 6 })
  })

  test('API down and no backup: the bundled snapshot', async () => {
    handler = () => new Response('down', { status: 500 })
    const s = await loadSource('api', { gammaUrl: base, dataDir: join(tmp, 'empty'), bundledSnapshot: sample, retries: 0, sleep, now })
    expect(s.fallback?.from).toBe(sample)
    expect(s.fallback?.age_hours).toBe(24)
    expect(s.rejects.length).toBe(1)
  })

  test('API down and nothing to fall back on: a runtime error', async () => {
    handler = () => new Response('down', { status: 500 })
    const err = await failure(loadSource('api', { gammaUrl: base, dataDir: join(tmp, 'empty'), bundledSnapshot: join(tmp, 'missing.json'), retries: 0, sleep, now }))
    expect(err.exitCode).toBe(Exit.runtime)
    expect(err.message).toContain('no fallback')
  })

  test('any other spec is a recorded file', async () => {
    const s = await loadSource(sample, { gammaUrl: 'http://127.0.0.1:9', dataDir: tmp, bundledSnapshot: sample })
    expect(s.source).toBe(sample)
    expect(s.fallback).toBeUndefined()
  })
})
