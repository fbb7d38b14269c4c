/**
 * trading_signals: every signal ever generated, keyed by (market_id, timestamp).
 * The JSON twin, current_signals.json, holds only the latest cycle's signals;
 * the table keeps them all, so the latest set's keys are recorded in
 * system_metadata (CURRENT_SIGNALS_KEY) in the same transaction. That also
 * makes "the last cycle produced no signals" representable.
 */
import type { Q } from '../client.ts'
import type { Action, Signal } from '../../domain.ts'
import { batches, dedupeBy, iso, isoN, jsonRows, num, numN, strN, type Fragment, type Row } from './_util.ts'
import { getMetadataValue, setMetadata } from './metadata.ts'

export const CURRENT_SIGNALS_KEY = 'current_signals'

const COLS = [
  'timestamp', 'market_id', 'market_question', 'action', 'target_price', 'amount', 'confidence', 'reason', 'yes_price', 'no_price',
  'market_liquidity', 'market_volume', 'event_id', 'event_title', 'event_end_date', 'executed', 'executed_at', 'trade_id',
] as const

const keyOf = (s: Pick<Signal, 'market_id' | 'timestamp'>) => `${s.market_id}\u0000${s.timestamp}`

export function signalFromRow(r: Row): Signal {
  return {
    timestamp: iso(r.timestamp),
    market_id: String(r.market_id),
    market_question: String(r.market_question),
    action: r.action as Action,
    target_price: num(r.target_price),
    amount: num(r.amount),
    confidence: num(r.confidence),
    reason: strN(r.reason),
    yes_price: num(r.yes_price),
    no_price: num(r.no_price),
    market_liquidity: numN(r.market_liquidity),
    market_volume: numN(r.market_volume),
    event_id: strN(r.event_id),
    event_title: strN(r.event_title),
    event_end_date: isoN(r.event_end_date),
    executed: r.executed === true,
    executed_at: isoN(r.executed_at),
    trade_id: strN(r.trade_id),
  }
}

const onConflict = (sql: Q) => sql`
  on conflict (market_id, timestamp) do update set
    market_question = excluded.market_question, action = excluded.action, target_price = excluded.target_price,
    amount = excluded.amount, confidence = excluded.confidence, reason = excluded.reason,
    yes_price = excluded.yes_price, no_price = excluded.no_price, market_liquidity = excluded.market_liquidity,
    market_volume = excluded.market_volume, event_id = excluded.event_id, event_title = excluded.event_title,
    event_end_date = excluded.event_end_date, executed = excluded.executed, executed_at = excluded.executed_at,
    trade_id = excluded.trade_id`

/** Upsert by (market_id, timestamp). trade_id references trades: write the trades first. */
export async function upsertSignals(sql: Q, signals: readonly Signal[]): Promise<void> {
  for (const chunk of batches(dedupeBy(signals, keyOf))) {
    await sql`insert into trading_signals ${sql(chunk, ...COLS)} ${onConflict(sql)}`
  }
}

/** The system_metadata entry that marks `signals` as the current set (what current_signals.json holds). */
export function currentSignalsMetadata(signals: readonly Signal[]): Record<string, string> {
  const keys = dedupeBy(signals, keyOf).map((s) => [s.market_id, s.timestamp])
  return { [CURRENT_SIGNALS_KEY]: JSON.stringify(keys) }
}

/** Store a cycle's signals and mark them as the current set (what current_signals.json holds). */
export async function saveCurrentSignals(sql: Q, signals: readonly Signal[]): Promise<void> {
  await upsertSignals(sql, signals)
  await setMetadata(sql, currentSignalsMetadata(signals))
}

/**
 * upsertSignals as one part of a single-statement commit (allInOne); the current-set entry goes
 * into that statement's metadata part (currentSignalsMetadata). The trades they reference may be
 * written by another part of the same statement: foreign keys are checked at its end.
 */
export function upsertSignalsParts(sql: Q, signals: readonly Signal[]): Fragment[] {
  const rows = dedupeBy(signals, keyOf)
  return rows.length ? [sql`insert into trading_signals (${sql(COLS)}) ${jsonRows(sql, 'trading_signals', COLS, rows)} ${onConflict(sql)}`] : []
}

/** The current set, in the order it was committed; [] before any cycle. */
export async function selectCurrentSignals(sql: Q): Promise<Signal[]> {
  const raw = await getMetadataValue(sql, CURRENT_SIGNALS_KEY)
  if (!raw) return []
  const rows = await sql`
    select ${sql(COLS.map((c) => `s.${c}`))}
    from jsonb_array_elements(${raw}::text::jsonb) with ordinality as k(key, ord)
    join trading_signals s on s.market_id = k.key->>0 and s.timestamp = (k.key->>1)::timestamptz
    order by k.ord`
  return rows.map(signalFromRow)
}

/** Every stored signal, oldest first. */
export async function selectAllSignals(sql: Q): Promise<Signal[]> {
  const rows = await sql`select ${sql(COLS)} from trading_signals order by timestamp, market_id collate "C"`
  return rows.map(signalFromRow)
}
