/**
 * `bench cycle`: what dual-writing costs. The same recorded snapshot is cycled
 * in phase 0 (JSON only) and in phase 4 (JSON + every table, one transaction),
 * each time from fresh state (a new data dir, emptied tables), alternating the
 * order, and the medians are compared.
 */
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../config.ts'
import { logger } from '../logger.ts'
import { runCycle } from '../trading/cycle.ts'
import type { BenchEnv } from './env.ts'
import { fmtMs, fmtRatio, median, round, timed } from './measure.ts'
import { machine, type BenchReport } from './report.ts'

export const CYCLE_TARGET = 1.3

const TABLES = [
  'trades', 'portfolio_state', 'portfolio_positions', 'portfolio_snapshots', 'portfolio_history', 'signal_archives',
  'trading_signals', 'events', 'markets', 'market_snapshots',
]

export async function benchCycle(env: BenchEnv, opts: { source: string; reps: number }): Promise<BenchReport> {
  const once = async (phase: number) => {
    const dir = mkdtempSync(join(env.dir, `p${phase}-`))
    if (phase > 0) await env.sql`truncate ${env.sql(TABLES)} restart identity cascade`
    const config = loadConfig({ phase, dataDir: dir, databaseUrl: env.db.url, env: { PRESCIENT_LOG_FILE: 'off' }, envFile: join(dir, 'no.env'), cwd: dir })
    const { ms, value } = await timed(() => runCycle(config, { source: opts.source }))
    if (phase > 0 && value.storage.db !== 'ok') throw new Error(`phase ${phase} cycle did not write the database (${value.storage.db})`)
    return { ms, report: value }
  }
  const level = logger.level
  logger.level = Math.min(level, 0) // the cycles' own info lines would drown the figures
  const samples: Record<0 | 4, number[]> = { 0: [], 4: [] }
  let last: Awaited<ReturnType<typeof once>>['report'] | undefined
  try {
    await once(0) // warm-up: module loading, JIT, the sample materialised in the temp folder
    await once(4)
    for (let i = 0; i < opts.reps; i++) {
      for (const phase of i % 2 ? ([4, 0] as const) : ([0, 4] as const)) {
        const r = await once(phase)
        samples[phase].push(r.ms)
        last = r.report
      }
    }
  } finally {
    logger.level = level
  }
  const p0 = median(samples[0])
  const p4 = median(samples[4])
  const ratio = p4 / p0
  return {
    bench: 'cycle',
    rows: 0,
    machine: await machine(env.sql),
    head: ['cycle', 'median', 'min', 'max', 'vs phase 0'],
    table: [
      ['phase 0 (JSON only)', fmtMs(p0), fmtMs(Math.min(...samples[0])), fmtMs(Math.max(...samples[0])), '1.00x'],
      ['phase 4 (JSON + PostgreSQL)', fmtMs(p4), fmtMs(Math.min(...samples[4])), fmtMs(Math.max(...samples[4])), fmtRatio(ratio)],
    ],
    figures: {
      source: opts.source,
      repetitions: opts.reps,
      phase0_median_ms: round(p0),
      phase4_median_ms: round(p4),
      ratio: round(ratio, 3),
      signals: last?.stats.signals ?? null,
      trades_executed: last?.stats.executed ?? null,
      markets_kept: last?.stats.markets_kept ?? null,
    },
    targets: [{ what: 'phase 4 cycle vs phase 0', target: `<= ${CYCLE_TARGET}x`, measured: fmtRatio(ratio), met: ratio <= CYCLE_TARGET }],
    notes: [`${opts.reps} repetitions of each phase from fresh state (new data dir, emptied tables), alternating order; median.`],
  }
}

