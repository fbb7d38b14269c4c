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
import { checkChanges } from './changes.ts'
import type { CommitOptions, CycleChanges, Store, TradeQuery } from './types.ts'

export interface RoutedOptions {
  row: PhaseRow
  json: Store
  pg: Store | null
  dataDir: string
  /** why pg is null, for messages */
  dbError?: unknown
  /**
   * The database half while it is still being opened and checked; when given, it replaces pg and
   * dbError. JSON reads do not wait for it; database reads and commits do, and nothing is
   * committed before it settles (a rejection commits nothing), but a commit stages its JSON
   * files meanwhile. So a cycle that only reads JSON (phases 1-4) opens the database in parallel.
   */
  pending?: Promise<{ pg: Store | null; dbError?: unknown }>
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

  /** The database half: the constructor's, or the pending one once it has settled. */
  private db(): Promise<{ pg: Store | null; dbError?: unknown }> {
    return this.o.pending ?? Promise.resolve({ pg: this.o.pg, dbError: this.o.dbError })
  }

  private timed<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.o.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS, what)
  }

  get row() {
    return this.o.row
  }

  private dbDown(err?: unknown, dbError = this.o.dbError): PrescientError {
    const why = err ?? dbError
    return new PrescientError(
      `phase ${this.o.row.phase} (${this.o.row.name}) needs the database, and it failed: ${mask(errorMessage(why ?? 'not connected'))}`,
      Exit.dbUnreachable,
      'nothing was written. Fix the database, or roll back to phase 5 only after `prescient sync --from-db`',
    )
  }

  private async read<T>(what: string, f: (s: Store) => Promise<T>): Promise<T> {
    const { row, json } = this.o
    if (row.reads === 'json') return f(json)
    const { pg, dbError } = await this.db()
    switch (row.reads) {
      case 'db-fallback':
        try {
          if (!pg) throw dbError ?? new Error('not connected')
          return await this.timed(f(pg), `PostgreSQL (reading ${what})`)
        } catch (err) {
          this.readFallbacks++
          logger.warn(`read of ${what} from PostgreSQL failed, using JSON (fallback #${this.readFallbacks}): ${mask(errorMessage(err))}`)
          return f(json)
        }
      case 'db-emergency':
      case 'db':
        try {
          if (!pg) throw this.dbDown(undefined, dbError)
          return await this.timed(f(pg), `PostgreSQL (reading ${what})`)
        } catch (err) {
          if (row.reads === 'db-emergency' && this.o.readOnly) {
            this.emergencyReads++
            logger.warn(`EMERGENCY: PostgreSQL failed; showing ${what} from the JSON files, which stopped being written in phase 6 and may be stale`)
            return f(json)
          }
          throw err instanceof PrescientError ? err : this.dbDown(err, dbError)
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

  async commit(changes: CycleChanges, groups: readonly Group[] = GROUPS, opts: CommitOptions = {}): Promise<void> {
    const { row, json, dataDir } = this.o
    const jsonGroups = row.jsonWrites.filter((g) => groups.includes(g))
    const dbGroups = row.dbWrites.filter((g) => groups.includes(g))
    if (!jsonIsTruth(row)) {
      await opts.gate
      const { pg, dbError } = await this.db()
      if (!pg) throw this.dbDown(undefined, dbError)
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
    // JSON is the truth: it lands first; the DB follows, or is caught up later.
    // The JSON files are validated (once, for both stores), serialised and fsynced as temps right
    // away, while the database may still be opened and checked; they are renamed only after that,
    // and after the db-behind marker.
    let checked: CycleChanges | undefined
    let invalid: unknown
    try {
      checked = checkChanges(changes, [...new Set([...jsonGroups, ...dbGroups])])
    } catch (err) {
      invalid = err
    }
    const publish = deferred()
    const staged = checked && json.commit(checked, jsonGroups, { gate: publish.promise })
    staged?.catch(() => {}) // awaited below
    let db: { pg: Store | null; dbError?: unknown }
    try {
      await opts.gate
      db = await this.db()
    } catch (err) {
      // the database side refused the cycle (or the caller's gate closed): the temps go, nothing is written
      publish.reject(err)
      await staged?.catch(() => {})
      throw err
    }
    const pg = dbGroups.length ? db.pg : null
    const wasBehind = readBehind(dataDir) !== null
    if (dbGroups.length) markBehind(dataDir, 'cycle in progress', row.phase)
    if (!staged) throw invalid
    if (!pg) {
      publish.resolve()
      await staged
      if (!dbGroups.length) return
      this.dbWriteFailures++
      markBehind(dataDir, `database unreachable: ${mask(errorMessage(db.dbError ?? 'not connected'))}`, row.phase)
      logger.warn(`PostgreSQL is unreachable; JSON was written and the database will be caught up by the next cycle or \`prescient sync\``)
      return
    }
    // The DB transaction does its statement while the JSON files are renamed, and sends COMMIT
    // only once they are: the DB is never ahead of the truth, and a failed JSON write rolls the
    // transaction back. The deadline runs from there, as it did when the transaction only began
    // after the JSON commit.
    const commitGate = deferred()
    const pgCommit = pg.commit(checked!, dbGroups, { gate: commitGate.promise })
    pgCommit.catch(() => {}) // settled below, or abandoned with the JSON error (the server then rolls back)
    publish.resolve()
    try {
      await staged
    } catch (err) {
      commitGate.reject(err)
      throw err
    }
    commitGate.resolve()
    try {
      await this.timed(pgCommit, 'PostgreSQL (commit)')
      if (!wasBehind) clearBehind(dataDir)
    } catch (err) {
      this.dbWriteFailures++
      markBehind(dataDir, `database write failed: ${mask(errorMessage(err))}`, row.phase)
      logger.warn(`PostgreSQL write failed (${mask(errorMessage(err))}); JSON was written and the database will be caught up by the next cycle or \`prescient sync\``)
    }
  }

  async close() {
    const db = await this.db().catch(() => null)
    await Promise.all([this.o.json.close(), db?.pg?.close()])
  }
}

/** A promise with its resolve and reject at hand; a rejection nobody awaits is not reported. */
function deferred() {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
