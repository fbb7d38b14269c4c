import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, dryRunArgs, envArgs, jsonArgs, phaseArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { logger } from '../src/logger.ts'
import { fmtMoney, printJson, printLine, printTable } from '../src/output.ts'
import { runCycle, type CycleReport } from '../src/trading/cycle.ts'

export default defineCommand({
  meta: {
    name: 'cycle',
    description:
      'Run one trading cycle: fetch events and markets, filter, generate signals, execute paper trades, ' +
      'mark open positions to market, settle resolved markets, snapshot the portfolio. Where it reads and ' +
      'writes follows the phase (see `prescient status`). Schedule it every few minutes with `prescient schedule`.',
  },
  args: {
    ...phaseArgs,
    source: {
      type: 'string',
      valueHint: 'api|sample|sample:resolved|FILE',
      default: 'api',
      description:
        'Where markets come from: the live Gamma API (default; falls back to the last raw_events_backup.json when offline), ' +
        'the bundled sample snapshot, or a recorded /events or /markets JSON file',
    },
    now: { type: 'string', valueHint: 'ISO', description: "The cycle's clock (default: a recorded file's latest updatedAt, else now)" },
    ...dataDirArgs,
    ...dryRunArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    // Last resort against a hang nothing else catches: exit, and let the next scheduled run
    // start. Safe by construction: JSON writes are atomic and journaled, and the server rolls
    // back a transaction whose client went away. The stale lock is recovered next time.
    const limitS = Number(config.env.PRESCIENT_CYCLE_TIMEOUT_S ?? 540)
    const watchdog = setTimeout(() => {
      logger.error(`the cycle did not finish within ${limitS} s and was stopped; nothing half-written is left behind`)
      process.exit(1)
    }, limitS * 1000)
    watchdog.unref()
    const report = await runCycle(config, { source: args.source ?? 'api', now: args.now, dryRun: args['dry-run'] }).finally(() => clearTimeout(watchdog))
    if (args.json) printJson(report)
    else render(report)
    return 0
  },
})

function render(r: CycleReport) {
  const s = r.stats
  printLine(`Cycle ${r.dry_run ? '(dry run, nothing written) ' : ''}— phase ${r.phase} (${r.phase_name}), clock ${r.clock}`)
  printLine(`Source: ${r.source}${r.fallback ? ` (fallback: ${r.fallback.reason})` : ''}`)
  printTable(
    ['events in', 'kept', 'markets in', 'kept', 'signals', 'executed', 'marked', 'settled', 'rejected'],
    [[s.events_in, s.events_kept, s.markets_in, s.markets_kept, s.signals, s.executed, s.marked, s.settled, s.rejects]],
  )
  if (r.signals.length) {
    printTable(
      ['market', 'question', 'action', 'price', 'amount', 'confidence', 'trade'],
      r.signals.map((x) => [x.market_id, x.question.length > 48 ? `${x.question.slice(0, 47)}…` : x.question, x.action, x.price, fmtMoney(x.amount), x.confidence, x.executed ? x.trade_id : '—']),
    )
  }
  const p = r.portfolio
  printTable(
    ['balance', 'invested', 'P&L', 'total value', 'open positions', 'trades'],
    [[fmtMoney(p.balance), fmtMoney(p.total_invested), fmtMoney(p.total_profit_loss), fmtMoney(p.total_value), p.open_positions, p.trade_count]],
  )
  printLine(`Storage: JSON ${r.storage.json_groups.join(', ') || 'none'} · DB ${r.storage.db_groups.join(', ') || 'none'} (${r.storage.db})`)
  if (r.warnings.length) logger.warn(`${r.warnings.length} warning(s) this cycle; see above`)
}
