/**
 * The live Gamma API client and the source selector. Live data is paged by
 * limit/offset with a timeout per request and retries with exponential backoff and
 * jitter; when the API stays down, `loadSource` falls back to the last
 * raw_events_backup.json, then to the bundled snapshot, loudly.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Exit, PrescientError, errorMessage } from '../errors.ts'
import { logger } from '../logger.ts'
import { SourceBuilder, loadRecorded } from './source.ts'
import type { SourceData } from './types.ts'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface FetchEventsOptions {
  baseUrl: string
  /** events per page (Gamma caps `limit`; 100 is safe) */
  pageSize?: number
  /** stop after this many pages even if they keep coming full */
  maxPages?: number
  timeoutMs?: number
  /** extra attempts per page after the first */
  retries?: number
  fetchImpl?: FetchLike
  sleep?: (ms: number) => Promise<void>
  /** [0,1) source for jitter; injectable for tests */
  random?: () => number
  /** first backoff step (doubles per attempt, capped at 15 s) */
  baseDelayMs?: number
}

const BASE_DELAY_MS = 500
const MAX_DELAY_MS = 15_000

/** Worth retrying: the next attempt may well succeed. */
class Transient extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Backoff for attempt n (0-based): base × 2^n, capped, with "equal jitter" so clients do not retry in lockstep. */
export function backoffMs(n: number, random: () => number = Math.random, base = BASE_DELAY_MS): number {
  const exp = Math.min(MAX_DELAY_MS, base * 2 ** n)
  return Math.round(exp / 2 + (random() * exp) / 2)
}

async function getPage(url: string, o: Required<Pick<FetchEventsOptions, 'timeoutMs'>> & { fetchImpl: FetchLike }): Promise<unknown[]> {
  let res: Response
  let body: string
  try {
    res = await o.fetchImpl(url, { signal: AbortSignal.timeout(o.timeoutMs), headers: { accept: 'application/json' } })
    body = await res.text()
  } catch (err) {
    const e = err as Error
    const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError'
    throw new Transient(timedOut ? `timed out after ${o.timeoutMs} ms` : `network error: ${errorMessage(err)}`)
  }
  if (res.status === 429 || res.status >= 500) {
    const ra = Number(res.headers.get('retry-after'))
    throw new Transient(`HTTP ${res.status} ${res.statusText}`.trim(), Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 30_000) : undefined)
  }
  if (!res.ok) {
    throw new PrescientError(`Gamma API ${url} answered HTTP ${res.status} ${res.statusText}`.trim(), Exit.runtime, 'check GAMMA_API_URL; a 4xx will not get better by retrying')
  }
  let data: unknown
  try {
    data = JSON.parse(body)
  } catch {
    // Proxies and captive portals answer 200 with an HTML page.
    throw new Transient(`the body is not JSON (starts ${JSON.stringify(body.trim().slice(0, 40))})`)
  }
  if (!Array.isArray(data)) throw new Transient('the body is JSON but not an array of events')
  return data
}

/** Fetch all open events (with their markets) from `{baseUrl}/events`, validated and de-duplicated. */
export async function fetchEvents(opts: FetchEventsOptions): Promise<SourceData> {
  const pageSize = opts.pageSize ?? 100
  const maxPages = opts.maxPages ?? 50
  const retries = opts.retries ?? 3
  const timeoutMs = opts.timeoutMs ?? 15_000
  const fetchImpl: FetchLike = opts.fetchImpl ?? ((u, i) => fetch(u, i))
  const sleep = opts.sleep ?? defaultSleep
  const random = opts.random ?? Math.random
  const base = opts.baseUrl.replace(/\/+$/, '')
  const builder = new SourceBuilder()
  const fetchedAt = new Date().toISOString()

  for (let page = 0; page < maxPages; page++) {
    const offset = page * pageSize
    const url = `${base}/events?closed=false&active=true&limit=${pageSize}&offset=${offset}`
    let items: unknown[] | undefined
    let last = ''
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        const got = await getPage(url, { timeoutMs, fetchImpl })
        // Gamma always has open events: an empty first page is an outage in disguise (a bad
        // deploy, a misrouted proxy), and trading on it would overwrite the last good backup.
        if (page === 0 && got.length === 0) throw new Transient('the API returned no events at all (an empty first page)')
        items = got
        break
      } catch (err) {
        if (!(err instanceof Transient)) throw err
        last = err.message
        if (attempt === retries) break
        const wait = err.retryAfterMs ?? backoffMs(attempt, random, opts.baseDelayMs)
        logger.warn(`Gamma API ${url}: ${err.message}; retry ${attempt + 1}/${retries} in ${wait} ms`)
        await sleep(wait)
      }
    }
    if (!items) {
      throw new PrescientError(`Gamma API unreachable: ${url}: ${last} (after ${retries + 1} attempt${retries ? 's' : ''})`, Exit.runtime, 'check the network or GAMMA_API_URL; the cycle can run offline with --source FILE')
    }
    items.forEach((item, i) => builder.addEvent(item, `${url} $[${i}]`))
    logger.debug(`Gamma API page ${page + 1}: ${items.length} events`)
    if (items.length < pageSize) break
  }
  return builder.finish('api', fetchedAt, fetchedAt)
}

export interface LoadSourceOptions {
  gammaUrl: string
  dataDir: string
  bundledSnapshot: string
  fetchImpl?: FetchLike
  timeoutMs?: number
  retries?: number
  baseDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  now?: Date
}

/**
 * PRESCIENT_GAMMA_TIMEOUT_MS (per request, default 15000), PRESCIENT_GAMMA_RETRIES (extra
 * attempts per page, default 3) and PRESCIENT_GAMMA_BACKOFF_MS (first backoff step, default
 * 500): for slow links, and for tests that must not wait seconds per retry.
 */
export function gammaOptionsFromEnv(env: Record<string, string | undefined>): Pick<LoadSourceOptions, 'timeoutMs' | 'retries' | 'baseDelayMs'> {
  const read = (key: string, min: number): number | undefined => {
    const raw = env[key]
    if (raw === undefined || raw.trim() === '') return undefined
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min) throw new PrescientError(`${key} must be a whole number >= ${min}, got ${JSON.stringify(raw)}`, Exit.usage)
    return n
  }
  return { timeoutMs: read('PRESCIENT_GAMMA_TIMEOUT_MS', 1), retries: read('PRESCIENT_GAMMA_RETRIES', 0), baseDelayMs: read('PRESCIENT_GAMMA_BACKOFF_MS', 0) }
}

/**
 * 'api' = live, with the offline fallback chain; anything else is a recorded file path.
 * The fallback's age is measured from when its data was fetched (the backup's
 * fetched_at, else its newest updatedAt), so the caller can refuse stale data.
 */
export async function loadSource(spec: string, opts: LoadSourceOptions): Promise<SourceData> {
  if (spec !== 'api') return loadRecorded(spec)
  try {
    return await fetchEvents({ baseUrl: opts.gammaUrl, fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs, retries: opts.retries, baseDelayMs: opts.baseDelayMs, sleep: opts.sleep })
  } catch (err) {
    const reason = errorMessage(err)
    const backup = join(opts.dataDir, 'events', 'raw_events_backup.json')
    const candidates = [backup, opts.bundledSnapshot].filter((p) => existsSync(p))
    let lastErr: unknown = err
    for (const from of candidates) {
      try {
        const data = await loadRecorded(from)
        const now = opts.now ?? new Date()
        const t = Date.parse(data.fetchedAt)
        const age_hours = Number.isFinite(t) ? Math.round(((now.getTime() - t) / 3_600_000) * 10) / 10 : null
        data.fallback = { reason, from, age_hours }
        logger.warn(`LIVE GAMMA DATA UNAVAILABLE (${reason}). Using ${from}${age_hours === null ? '' : `, ${age_hours} h old`}.`)
        return data
      } catch (e) {
        logger.warn(`fallback ${from} unusable: ${errorMessage(e)}`)
        lastErr = e
      }
    }
    const tried = candidates.length ? ` and no fallback was usable (${errorMessage(lastErr)})` : ` and there is no fallback (${backup} is missing)`
    throw new PrescientError(`${reason}${tried}`, Exit.runtime, 'check the network, or run on a recorded file with --source FILE')
  }
}
