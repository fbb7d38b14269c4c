/** portfolio_state (one row, id = 1), portfolio_positions (the open positions), portfolio_snapshots (DB-only series). */
import type { Q } from '../client.ts'
import type { Action, PortfolioState, Position, TradeStatus } from '../../domain.ts'
import { batches, dedupeBy, iso, isoN, jsonb, jsonRows, num, numN, type Fragment, type Row } from './_util.ts'

const POSITION_COLS = [
  'trade_id', 'market_id', 'market_question', 'action', 'amount', 'entry_price', 'entry_timestamp', 'status',
  'current_pnl', 'realized_pnl', 'exit_price', 'exit_timestamp',
] as const

export interface PortfolioSnapshot {
  timestamp: string
  balance: number
  total_invested: number
  total_profit_loss: number
  trade_count: number
}

/** The one state row; also a part of the single-statement commit (allInOne). */
export const upsertStatePart = (sql: Q, s: PortfolioState): Fragment => sql`
  insert into portfolio_state (id, balance, total_invested, total_profit_loss, trade_count, created_at, last_updated)
  values (1, ${s.balance}, ${s.total_invested}, ${s.total_profit_loss}, ${s.trade_count}, ${s.created_at}, ${s.last_updated})
  on conflict (id) do update set
    balance = excluded.balance, total_invested = excluded.total_invested,
    total_profit_loss = excluded.total_profit_loss, trade_count = excluded.trade_count,
    created_at = excluded.created_at, last_updated = excluded.last_updated`

export async function upsertState(sql: Q, s: PortfolioState): Promise<void> {
  await upsertStatePart(sql, s)
}

export async function selectState(sql: Q): Promise<PortfolioState | null> {
  const [r] = await sql`
    select balance, total_invested, total_profit_loss, trade_count, created_at, last_updated
    from portfolio_state where id = 1`
  if (!r) return null
  return {
    balance: num(r.balance),
    total_invested: num(r.total_invested),
    total_profit_loss: num(r.total_profit_loss),
    trade_count: num(r.trade_count),
    created_at: iso(r.created_at),
    last_updated: iso(r.last_updated),
  }
}

export function positionFromRow(r: Row): Position {
  return {
    trade_id: String(r.trade_id),
    market_id: String(r.market_id),
    market_question: String(r.market_question),
    action: r.action as Action,
    amount: num(r.amount),
    entry_price: num(r.entry_price),
    entry_timestamp: iso(r.entry_timestamp),
    status: r.status as TradeStatus,
    current_pnl: numN(r.current_pnl),
    realized_pnl: numN(r.realized_pnl),
    exit_price: numN(r.exit_price),
    exit_timestamp: isoN(r.exit_timestamp),
  }
}

const positionsOnConflict = (sql: Q) => sql`
  on conflict (trade_id) do update set
    market_id = excluded.market_id, market_question = excluded.market_question, action = excluded.action,
    amount = excluded.amount, entry_price = excluded.entry_price, entry_timestamp = excluded.entry_timestamp,
    status = excluded.status, current_pnl = excluded.current_pnl, realized_pnl = excluded.realized_pnl,
    exit_price = excluded.exit_price, exit_timestamp = excluded.exit_timestamp`

const deleteOtherPositions = (sql: Q, rows: readonly Position[]) =>
  sql`delete from portfolio_positions where trade_id not in (select jsonb_array_elements_text(${jsonb(sql, rows.map((p) => p.trade_id))}))`

/** Make the table equal to `positions`: upsert them, delete every other row (a closed position leaves). */
export async function replacePositions(sql: Q, positions: readonly Position[]): Promise<void> {
  const rows = dedupeBy(positions, (p) => p.trade_id)
  for (const chunk of batches(rows)) {
    await sql`insert into portfolio_positions ${sql(chunk, ...POSITION_COLS)} ${positionsOnConflict(sql)}`
  }
  await deleteOtherPositions(sql, rows)
}

/** replacePositions as parts of a single-statement commit (allInOne): the upsert and the delete touch disjoint rows. */
export function replacePositionsParts(sql: Q, positions: readonly Position[]): Fragment[] {
  const rows = dedupeBy(positions, (p) => p.trade_id)
  const upsert = sql`insert into portfolio_positions (${sql(POSITION_COLS)}) ${jsonRows(sql, 'portfolio_positions', POSITION_COLS, rows)} ${positionsOnConflict(sql)}`
  return [...(rows.length ? [upsert] : []), deleteOtherPositions(sql, rows)]
}

/** Oldest first, ties by trade_id in byte order (JsonStore sorts the same way). */
export async function selectPositions(sql: Q): Promise<Position[]> {
  const rows = await sql`select ${sql(POSITION_COLS)} from portfolio_positions order by entry_timestamp, trade_id collate "C"`
  return rows.map(positionFromRow)
}

/** One row per cycle clock; re-committing the same cycle adds nothing. Also a part of the single-statement commit. */
export const insertSnapshotPart = (sql: Q, at: string, s: PortfolioState): Fragment => sql`
  insert into portfolio_snapshots (timestamp, balance, total_invested, total_profit_loss, trade_count)
  values (${at}, ${s.balance}, ${s.total_invested}, ${s.total_profit_loss}, ${s.trade_count})
  on conflict (timestamp) do nothing`

export async function insertSnapshot(sql: Q, at: string, s: PortfolioState): Promise<void> {
  await insertSnapshotPart(sql, at, s)
}

export async function selectSnapshots(sql: Q): Promise<PortfolioSnapshot[]> {
  const rows = await sql`
    select timestamp, balance, total_invested, total_profit_loss, trade_count from portfolio_snapshots order by timestamp`
  return rows.map((r) => ({
    timestamp: iso(r.timestamp),
    balance: num(r.balance),
    total_invested: num(r.total_invested),
    total_profit_loss: num(r.total_profit_loss),
    trade_count: num(r.trade_count),
  }))
}
