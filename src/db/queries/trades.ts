/** trades: the full trade history, keyed by trade_id. */
import type { Q } from '../client.ts'
import type { Action, Trade, TradeStatus } from '../../domain.ts'
import type { TradeQuery } from '../../store/types.ts'
import { batches, dedupeBy, iso, isoN, jsonRows, num, numN, strN, type Fragment, type Row } from './_util.ts'

const COLS = [
  'trade_id', 'timestamp', 'market_id', 'market_question', 'action', 'amount', 'entry_price', 'confidence', 'reason', 'status',
  'event_id', 'event_title', 'event_end_date', 'current_pnl', 'realized_pnl', 'exit_price', 'exit_timestamp',
] as const

export function tradeFromRow(r: Row): Trade {
  return {
    trade_id: String(r.trade_id),
    timestamp: iso(r.timestamp),
    market_id: String(r.market_id),
    market_question: String(r.market_question),
    action: r.action as Action,
    amount: num(r.amount),
    entry_price: num(r.entry_price),
    confidence: num(r.confidence),
    reason: strN(r.reason),
    status: r.status as TradeStatus,
    event_id: strN(r.event_id),
    event_title: strN(r.event_title),
    event_end_date: isoN(r.event_end_date),
    current_pnl: numN(r.current_pnl),
    realized_pnl: numN(r.realized_pnl),
    exit_price: numN(r.exit_price),
    exit_timestamp: isoN(r.exit_timestamp),
  }
}

const onConflict = (sql: Q) => sql`
  on conflict (trade_id) do update set
    timestamp = excluded.timestamp, market_id = excluded.market_id, market_question = excluded.market_question,
    action = excluded.action, amount = excluded.amount, entry_price = excluded.entry_price,
    confidence = excluded.confidence, reason = excluded.reason, status = excluded.status,
    event_id = excluded.event_id, event_title = excluded.event_title, event_end_date = excluded.event_end_date,
    current_pnl = excluded.current_pnl, realized_pnl = excluded.realized_pnl,
    exit_price = excluded.exit_price, exit_timestamp = excluded.exit_timestamp`

/** Insert new trades and overwrite changed ones (status, P&L, exit) in place. */
export async function upsertTrades(sql: Q, trades: readonly Trade[]): Promise<number> {
  let n = 0
  for (const chunk of batches(dedupeBy(trades, (t) => t.trade_id))) {
    const res = await sql`insert into trades ${sql(chunk, ...COLS)} ${onConflict(sql)}`
    n += res.count
  }
  return n
}

/** upsertTrades as one part of a single-statement commit (allInOne); [] when there is nothing to write. */
export function upsertTradesParts(sql: Q, trades: readonly Trade[]): Fragment[] {
  const rows = dedupeBy(trades, (t) => t.trade_id)
  return rows.length ? [sql`insert into trades (${sql(COLS)}) ${jsonRows(sql, 'trades', COLS, rows)} ${onConflict(sql)}`] : []
}

/** Newest first; ties broken by trade_id in byte order, the same order JsonStore uses. */
export async function selectTrades(sql: Q, q: TradeQuery = {}): Promise<Trade[]> {
  const rows = await sql`
    select ${sql(COLS)} from trades
    where ${q.marketId === undefined ? sql`true` : sql`market_id = ${q.marketId}`}
      and ${q.status === undefined ? sql`true` : sql`status = ${q.status}`}
    order by timestamp desc, trade_id collate "C" desc
    ${q.limit === undefined ? sql`` : sql`limit ${Math.max(0, q.limit)}`}`
  return rows.map(tradeFromRow)
}

export async function countTrades(sql: Q): Promise<number> {
  const [r] = await sql`select count(*)::int as n from trades`
  return r!.n as number
}
