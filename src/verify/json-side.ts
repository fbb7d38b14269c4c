/**
 * The JSON side of each table, as a stream of rows normalised by the same
 * valibot schemas the JSON store reads with. Array files are streamed element
 * by element (paper_trades.json may hold a million trades); portfolio.json and
 * current_signals.json are small and read whole.
 */
import { join } from 'node:path'
import { JsonStore } from '../store/json.ts'
import {
  archiveRel,
  EventRecordSchema,
  FILES,
  HistoryRowSchema,
  MarketRecordSchema,
  readJsonFile,
  SignalArchiveSchema,
  TradeSchema,
  validate,
} from '../schema/files.ts'
import { SEP } from './canon.ts'
import { streamElements } from './elements.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>
export type JsonRows = (dataDir: string) => AsyncIterable<Obj>

/** Each element of an array file, validated with the element schema; a missing file yields nothing. */
async function* elementsOf(path: string, schema: Parameters<typeof validate>[0]): AsyncGenerator<Obj> {
  let i = 0
  for await (const el of streamElements(path)) {
    yield validate(schema, el, `${path} $[${i}]`) as Obj
    i++
  }
}

const readPortfolio = (dataDir: string) => readJsonFile(join(dataDir, FILES.portfolio.rel), FILES.portfolio.schema, { kind: 'object' })

async function* archiveEntries(dataDir: string): AsyncGenerator<Obj> {
  const months = await new JsonStore(dataDir).archiveMonths()
  for (const m of months) yield* elementsOf(join(dataDir, archiveRel(m)), SignalArchiveSchema)
}

export const jsonRows = {
  trades: (dataDir) => elementsOf(join(dataDir, FILES.trades.rel), TradeSchema),

  async *portfolio_state(dataDir) {
    const p = await readPortfolio(dataDir)
    if (!p) return
    const { positions: _, ...state } = p
    yield state
  },

  async *portfolio_positions(dataDir) {
    yield* (await readPortfolio(dataDir))?.positions ?? []
  },

  /** Every archived signal, then the current file, which wins on a key clash (as allJsonSignals does). */
  async *trading_signals(dataDir) {
    const current = await readJsonFile(join(dataDir, FILES.signals.rel), FILES.signals.schema, { kind: 'array' })
    const currentKeys = new Set(current.map((s) => `${s.market_id}${SEP}${s.timestamp}`))
    for await (const entry of archiveEntries(dataDir)) {
      for (const s of entry.signals as Obj[]) if (!currentKeys.has(`${s.market_id}${SEP}${s.timestamp}`)) yield s
    }
    yield* current
  },

  signal_archives: archiveEntries,
  portfolio_history: (dataDir) => elementsOf(join(dataDir, FILES.history.rel), HistoryRowSchema),
  events: (dataDir) => elementsOf(join(dataDir, FILES.events.rel), EventRecordSchema),
  markets: (dataDir) => elementsOf(join(dataDir, FILES.markets.rel), MarketRecordSchema),
} satisfies Record<string, JsonRows>
