/**
 * Synthetic data for `prescient bench import`: N valid trades written STREAMING
 * (one element at a time, honouring the write stream's backpressure), so a
 * million-trade file never exists as an array in memory. Rows are a pure
 * function of their index, so the JSON and the CSV twin hold identical rows.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { once } from 'node:events'
import type { Trade } from '../domain.ts'
import { FILES } from '../schema/files.ts'

const BASE_MS = Date.parse('2024-01-01T00:00:00.000Z')

/** The i-th synthetic trade; already normalised (cents, 6/4 places, ISO Z times). */
export function syntheticTrade(i: number): Trade {
  const closed = i % 4 === 0
  const entry = Math.round((0.05 + ((i * 7919) % 9000) / 10000) * 1e6) / 1e6
  const amount = Math.round(((i * 104729) % 50000) + 100) / 100
  const market = i % 5000
  const event = i % 900
  return {
    trade_id: `syn-${String(i).padStart(8, '0')}`,
    timestamp: new Date(BASE_MS + i * 30_000).toISOString(),
    market_id: `${600000 + market}`,
    market_question: `Will synthetic market #${market} resolve YES before the end of the quarter?`,
    action: i % 2 ? 'buy_yes' : 'buy_no',
    amount,
    entry_price: entry,
    confidence: Math.round((0.5 + (i % 5000) / 10000) * 1e4) / 1e4,
    reason: `conviction ${(i % 100) / 100} with ${i % 60} days left`,
    status: closed ? 'closed' : 'open',
    event_id: `${90000 + event}`,
    event_title: `Synthetic event ${event}`,
    event_end_date: new Date(BASE_MS + (400 + (event % 60)) * 86_400_000).toISOString(),
    current_pnl: closed ? null : Math.round(((i % 2001) - 1000)) / 100,
    realized_pnl: closed ? Math.round(((i % 3001) - 1500)) / 100 : null,
    exit_price: closed ? (i % 8 === 0 ? 1 : 0) : null,
    exit_timestamp: closed ? new Date(BASE_MS + i * 30_000 + 86_400_000).toISOString() : null,
  }
}

/** Write lines from a generator to a file, waiting for 'drain' when the stream is full. */
async function writeLines(path: string, lines: Iterable<string>): Promise<number> {
  mkdirSync(dirname(path), { recursive: true })
  const out = createWriteStream(path, { highWaterMark: 1 << 20 })
  let bytes = 0
  for (const line of lines) {
    bytes += Buffer.byteLength(line)
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return bytes
}

/** Same layout as the stores write (2-space indent), element by element. */
function* tradesJson(n: number): Generator<string> {
  yield n ? '[\n' : '[]\n'
  let buf = ''
  for (let i = 0; i < n; i++) {
    buf += `${i ? ',\n' : ''}  ${JSON.stringify(syntheticTrade(i), null, 2).replace(/\n/g, '\n  ')}`
    if (buf.length > 1 << 16) {
      yield buf
      buf = ''
    }
  }
  if (n) yield `${buf}\n]\n`
}

/** Writes {dir}/trades/paper_trades.json with n trades; returns its path and size. */
export async function generateTrades(n: number, dir: string): Promise<{ path: string; bytes: number }> {
  const path = join(dir, FILES.trades.rel)
  return { path, bytes: await writeLines(path, tradesJson(n)) }
}

export const TRADE_CSV_COLUMNS = [
  'trade_id', 'timestamp', 'market_id', 'market_question', 'action', 'amount', 'entry_price', 'confidence', 'reason', 'status',
  'event_id', 'event_title', 'event_end_date', 'current_pnl', 'realized_pnl', 'exit_price', 'exit_timestamp',
] as const satisfies readonly (keyof Trade)[]

const csvCell = (x: unknown) => (x === null ? '' : /[",\n\r]/.test(String(x)) ? `"${String(x).replace(/"/g, '""')}"` : String(x))

function* tradesCsv(n: number): Generator<string> {
  let buf = ''
  for (let i = 0; i < n; i++) {
    const t = syntheticTrade(i)
    buf += TRADE_CSV_COLUMNS.map((c) => csvCell(t[c])).join(',') + '\n'
    if (buf.length > 1 << 16) {
      yield buf
      buf = ''
    }
  }
  yield buf
}

/** The same n trades as CSV (no header, empty = NULL), for a `psql \copy trades(...) ... csv` baseline. */
export async function generateTradesCsv(n: number, path: string): Promise<{ path: string; bytes: number }> {
  return { path, bytes: await writeLines(path, tradesCsv(n)) }
}
