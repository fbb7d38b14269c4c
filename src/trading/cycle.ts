/**
 * One trading cycle: read state through the phase's read source, load the
 * source data, run the pure trading logic, and commit everything through the
 * phase-routed store. The lock, the DB catch-up and the stale-state rules
 * live here; the trading rules live in logic.ts.
 */
import type { Config } from '../config.ts'
import { closeQuietly, type Sql } from '../db/client.ts'
import { getMetadata } from '../db/queries/metadata.ts'
import { openDb } from '../db/open.ts'
import { Exit, PrescientError, errorMessage, usageError } from '../errors.ts'
import { acquireLock } from '../lock.ts'
import { logger } from '../logger.ts'
import { mask } from '../mask.ts'
import { jsonIsTruth, phaseRow, usesDb } from '../phase.ts'
import { markBehind, readBehind } from '../store/behind.ts'
import { JsonStore } from '../store/json.ts'
import { PgStore } from '../store/postgres.ts'
import { DEFAULT_DB_TIMEOUT_MS, RoutedStore, withDeadline } from '../store/routed.ts'
import type { CycleChanges, Store } from '../store/types.ts'
import { syncJsonToDb } from '../sync.ts'
import { gammaOptionsFromEnv, loadSource } from './gamma.ts'
import { runTradingLogic, strategyFromEnv } from './logic.ts'
import { isSampleSpec, samplePath } from './sample.ts'
import type { Reject, SourceData, TradingStats } from './types.ts'

/**
 * Fallback data older than PRESCIENT_MAX_FALLBACK_AGE_HOURS (default 24) is not
 * traded on: a clear failure beats paper trades at prices from last month.
 */
function assertFreshEnough(fallback: NonNullable<SourceData['fallback']>, env: Record<string, string | undefined>) {
  const raw = env.PRESCIENT_MAX_FALLBACK_AGE_HOURS ?? '24'
  const max = raw === 'any' ? Infinity : Number(raw)
  if (!Number.isFinite(max) && raw !== 'any') throw new PrescientError(`PRESCIENT_MAX_FALLBACK_AGE_HOURS must be a number of hours or "any", got ${JSON.stringify(raw)}`, Exit.usage)
  const age = fallback.age_hours ?? Infinity
  if (age > max) {
    throw new PrescientError(
      `the Gamma API failed (${fallback.reason}) and the newest fallback data (${fallback.from}) is ${Number.isFinite(age) ? `${age.toFixed(1)} h` : 'of unknown age'} old; nothing was traded or written`,
      Exit.runtime,
      'the next scheduled cycle will retry; to run on old data anyway set PRESCIENT_MAX_FALLBACK_AGE_HOURS=any',
    )
  }
}

function positiveMs(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw usageError(`${name} must be a whole number of milliseconds, got ${JSON.stringify(raw)}`)
  return n
}

async function assertJsonNotBehindDb(sql: Sql, json: JsonStore) {
  const db = await getMetadata(sql)
  const dbPhase = Number(db.last_cycle_phase)
  if (!(dbPhase >= 6) || !db.last_cycle_at) return
  const jsonAt = (await json.loadMetadata())?.last_cycle_at ?? ''
  if (jsonAt >= db.last_cycle_at) return
  throw new PrescientError(
    `the database holds cycles from phase ${dbPhase} (last at ${db.last_cycle_at}) that the JSON files do not have; JSON cannot be the source of truth yet`,
    Exit.usage,
    'run `prescient sync --from-db --yes` to rewrite the JSON files from PostgreSQL, then run the cycle again',
  )
}

export interface CycleOptions {
  source: string
  now?: string
  dryRun?: boolean
}

export interface CycleReport {
  phase: number
  phase_name: string
  source: string
  fallback: { reason: string; from: string; age_hours: number | null } | null
  clock: string
  dry_run: boolean
  stats: TradingStats
  signals: { market_id: string; question: string; action: string; price: number; amount: number; confidence: number; executed: boolean; trade_id: string | null }[]
  portfolio: { balance: number; total_invested: number; total_profit_loss: number; total_value: number; open_positions: number; trade_count: number }
  storage: { json_groups: string[]; db_groups: string[]; db: 'not used' | 'ok' | 'caught up' | 'unreachable' | 'write failed' | 'dry run'; read_fallbacks: number }
  rejects: Reject[]
  warnings: string[]
}

export async function runCycle(config: Config, opts: CycleOptions): Promise<CycleReport> {
  const row = phaseRow(config.phase)
  // checked before the lock, the database or the source: a typo must not cost a fetch
  if (opts.now !== undefined && Number.isNaN(new Date(opts.now).getTime())) throw usageError(`--now ${JSON.stringify(opts.now)} is not a date`, 'pass an ISO 8601 time such as 2026-01-31T12:00:00Z')
  const dbTimeoutMs = positiveMs(config.env.PRESCIENT_DB_TIMEOUT_MS, 'PRESCIENT_DB_TIMEOUT_MS') ?? DEFAULT_DB_TIMEOUT_MS
  const warnings: string[] = []
  const warn = (m: string) => {
    warnings.push(m)
    logger.warn(m)
  }
  const lock = opts.dryRun ? null : acquireLock(config.dataDir, 'cycle')
  let sql: Sql | null = null
  try {
    // Phases 1-4 read only JSON: the database is opened, checked and caught up while the JSON
    // state and the source data load and the JSON files are staged (nothing is written before it
    // is done). Phases 5-7 read it, and 6-7 must exit 5 before anything else (no trade on stale
    // JSON): there it comes first, as before.
    const overlap = usesDb(row) && row.reads === 'json'
    let json: JsonStore | undefined = overlap ? new JsonStore(config.dataDir) : undefined

    const prepareDb = async () => {
      const handle = usesDb(row) ? await openDb(config, !jsonIsTruth(row)) : { sql: null, error: undefined }
      sql = handle.sql
      let dbState: CycleReport['storage']['db'] = usesDb(row) ? (sql ? 'ok' : 'unreachable') : 'not used'
      if (handle.error && usesDb(row)) warn(`PostgreSQL unavailable, continuing on JSON (phase ${row.phase}): ${mask(errorMessage(handle.error))}`)

      const js = (json ??= new JsonStore(config.dataDir))
      let pgForRouting: PgStore | null = sql ? new PgStore(sql) : null
      let dbError: unknown = handle.error

      // Rolling back from phase 6/7: JSON missed those cycles, so it cannot be the truth yet.
      if (pgForRouting && jsonIsTruth(row)) {
        try {
          await withDeadline(assertJsonNotBehindDb(sql!, js), dbTimeoutMs, 'PostgreSQL (metadata)')
        } catch (err) {
          if (err instanceof PrescientError) throw err
          warn(`PostgreSQL stopped answering, continuing on JSON (phase ${row.phase}): ${mask(errorMessage(err))}`)
          pgForRouting = null
          dbError = err
          dbState = 'unreachable'
        }
      }
      // Raising the phase adds groups the database has never received: backfill them first.
      if (jsonIsTruth(row) && row.dbWrites.length && !opts.dryRun) {
        const previous = Number((await js.loadMetadata())?.last_cycle_phase ?? NaN)
        const before = Number.isInteger(previous) && previous >= 0 && previous <= 7 ? phaseRow(previous).dbWrites : []
        const added = row.dbWrites.filter((g) => !before.includes(g))
        if (added.length && (await js.loadPortfolio())) markBehind(config.dataDir, `phase raised from ${Number.isInteger(previous) ? previous : '?'} to ${row.phase}: ${added.join(', ')} never written to the database`, row.phase)
      }
      // JSON is the truth in phases 1-5: a DB left behind by an earlier failure is caught up first.
      if (pgForRouting && sql && jsonIsTruth(row) && row.dbWrites.length && readBehind(config.dataDir)) {
        if (opts.dryRun) {
          warn('the database is behind the JSON files; a real run would catch it up first')
        } else {
          try {
            const r = await withDeadline(syncJsonToDb(config.dataDir, sql, row.dbWrites), dbTimeoutMs * 5, 'PostgreSQL (catch-up)')
            logger.info(`caught the database up with JSON: ${r.summary}`)
            dbState = 'caught up'
          } catch (err) {
            warn(`catching the database up failed, it stays behind: ${mask(errorMessage(err))}`)
            // Never read state from a database that is behind the truth.
            pgForRouting = null
            dbError = err
          }
        }
      }
      return { pg: pgForRouting, dbError, dbState }
    }
    const loadInputs = async (reads: Pick<Store, 'loadPortfolio' | 'loadTrades'>) => {
      const portfolio = await reads.loadPortfolio()
      const openTrades = await reads.loadTrades({ status: 'open' })
      const spec = isSampleSpec(opts.source) ? samplePath(opts.source) : opts.source
      const source = await loadSource(spec, { gammaUrl: config.gammaUrl, dataDir: config.dataDir, bundledSnapshot: samplePath('sample'), ...gammaOptionsFromEnv(config.env) })
      return { portfolio, openTrades, source }
    }

    // The database side goes first: its errors and warnings come ahead of anything else's, as when
    // it ran before everything, and its pool is known (and closed below) whatever fails.
    const dbSide = prepareDb()
    dbSide.catch(() => {}) // awaited below, whatever else fails first
    if (!overlap) await dbSide
    const pending = dbSide.then((d) => ({ pg: d.pg, dbError: d.dbError }))
    pending.catch(() => {}) // the store's to await, or dbSide's error is reported below
    const store = new RoutedStore({ row, json: json!, pg: null, pending, dataDir: config.dataDir, dbTimeoutMs })
    const { portfolio, openTrades, source } = await loadInputs(store).catch(async (err) => {
      await dbSide
      throw err
    })

    // Pure from here to the commit; the source's warnings come after the database side's (below).
    const plan = () => {
      if (source.fallback) assertFreshEnough(source.fallback, config.env)
      // A recorded file runs on its own clock (else every market of an old snapshot looks
      // expired); live data, and the fallback for it, run on the wall clock.
      const recorded = opts.source !== 'api'
      const clock = opts.now ? new Date(opts.now) : recorded && source.snapshotTime ? new Date(source.snapshotTime) : new Date()
      if (Number.isNaN(clock.getTime())) throw new Error(`--now ${opts.now} is not a date`)

      const outcome = runTradingLogic({ source, portfolio, openTrades, now: clock, strategy: strategyFromEnv(config.env) })
      const wall = new Date().toISOString()
      const changes: CycleChanges = {
        at: clock.toISOString(),
        portfolio: outcome.portfolio,
        trades: outcome.trades,
        signals: outcome.signals,
        // archived_at is when the archive entry was written (wall clock): two cycles on the same
        // recorded snapshot share a clock, and must not overwrite each other's archive entry.
        archive: outcome.archive && { ...outcome.archive, archived_at: wall },
        history: outcome.history,
        rawEvents: source.fallback ? null : { fetched_at: source.fetchedAt, source: source.source, events: source.rawEvents },
        events: outcome.events,
        markets: outcome.markets,
        marketSnapshots: outcome.marketSnapshots,
        metadata: {
          last_event_export: wall,
          last_market_filter: wall,
          last_signal_generation: wall,
          ...(outcome.stats.executed ? { last_trade_execution: wall } : {}),
          last_cycle_at: wall,
          last_cycle_phase: String(row.phase),
          last_cycle_clock: clock.toISOString(),
        },
      }
      return { clock, outcome, changes }
    }
    let planned: ReturnType<typeof plan> | undefined
    let planError: unknown
    try {
      planned = plan()
    } catch (err) {
      planError = err
    }
    // In phases 1-4 the commit starts now: it stages the JSON files while the database side may
    // still run, and writes nothing before that has settled (RoutedStore, `pending`).
    const committing = planned && !opts.dryRun ? store.commit(planned.changes) : null
    committing?.catch(() => {}) // awaited below
    const db = await dbSide.catch(async (err) => {
      await committing?.catch(() => {})
      throw err
    })
    let dbState: CycleReport['storage']['db'] = db.dbState

    if (source.rejects.length) warn(`${source.rejects.length} source record(s) failed validation and were skipped (first: ${source.rejects[0]!.where}: ${source.rejects[0]!.reason})`)
    if (source.fallback) warn(`live data unavailable (${source.fallback.reason}); used ${source.fallback.from}`)
    if (!planned) throw planError
    const { clock, outcome } = planned

    if (opts.dryRun) dbState = 'dry run'
    else {
      await committing
      if (store.dbWriteFailures) dbState = sql ? 'write failed' : 'unreachable'
      if (store.dbWriteFailures && sql) warnings.push('PostgreSQL write failed; JSON was written and the database will be caught up by the next cycle or `prescient sync`')
    }

    const open = outcome.portfolio.positions
    return {
      phase: row.phase,
      phase_name: row.name,
      source: isSampleSpec(opts.source) ? `bundled ${opts.source} snapshot` : source.source,
      fallback: source.fallback ?? null,
      clock: clock.toISOString(),
      dry_run: !!opts.dryRun,
      stats: outcome.stats,
      signals: outcome.signals.map((s) => ({
        market_id: s.market_id,
        question: s.market_question,
        action: s.action,
        price: s.target_price,
        amount: s.amount,
        confidence: s.confidence,
        executed: s.executed,
        trade_id: s.trade_id,
      })),
      portfolio: {
        balance: outcome.portfolio.balance,
        total_invested: outcome.portfolio.total_invested,
        total_profit_loss: outcome.portfolio.total_profit_loss,
        total_value: outcome.history.total_value,
        open_positions: open.length,
        trade_count: outcome.portfolio.trade_count,
      },
      storage: {
        json_groups: opts.dryRun ? [] : [...row.jsonWrites],
        db_groups: opts.dryRun || dbState === 'unreachable' || dbState === 'write failed' ? [] : [...row.dbWrites],
        db: dbState,
        read_fallbacks: store.readFallbacks,
      },
      rejects: source.rejects,
      warnings,
    }
  } finally {
    // No grace: by now every DB operation has settled or was given up on by its deadline, and the
    // db-behind marker already accounts for anything given up on. Waiting for the server to close
    // its end of the socket (a few ms per cycle) would only delay the exit.
    await closeQuietly(sql ?? undefined, 0)
    lock?.release()
  }
}
