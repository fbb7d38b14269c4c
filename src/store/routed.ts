/**
 * The phase-routed store: JsonStore and PgStore composed by one row of the
 * phase matrix. All phase behaviour for storage lives in PHASES (src/phase.ts);
 * this class only follows it.
 */
import { isUnreachable } from '../db/client.ts'
import { Exit, PrescientError, errorMessage } from '../errors.ts'
import { logger } from '../logger.ts'
import { mask } from '../mask.ts'
import { GROUPS, jsonIsTruth, type Group, type PhaseRow } from '../phase.ts'
import { markBehind, clearBehind, readBehind } from './behind.ts'
import type { CycleChanges, Store, TradeQuery } from './types.ts'

export interface RoutedOptions {
  row: PhaseRow
  json: Store
  pg: Store | null
  dataDir: string
  /** why pg is null, for messages */
  dbError?: unknown
  /** read-only commands (status, report) may use JSON as the phase-6 emergency fallback */
  readOnly?: boolean
  /** deadline for each database operation (a link that goes silent never errors by itself) */
  dbTimeoutMs?: number
}

export const DEFAULT_DB_TIMEOUT_MS = 60_000

/** Reject after `ms`: postgres.js has no client-side query timeout, and a silent TCP link hangs for minutes. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} did not answer within ${ms / 1000} s`), { code: 'CONNECT_TIMEOUT' })), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

export class RoutedStore implements Store {
  readonly kind = 'routed'
  /** reads served from JSON because the DB failed (phase 5) */
  readFallbacks = 0
  /** DB writes that failed while JSON stayed the truth (phases 1-5) */
  dbWriteFailures = 0
  /** reads served from JSON in phase 6 (emergency) */
  emergencyReads = 0

  constructor(private readonly o: RoutedOptions) {}

  private timed<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.o.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS, what)
  }

  get row() {
    return this.o.row
  }

  private dbDown(err?: unknown): PrescientError {
    const why = err ?? this.o.dbError
    return new PrescientError(
      `phase ${this.o.row.phase} (${this.o.row.name}) needs the database, and it failed: ${mask(errorMessage(why ?? 'not connected'))}`,
      Exit.dbUnreachable,
      'nothing was written. Fix the database, or roll back to phase 5 only after `prescient sync --from-db`',
    )
  }

  private async read<T>(what: string, f: (s: Store) => Promise<T>): Promise<T> {
    const { row, json, pg } = this.o
    switch (row.reads) {
      case 'json':
        return f(json)
      case 'db-fallback':
        try {
          if (!pg) throw this.o.dbError ?? new Error('not connected')
          return await this.timed(f(pg), `PostgreSQL (reading ${what})`)
        } catch (err) {
          this.readFallbacks++
          logger.warn(`read of ${what} from PostgreSQL failed, using JSON (fallback #${this.readFallbacks}): ${mask(errorMessage(err))}`)
          return f(json)
        }
      case 'db-emergency':
      case 'db':
        try {
          if (!pg) throw this.dbDown()
          return await this.timed(f(pg), `PostgreSQL (reading ${what})`)
        } catch (err) {
          if (row.reads === 'db-emergency' && this.o.readOnly) {
            this.emergencyReads++
            logger.warn(`EMERGENCY: PostgreSQL failed; showing ${what} from the JSON files, which stopped being written in phase 6 and may be stale`)
            return f(json)
          }
          throw err instanceof PrescientError ? err : this.dbDown(err)
        }
    }
  }

  loadPortfolio() {
    return this.read('the portfolio', (s) => s.loadPortfolio())
  }
  loadTrades(query?: TradeQuery) {
    return this.read('trades', (s) => s.loadTrades(query))
  }
  loadSignals() {
    return this.read('signals', (s) => s.loadSignals())
  }
  loadHistory() {
    return this.read('portfolio history', (s) => s.loadHistory())
  }
  loadArchives() {
    return this.read('signal archives', (s) => s.loadArchives())
  }
  loadEvents() {
    return this.read('events', (s) => s.loadEvents())
  }
  loadMarkets() {
    return this.read('markets', (s) => s.loadMarkets())
  }

  async commit(changes: CycleChanges, groups: readonly Group[] = GROUPS): Promise<void> {
    const { row, json, pg, dataDir } = this.o
    const jsonGroups = row.jsonWrites.filter((g) => groups.includes(g))
    const dbGroups = row.dbWrites.filter((g) => groups.includes(g))
    if (!jsonIsTruth(row)) {
      if (!pg) throw this.dbDown()
      try {
        await this.timed(pg.commit(changes, dbGroups), 'PostgreSQL (commit)')
      } catch (err) {
        // a dropped link mid-commit is "database unreachable" (exit 5), not a runtime error
        if (!isUnreachable(err)) throw err
        throw new PrescientError(
          `phase ${row.phase} (${row.name}): the database connection failed during the commit: ${mask(errorMessage(err))}`,
          Exit.dbUnreachable,
          'no JSON was written; if the commit reached the server the next cycle reads it back, so nothing is traded twice',
        )
      }
      return
    }
    // JSON is the truth: write it first; the DB follows, or is caught up later.
    const wasBehind = readBehind(dataDir) !== null
    if (dbGroups.length) markBehind(dataDir, 'cycle in progress', row.phase)
    await json.commit(changes, jsonGroups)
    if (!dbGroups.length) return
    if (!pg) {
      this.dbWriteFailures++
      markBehind(dataDir, `database unreachable: ${mask(errorMessage(this.o.dbError ?? 'not connected'))}`, row.phase)
      logger.warn(`PostgreSQL is unreachable; JSON was written and the database will be caught up by the next cycle or \`prescient sync\``)
      return
    }
    try {
      await this.timed(pg.commit(changes, dbGroups), 'PostgreSQL (commit)')
      if (!wasBehind) clearBehind(dataDir)
    } catch (err) {
      this.dbWriteFailures++
      markBehind(dataDir, `database write failed: ${mask(errorMessage(err))}`, row.phase)
      logger.warn(`PostgreSQL write failed (${mask(errorMessage(err))}); JSON was written and the database will be caught up by the next cycle or \`prescient sync\``)
    }
  }

  async close() {
    await Promise.all([this.o.json.close(), this.o.pg?.close()])
  }
}
