/**
 * Loading a synthetic history for the read benchmark: the trades file (the
 * import engineer's generator), the same rows into PostgreSQL with COPY, and a
 * portfolio whose open positions are the open trades among the newest ones.
 */
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { join } from 'node:path'
import { serializeJson } from '../atomic.ts'
import type { Sql } from '../db/client.ts'
import { replacePositions, upsertState } from '../db/queries/portfolio.ts'
import { money, type Portfolio, type Position } from '../domain.ts'
import { FILES } from '../schema/files.ts'
import { generateTradesCsv, syntheticTrade, TRADE_CSV_COLUMNS } from './synthetic.ts'

/** A portfolio holds the open trades among the newest ones; older synthetic trades are history. */
export const PORTFOLIO_WINDOW = 2000

/** COPY a CSV of trades (as generateTradesCsv writes it) into the trades table. */
export async function copyTradesCsv(sql: Sql, csvPath: string): Promise<void> {
  const writable = await sql`copy trades (${sql(TRADE_CSV_COLUMNS as unknown as string[])}) from stdin with (format csv)`.writable()
  await pipeline(createReadStream(csvPath, { highWaterMark: 1 << 20 }), writable)
}

export function syntheticPortfolio(n: number): Portfolio {
  const positions: Position[] = []
  for (let i = Math.max(0, n - PORTFOLIO_WINDOW); i < n; i++) {
    const t = syntheticTrade(i)
    if (t.status !== 'open') continue
    positions.push({
      trade_id: t.trade_id, market_id: t.market_id, market_question: t.market_question, action: t.action, amount: t.amount,
      entry_price: t.entry_price, entry_timestamp: t.timestamp, status: 'open', current_pnl: t.current_pnl,
      realized_pnl: null, exit_price: null, exit_timestamp: null,
    })
  }
  const invested = money(positions.reduce((s, p) => s + p.amount, 0))
  return {
    balance: money(10_000 + n * 0.01),
    total_invested: invested,
    total_profit_loss: money(positions.reduce((s, p) => s + (p.current_pnl ?? 0), 0)),
    trade_count: n,
    created_at: syntheticTrade(0).timestamp,
    last_updated: syntheticTrade(Math.max(0, n - 1)).timestamp,
    positions,
  }
}

/** The portfolio in both stores: portfolio.json and portfolio_state + portfolio_positions. */
export async function writePortfolio(sql: Sql, dir: string, p: Portfolio): Promise<void> {
  await Bun.write(join(dir, FILES.portfolio.rel), serializeJson(p))
  await sql.begin(async (tx) => {
    await upsertState(tx, p)
    await replacePositions(tx, p.positions)
  })
}

/** The trades CSV twin, COPY'd in, then ANALYZE so the planner knows the table's size. */
export async function loadTradesIntoDb(sql: Sql, n: number, csvPath: string): Promise<void> {
  await generateTradesCsv(n, csvPath)
  await copyTradesCsv(sql, csvPath)
  await sql`analyze trades`
}
