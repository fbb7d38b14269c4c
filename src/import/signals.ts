/**
 * trading_signals is fed by every signal JSON knows (src/sync.ts allJsonSignals):
 * the signals inside the monthly archive entries, then trades/current_signals.json.
 * On a key clash the later source wins, so each record carries an order (_ord):
 * the entry's archived_at, then its position; current signals come last. An
 * archive entry superseded by a later one with the same archived_at (the file
 * schema's lastWins) is skipped, as the JSON store skips it.
 */
import * as v from 'valibot'
import { SignalArchiveSchema, toIsoUtc } from '../schema/files.ts'
import { streamJsonArray } from './stream.ts'
import type { Emit, FileStat, OnBytes, Source } from './tables.ts'

const CURRENT = 2n ** 62n
const PER_ENTRY = 2n ** 20n

const idOf = (rel: string, i: number) => `${rel}\u0000${i}`

/** archived_at -> the id of the last valid entry carrying it, across all months in order. */
async function archiveWinners(archives: Source[]): Promise<Map<string, string>> {
  const winners = new Map<string, string>()
  for (const s of archives) {
    await streamJsonArray(s.path, (entry, i) => {
      const r = v.safeParse(SignalArchiveSchema, entry, { abortPipeEarly: true })
      if (r.success) winners.set(r.output.archived_at, idOf(s.rel, i))
    })
  }
  return winners
}

export async function readSignals(sources: Source[], emit: Emit, onBytes?: OnBytes): Promise<FileStat[]> {
  const archives = sources.slice(0, -1)
  const current = sources[sources.length - 1]!
  const winners = await archiveWinners(archives)
  const stats: FileStat[] = []
  for (const s of archives) {
    const st = await streamJsonArray(
      s.path,
      async (entry, i) => {
        const e = (entry && typeof entry === 'object' && !Array.isArray(entry) ? entry : {}) as { archived_at?: unknown; signals?: unknown }
        const at = typeof e.archived_at === 'string' ? toIsoUtc(e.archived_at) : null
        const winner = at === null ? undefined : winners.get(at)
        if (winner !== undefined && winner !== idOf(s.rel, i)) return
        if (!Array.isArray(e.signals)) {
          return emit({ value: entry, file: s.rel, keys: [i, 'signals'], problem: 'expected an array of signals' })
        }
        const base = BigInt(at === null ? 0 : Date.parse(at)) * PER_ENTRY
        for (const [j, value] of e.signals.entries()) {
          const p = emit({ value, file: s.rel, keys: [i, 'signals', j], ord: base + BigInt(j) })
          if (p) await p
        }
      },
      { onBytes: onBytes && ((n) => onBytes(n, s.rel)) },
    )
    stats.push({ rel: s.rel, ...st })
  }
  const st = await streamJsonArray(current.path, (value, j) => emit({ value, file: current.rel, keys: [j], unique: true, ord: CURRENT + BigInt(j) }), {
    onBytes: onBytes && ((n) => onBytes(n, current.rel)),
  })
  stats.push({ rel: current.rel, ...st })
  return stats
}
