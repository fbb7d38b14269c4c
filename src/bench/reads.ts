/**
 * `bench reads`: the reads a cycle and a report make, JSON against PostgreSQL,
 * on the same synthetic history. The JSON side is what JsonStore must do (read,
 * parse and validate the whole file, then filter/sort); the PostgreSQL side is
 * PgStore's indexed queries. Each pair is checked to return the same answer.
 */
import { join } from 'node:path'
import type { Trade } from '../domain.ts'
import { logger } from '../logger.ts'
import { JsonStore } from '../store/json.ts'
import { PgStore } from '../store/postgres.ts'
import type { BenchEnv } from './env.ts'
import { loadTradesIntoDb, syntheticPortfolio, writePortfolio, PORTFOLIO_WINDOW } from './load.ts'
import { fmtMs, fmtRatio, medianMs, round, timed } from './measure.ts'
import { machine, type BenchReport } from './report.ts'
import { generateTrades, syntheticTrade } from './synthetic.ts'

export const OPEN_OF_MARKET_TARGET = 50

type Pnl = Map<string, number>

function pnlPerMarket(trades: readonly Trade[]): Pnl {
  const out: Pnl = new Map()
  for (const t of trades) out.set(t.market_id, (out.get(t.market_id) ?? 0) + (t.realized_pnl ?? t.current_pnl ?? 0))
  return out
}

async function pnlPerMarketDb(env: BenchEnv): Promise<Pnl> {
  const rows = await env.sql`select market_id, sum(coalesce(realized_pnl, current_pnl, 0))::float8 as pnl from trades group by market_id`
  return new Map(rows.map((r) => [String(r.market_id), Number(r.pnl)]))
}

interface Pair {
  read: string
  json: () => Promise<number>
  db: () => Promise<number>
}

export async function benchReads(env: BenchEnv, opts: { rows: number }): Promise<BenchReport> {
  const n = opts.rows
  logger.start(`writing ${n.toLocaleString('en-US')} synthetic trades (JSON, and COPY into PostgreSQL)`)
  const file = await generateTrades(n, env.dir)
  await loadTradesIntoDb(env.sql, n, join(env.dir, 'trades.csv'))
  const portfolio = syntheticPortfolio(n)
  await writePortfolio(env.sql, env.dir, portfolio)
  await env.sql`analyze`

  const json = new JsonStore(env.dir)
  const pg = new PgStore(env.sql)
  const market = syntheticTrade(n - 1).market_id
  const pairs: Pair[] = [
    { read: 'portfolio + open positions', json: async () => (await json.loadPortfolio())!.positions.length, db: async () => (await pg.loadPortfolio())!.positions.length },
    { read: `open positions of one market (${market})`, json: async () => (await json.loadTrades({ marketId: market, status: 'open' })).length, db: async () => (await pg.loadTrades({ marketId: market, status: 'open' })).length },
    { read: 'last 100 trades', json: async () => (await json.loadTrades({ limit: 100 })).length, db: async () => (await pg.loadTrades({ limit: 100 })).length },
    { read: 'P&L per market', json: async () => pnlPerMarket(await json.loadTrades()).size, db: async () => (await pnlPerMarketDb(env)).size },
  ]
  // Whole-file parses of a big file take seconds each: fewer repetitions there.
  const jsonReps = n > 200_000 ? 1 : 3
  const rows: (string | number)[][] = []
  const figures: BenchReport['figures'] = { rows: n, json_mb: round(file.bytes / 2 ** 20), open_positions: portfolio.positions.length }
  let openOfMarketRatio = 0
  for (const [i, p] of pairs.entries()) {
    logger.info(`measuring: ${p.read}`)
    const jsonRows = (await timed(p.json)).value
    const dbRows = await p.db()
    if (jsonRows !== dbRows) throw new Error(`${p.read}: JSON returned ${jsonRows} rows, PostgreSQL ${dbRows}; the benchmark data is inconsistent`)
    const jsonMs = await medianMs(p.json, jsonReps)
    const dbMs = await medianMs(p.db, 5, 1)
    const ratio = jsonMs / dbMs
    if (i === 1) openOfMarketRatio = ratio
    rows.push([p.read, jsonRows, fmtMs(jsonMs), fmtMs(dbMs), fmtRatio(ratio)])
    figures[`read${i + 1}_json_ms`] = round(jsonMs, 2)
    figures[`read${i + 1}_db_ms`] = round(dbMs, 2)
    figures[`read${i + 1}_ratio`] = round(ratio, 1)
  }
  return {
    bench: 'reads',
    rows: n,
    machine: await machine(env.sql),
    head: ['read', 'rows returned', 'JSON', 'PostgreSQL', 'PG faster by'],
    table: rows,
    figures,
    targets: [{ what: 'open positions of one market, PG vs JSON', target: `>= ${OPEN_OF_MARKET_TARGET}x faster`, measured: fmtRatio(openOfMarketRatio), met: openOfMarketRatio >= OPEN_OF_MARKET_TARGET }],
    notes: [
      `paper_trades.json: ${round(file.bytes / 2 ** 20)} MB; portfolio.json holds the ${portfolio.positions.length} open trades among the newest ${Math.min(n, PORTFOLIO_WINDOW)}.`,
      `JSON: JsonStore (read + JSON.parse + valibot validation of the whole file, then filter/sort), median of ${jsonReps}; PostgreSQL: PgStore / one SQL aggregate, median of 5 after a warm-up.`,
    ],
  }
}

