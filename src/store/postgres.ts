/**
 * The PostgreSQL store. A commit is ONE transaction over every table of the
 * given groups plus system_metadata: it lands whole or not at all. Loads return
 * the same shapes, in the same order, as JsonStore, so the two compare with a
 * plain deep-equal.
 */
import * as v from 'valibot'
import type { EventRecord, HistoryRow, MarketRecord, Portfolio, Signal, SignalArchive, Trade } from '../domain.ts'
import type { Group } from '../phase.ts'
import type { Sql } from '../db/client.ts'
import { SignalSchema } from '../schema/files.ts'
import { checkChanges } from './changes.ts'
import type { CycleChanges, Store, TradeQuery } from './types.ts'
import { selectTrades, upsertTrades } from '../db/queries/trades.ts'
import { insertSnapshot, replacePositions, selectPositions, selectState, upsertState } from '../db/queries/portfolio.ts'
import { selectArchives, selectHistory, upsertArchives, upsertHistory } from '../db/queries/history.ts'
import { saveCurrentSignals, selectCurrentSignals } from '../db/queries/signals.ts'
import { insertMarketSnapshots, replaceEvents, replaceMarkets, selectEvents, selectMarkets } from '../db/queries/markets.ts'
import { setMetadata } from '../db/queries/metadata.ts'

/** A scheduled cycle must not hang on a lock held by someone's open psql session. */
const LOCK_TIMEOUT = '10s'
const STATEMENT_TIMEOUT = '120s'

const canonical = (s: Signal): Signal => {
  const r = v.safeParse(SignalSchema, s)
  return r.success ? r.output : s
}

export class PgStore implements Store {
  readonly kind = 'postgres'

  /** The pool belongs to whoever opened it (the command closes it in cleanup); close() leaves it open. */
  constructor(readonly sql: Sql) {}

  /** State and positions from one snapshot, so a concurrent commit cannot split them. */
  async loadPortfolio(): Promise<Portfolio | null> {
    return this.sql.begin('isolation level repeatable read read only', async (tx) => {
      const state = await selectState(tx)
      return state && { ...state, positions: await selectPositions(tx) }
    })
  }

  loadTrades(query?: TradeQuery): Promise<Trade[]> {
    return selectTrades(this.sql, query)
  }

  loadSignals(): Promise<Signal[]> {
    return selectCurrentSignals(this.sql)
  }

  loadHistory(): Promise<HistoryRow[]> {
    return selectHistory(this.sql)
  }

  /** JSONB reorders keys; re-reading through the schema restores the JSON files' field order. */
  async loadArchives(): Promise<SignalArchive[]> {
    const rows = await selectArchives(this.sql)
    return rows.map((a) => ({ ...a, signals: a.signals.map(canonical) }))
  }

  loadEvents(): Promise<EventRecord[]> {
    return selectEvents(this.sql)
  }

  loadMarkets(): Promise<MarketRecord[]> {
    return selectMarkets(this.sql)
  }

  async commit(changes: CycleChanges, groups: readonly Group[]): Promise<void> {
    if (!groups.length) return
    const c = checkChanges(changes, groups)
    const has = (g: Group) => groups.includes(g)
    await this.sql.begin(async (tx) => {
      await tx`select set_config('lock_timeout', ${LOCK_TIMEOUT}, true), set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true)`
      // Trades first: trading_signals.trade_id references them.
      if (has('portfolio')) {
        await upsertTrades(tx, c.trades)
        await upsertState(tx, c.portfolio)
        await replacePositions(tx, c.portfolio.positions)
        await insertSnapshot(tx, c.at, c.portfolio)
      }
      if (has('history')) {
        await upsertHistory(tx, [c.history])
        if (c.archive) await upsertArchives(tx, [c.archive])
      }
      if (has('signals')) await saveCurrentSignals(tx, c.signals)
      if (has('markets')) {
        await replaceEvents(tx, c.events)
        await replaceMarkets(tx, c.markets)
        await insertMarketSnapshots(tx, c.marketSnapshots)
      }
      await setMetadata(tx, c.metadata)
    })
  }

  async close(): Promise<void> {}
}
