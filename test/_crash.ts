/**
 * The crash harness: run `prescient cycle` as a real child process, SIGKILL it
 * at a random moment, and check what it left behind against precise invariants.
 * It also holds the small helpers the reliability suites share (running the CLI
 * in-process with captured streams, hashing a data dir, comparing stores, and
 * appending figures for scripts/full-reliability.sh).
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, watch } from 'node:fs'
import { createHash } from 'node:crypto'
import { join, relative, resolve } from 'node:path'
import { REPO } from './_fixtures.ts'
import { filesUnder, jsonFiles } from './_cycle.ts'
import { commands } from '../commands/index.ts'
import type { Sql } from '../src/db/client.ts'
import { GROUPS, GROUP_TABLES, phaseRow, type Group } from '../src/phase.ts'
import { FILES, readJsonFile } from '../src/schema/files.ts'
import { readBehind } from '../src/store/behind.ts'
import { JsonStore, journalPath } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'
import { lockPath } from '../src/lock.ts'
import { isoN } from '../src/db/queries/_util.ts'

export const CLI = resolve(REPO, 'src/cli.ts')
/** The bun running the tests (node_modules/.bin/bun under `npm test`): a real binary, so SIGKILL hits the CLI itself. */
export const BUN = process.execPath
export const FULL = process.env.PRESCIENT_FULL === '1'

// ---- child processes --------------------------------------------------------

export interface ChildRun {
  code: number | null
  signal: string | null
  killed: boolean
  stdout: string
  stderr: string
  ms: number
  /** ms from the trigger firing to the child's exit (null: it never fired) */
  afterTriggerMs: number | null
}

/** An event that arms the kill: `arm(fire)` starts watching and returns the undo. */
export interface KillTrigger {
  arm: (fire: () => void) => () => void
  /** delay from the event to the SIGKILL; omitted: only time the event (calibration) */
  delayMs?: () => number
}

/** Fires when an atomic JSON write creates its first temp file under dir (the JSON commit has begun). */
export function jsonCommitTrigger(dir: string, delayMs?: () => number): KillTrigger {
  return {
    delayMs,
    arm(fire) {
      const w = watch(dir, { recursive: true }, (_ev, name) => {
        if (typeof name === 'string' && name.endsWith('.prescient-tmp')) fire()
      })
      return () => w.close()
    },
  }
}

/** Environment for a child: the test's, minus anything that could point it at a real database. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (/^(DATABASE_URL|POSTGRES_|PG|PRESCIENT_PHASE|USE_DATABASE_)/.test(k)) continue
    env[k] = v
  }
  env.PRESCIENT_LOG_LEVEL = '1'
  env.PRESCIENT_ENV_FILE = '/nonexistent/.env'
  env.NO_COLOR = '1'
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

/**
 * Run `bun src/cli.ts ...args`. With `killAfterMs`, SIGKILL it then (if it is still
 * running). `timeoutMs` bounds every run: a hung child is killed and reported.
 */
export async function runChild(
  args: string[],
  opts: { env?: Record<string, string | undefined>; killAfterMs?: number; trigger?: KillTrigger; timeoutMs?: number; cwd?: string } = {},
): Promise<ChildRun> {
  const started = performance.now()
  const proc = Bun.spawn([BUN, CLI, ...args], { cwd: opts.cwd ?? REPO, env: childEnv(opts.env), stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  let killed = false
  const timers: ReturnType<typeof setTimeout>[] = []
  let firedAt: number | null = null
  const undo = opts.trigger?.arm(() => {
    if (firedAt !== null) return
    firedAt = performance.now()
    const d = opts.trigger!.delayMs
    if (d) {
      timers.push(
        setTimeout(() => {
          killed = true
          proc.kill('SIGKILL')
        }, d()),
      )
    }
  })
  if (opts.killAfterMs !== undefined) {
    timers.push(
      setTimeout(() => {
        killed = true
        proc.kill('SIGKILL')
      }, opts.killAfterMs),
    )
  }
  timers.push(setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000))
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  await proc.exited
  const ended = performance.now()
  undo?.()
  for (const t of timers) clearTimeout(t)
  const signal = proc.signalCode == null ? null : String(proc.signalCode)
  return { code: proc.exitCode, signal, killed: killed && signal === 'SIGKILL', stdout, stderr, ms: ended - started, afterTriggerMs: firedAt === null ? null : ended - firedAt }
}

// ---- in-process CLI ----------------------------------------------------------

import { runMain, type MainRun } from './_run.ts'
export { runMain, type MainRun }

// ---- data dir snapshots ------------------------------------------------------

/** sha256 of every file under dir (relative path -> hash), the tool's logs excluded. */
export function hashTree(dir: string, opts: { skip?: (rel: string) => boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {}
  if (!existsSync(dir)) return out
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      const rel = relative(dir, p).replace(/\\/g, '/')
      if (rel === 'logs' || rel.startsWith('logs/') || opts.skip?.(rel)) continue
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex')
      else out[rel] = `<${e.isSymbolicLink() ? 'symlink' : 'special'}>`
    }
  }
  walk(dir)
  return out
}

/** Temp files an interrupted atomic write left (harmless: swept after an hour, never read). */
export function leftoverTemps(dir: string): string[] {
  return filesUnder(dir)
    .filter((p) => p.endsWith('.prescient-tmp'))
    .map((p) => relative(dir, p))
}

// ---- invariants --------------------------------------------------------------

/** Load every JSON file through its schema, as every command does. Throws on the first bad file. */
export async function loadAllJson(dir: string) {
  const json = new JsonStore(dir)
  const portfolio = await json.loadPortfolio()
  const trades = await json.loadTrades()
  const signals = await json.loadSignals()
  const history = await json.loadHistory()
  const archives = await json.loadArchives()
  const events = await json.loadEvents()
  const markets = await json.loadMarkets()
  // loadMetadata forgives a bad file (it is never compared); the invariant does not
  const metadata = ((await readJsonFile(join(dir, FILES.metadata.rel), FILES.metadata.schema, { kind: 'object' })) ?? {}) as Record<string, string>
  const raw = await readJsonFile(join(dir, FILES.rawEvents.rel), FILES.rawEvents.schema, { kind: 'object' })
  return { portfolio, trades, signals, history, archives, events, markets, metadata, raw }
}

/** Deep-compare what JSON and PostgreSQL hold for the given groups; returns the differing parts. */
export async function storeDiff(dir: string, sql: Sql, groups: readonly Group[]): Promise<string[]> {
  const json = new JsonStore(dir)
  const pg = new PgStore(sql)
  const parts: [Group, string, (s: JsonStore | PgStore) => Promise<unknown>][] = [
    ['portfolio', 'portfolio', (s) => s.loadPortfolio()],
    ['portfolio', 'trades', (s) => s.loadTrades()],
    ['history', 'history', (s) => s.loadHistory()],
    ['history', 'archives', (s) => s.loadArchives()],
    ['signals', 'signals', (s) => s.loadSignals()],
    ['markets', 'events', (s) => s.loadEvents()],
    ['markets', 'markets', (s) => s.loadMarkets()],
  ]
  const diffs: string[] = []
  for (const [g, name, load] of parts) {
    if (!groups.includes(g)) continue
    const [a, b] = await Promise.all([load(json), load(pg)])
    if (!Bun.deepEquals(a, b, true)) diffs.push(name)
  }
  return diffs
}

export const hasVerify = () => 'verify' in commands

/**
 * JSON and the DB hold the same facts for the phase's DB groups. Uses
 * `prescient verify` when it is registered (exit 0 = no differences), and
 * always the store-level deep-equal as well.
 */
export async function assertLevel(dir: string, sql: Sql, url: string, phase: number): Promise<string[]> {
  const row = phaseRow(phase)
  const problems = (await storeDiff(dir, sql, row.dbWrites)).map((p) => `JSON and DB differ on ${p}`)
  if (hasVerify()) {
    // verify compares every table it is given; a phase writes only its groups' tables
    for (const table of row.dbWrites.flatMap((g) => GROUP_TABLES[g])) {
      const r = await runMain(['verify', '--table', table, '--data-dir', dir, '--database-url', url, '--json'])
      if (r.code !== 0) problems.push(`prescient verify --table ${table} exited ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}`)
    }
  }
  return problems
}

export interface DbFacts {
  clock: string | null
  stateUpdated: string | null
  tradeCount: number | null
  trades: number
  openTradeIds: string[]
  positionIds: string[]
  snapshotClocks: string[]
  historyAt: (c: string) => boolean
  marketSnapshotsAt: (c: string) => number
  tradeIds: Set<string>
}

const isoOf = isoN

export async function dbFacts(sql: Sql): Promise<DbFacts> {
  const [meta] = await sql`select value from system_metadata where key = 'last_cycle_clock'`
  const [state] = await sql`select last_updated, trade_count from portfolio_state where id = 1`
  const trades = await sql`select trade_id, status from trades`
  const positions = await sql`select trade_id from portfolio_positions`
  const snaps = await sql`select timestamp from portfolio_snapshots order by timestamp`
  const hist = await sql`select timestamp from portfolio_history`
  const ms = await sql`select timestamp, count(*)::int as n from market_snapshots group by timestamp`
  const histSet = new Set(hist.map((h) => isoOf(h.timestamp)))
  const msMap = new Map(ms.map((m) => [isoOf(m.timestamp), Number(m.n)] as const))
  return {
    clock: meta ? String(meta.value) : null,
    stateUpdated: state ? isoOf(state.last_updated) : null,
    tradeCount: state ? Number(state.trade_count) : null,
    trades: trades.length,
    openTradeIds: trades.filter((t) => t.status === 'open').map((t) => String(t.trade_id)).sort(),
    positionIds: positions.map((p) => String(p.trade_id)).sort(),
    snapshotClocks: snaps.map((s) => isoOf(s.timestamp)!),
    historyAt: (c) => histSet.has(c),
    marketSnapshotsAt: (c) => msMap.get(c) ?? 0,
    tradeIds: new Set(trades.map((t) => String(t.trade_id))),
  }
}

export interface KillContext {
  dir: string
  phase: number
  sql?: Sql
  /** the clock of the last cycle known to have completed, and of the killed one */
  committedClock: string | null
  killedClock: string
  /** trade ids every completed cycle reported: none may ever go missing */
  knownTrades: Set<string>
}

export interface KillOutcome {
  violations: string[]
  /** what the kill interrupted, for the summary */
  landed: 'nothing written' | 'JSON committed, DB behind' | 'cycle committed' | 'DB committed' | 'JSON committed'
  staleLock: boolean
  /** a multi-file JSON commit was cut between renames and its journal rolled forward on the next read */
  journal: boolean
  temps: number
  lost: number
}

/**
 * The invariants after a SIGKILL, precisely:
 *  1. every JSON file loads through its schema;
 *  2. JSON is one cycle, whole: its metadata clock is the last completed cycle's or the
 *     killed one's, portfolio.last_updated equals it, trade_count equals the number of
 *     trades, the open trades are exactly the positions, and that day's history row is it;
 *  3. the same inside PostgreSQL, all or nothing for the killed cycle: a portfolio snapshot
 *     at its clock exists iff system_metadata.last_cycle_clock is its clock iff
 *     portfolio_state.last_updated is its clock iff (phase >= 2) a history row carries it
 *     iff (phase >= 4) market snapshots carry it; no snapshot is newer than the clock;
 *  4. phases 1-5: the DB is never ahead of JSON, and when it is behind the "DB behind"
 *     marker is set (so the next cycle catches it up); without the marker the two are equal;
 *  5. no trade a completed cycle reported is missing (from JSON, or the DB in phases 6-7).
 */
export async function checkAfterKill(ctx: KillContext): Promise<KillOutcome> {
  const v: string[] = []
  const row = phaseRow(ctx.phase)
  const allowed = [ctx.committedClock, ctx.killedClock]
  let jsonClock: string | null = null
  let lost = 0
  const jsonWritten = row.jsonWrites.length > 0
  let jsonTradeIds = new Set<string>()
  const journal = existsSync(journalPath(ctx.dir))

  try {
    const j = await loadAllJson(ctx.dir)
    if (jsonWritten) {
      jsonClock = j.metadata.last_cycle_clock ?? null
      if (!allowed.includes(jsonClock)) v.push(`JSON clock ${jsonClock} is neither ${ctx.committedClock} nor ${ctx.killedClock}`)
      if (jsonClock !== null) {
        if (j.portfolio?.last_updated !== jsonClock) v.push(`JSON portfolio.last_updated ${j.portfolio?.last_updated} != metadata clock ${jsonClock}`)
        if (j.portfolio?.trade_count !== j.trades.length) v.push(`JSON trade_count ${j.portfolio?.trade_count} != ${j.trades.length} trades`)
        const open = j.trades.filter((t) => t.status === 'open').map((t) => t.trade_id).sort()
        const pos = (j.portfolio?.positions ?? []).map((p) => p.trade_id).sort()
        if (!Bun.deepEquals(open, pos)) v.push(`JSON open trades ${open.length} != positions ${pos.length}`)
        const day = j.history.find((h) => h.snapshot_date === jsonClock!.slice(0, 10))
        if (day?.timestamp !== jsonClock) v.push(`JSON history row of ${jsonClock.slice(0, 10)} is at ${day?.timestamp}, not ${jsonClock}`)
      }
      jsonTradeIds = new Set(j.trades.map((t) => t.trade_id))
    } else {
      const present = jsonFiles(ctx.dir)
      if (present.length) v.push(`phase ${ctx.phase} wrote JSON files: ${present.join(', ')}`)
    }
  } catch (err) {
    v.push(`a JSON file does not load: ${(err as Error).message}`)
  }

  let dbClock: string | null = null
  if (ctx.sql && row.dbWrites.length) {
    const f = await dbFacts(ctx.sql)
    dbClock = f.clock
    if (f.tradeCount !== null && f.tradeCount !== f.trades) v.push(`DB trade_count ${f.tradeCount} != ${f.trades} trades`)
    if (!Bun.deepEquals(f.openTradeIds, f.positionIds)) v.push(`DB open trades ${f.openTradeIds.length} != positions ${f.positionIds.length}`)
    if (!allowed.includes(f.clock)) v.push(`DB clock ${f.clock} is neither ${ctx.committedClock} nor ${ctx.killedClock}`)
    const k = ctx.killedClock
    const parts: [string, boolean][] = [
      ['last_cycle_clock', f.clock === k],
      ['portfolio snapshot', f.snapshotClocks.includes(k)],
      ['portfolio_state.last_updated', f.stateUpdated === k],
    ]
    if (row.dbWrites.includes('history')) parts.push(['portfolio_history row', f.historyAt(k)])
    if (row.dbWrites.includes('markets')) parts.push(['market snapshots', f.marketSnapshotsAt(k) > 0])
    if (parts.some(([, x]) => x) && !parts.every(([, x]) => x)) {
      v.push(`DB holds part of the killed cycle ${k}: ${parts.map(([n, x]) => `${n}=${x}`).join(', ')}`)
    }
    const newest = f.snapshotClocks.at(-1) ?? null
    if (newest !== f.clock) v.push(`newest portfolio snapshot ${newest} != last_cycle_clock ${f.clock}`)
    if (!jsonWritten) for (const id of ctx.knownTrades) if (!f.tradeIds.has(id)) lost++
    if (row.jsonWrites.length) {
      const behind = readBehind(ctx.dir)
      if (dbClock !== jsonClock) {
        if (dbClock === k && jsonClock !== k) v.push('the DB holds a cycle JSON does not (DB ahead of the source of truth)')
        if (!behind) v.push(`DB clock ${dbClock} != JSON clock ${jsonClock} and the "DB behind" marker is not set`)
      } else if (!behind) {
        const diffs = await storeDiff(ctx.dir, ctx.sql, row.dbWrites)
        if (diffs.length) v.push(`no "DB behind" marker, yet JSON and DB differ on ${diffs.join(', ')}`)
      }
    }
  }
  if (jsonWritten) for (const id of ctx.knownTrades) if (!jsonTradeIds.has(id)) lost++
  if (lost) v.push(`${lost} trade(s) of completed cycles are missing`)

  const killedJson = jsonClock === ctx.killedClock
  const killedDb = dbClock === ctx.killedClock
  const landed: KillOutcome['landed'] = jsonWritten
    ? killedJson
      ? row.dbWrites.length
        ? killedDb
          ? 'cycle committed'
          : 'JSON committed, DB behind'
        : 'JSON committed'
      : 'nothing written'
    : killedDb
      ? 'DB committed'
      : 'nothing written'
  return { violations: v, landed, staleLock: existsSync(lockPath(ctx.dir)), journal, temps: leftoverTemps(ctx.dir).length, lost }
}

// ---- figures for scripts/full-reliability.sh ---------------------------------

/** Append one figure line (JSON) to $PRESCIENT_RELIABILITY_STATS, when the script set it. */
export function recordFigures(suite: string, figures: object): void {
  const path = process.env.PRESCIENT_RELIABILITY_STATS
  if (!path) return
  appendFileSync(path, JSON.stringify({ suite, full: FULL, ...figures }) + '\n')
}

export const fileSize = (p: string) => (existsSync(p) ? statSync(p).size : 0)
export { GROUPS }
