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
import type { CommitOptions, CycleChanges, Store, TradeQuery } from './types.ts'
import { allInOne, type Fragment } from '../db/queries/_util.ts'
import { selectTrades, upsertTradesParts } from '../db/queries/trades.ts'
import { insertSnapshotPart, replacePositionsParts, selectPositions, selectState, upsertStatePart } from '../db/queries/portfolio.ts'
import { selectArchives, selectHistory, upsertArchivesParts, upsertHistoryParts } from '../db/queries/history.ts'
import { currentSignalsMetadata, selectCurrentSignals, upsertSignalsParts } from '../db/queries/signals.ts'
import { insertMarketSnapshotsParts, replaceEventsParts, replaceMarketsParts, selectEvents, selectMarkets } from '../db/queries/markets.ts'
import { setMetadataParts } from '../db/queries/metadata.ts'

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

  async commit(changes: CycleChanges, groups: readonly Group[], opts: CommitOptions = {}): Promise<void> {
    if (!groups.length) return
    opts.gate?.catch(() => {}) // awaited before COMMIT; it may close before that
    const c = checkChanges(changes, groups)
    const has = (g: Group) => groups.includes(g)
    await this.sql.begin(async (tx) => {
      // Every table in ONE statement (see allInOne): a round trip and a parse per cycle, not per table.
      const parts: Fragment[] = []
      if (has('portfolio')) {
        parts.push(...upsertTradesParts(tx, c.trades), upsertStatePart(tx, c.portfolio))
        parts.push(...replacePositionsParts(tx, c.portfolio.positions), insertSnapshotPart(tx, c.at, c.portfolio))
      }
      if (has('history')) parts.push(...upsertHistoryParts(tx, [c.history]), ...upsertArchivesParts(tx, c.archive ? [c.archive] : []))
      // trading_signals.trade_id references trades: checked at the end of the statement, after every part
      if (has('signals')) parts.push(...upsertSignalsParts(tx, c.signals))
      if (has('markets')) parts.push(...replaceEventsParts(tx, c.events), ...replaceMarketsParts(tx, c.markets), ...insertMarketSnapshotsParts(tx, c.marketSnapshots))
      // one metadata part: the current-signals entry, then the cycle's own keys (the later wins, as before)
      parts.push(...setMetadataParts(tx, { ...(has('signals') ? currentSignalsMetadata(c.signals) : {}), ...c.metadata }))
      // The timeouts come first: a scheduled cycle must not hang on a lock held by someone's open
      // psql session. The constants are inlined (no parameter), so the statement that follows is
      // sent behind them without waiting for their answer.
      await Promise.all([tx`select set_config('lock_timeout', '10s', true), set_config('statement_timeout', '120s', true)`, allInOne(tx, parts)])
      // COMMIT only once the gate opens; a rejected gate throws here, and the transaction rolls back
      await opts.gate
    })
  }

  async close(): Promise<void> {}
}
