import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, phaseArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { resolvePath } from '../src/config.ts'
import { usageError } from '../src/errors.ts'
import { logger } from '../src/logger.ts'
import { printJson, printLine } from '../src/output.ts'
import { computeReport, sinceInstant } from '../src/report/compute.ts'
import { loadReportData } from '../src/report/load.ts'
import { writeReportFile } from '../src/report/write.ts'
import { renderReport } from '../src/report/render.ts'

export default defineCommand({
  meta: {
    name: 'report',
    description:
      'Performance report: balance, invested, realized and unrealized P&L, win rate, average edge, P&L by market and event, ' +
      'best and worst markets, exposure by days to end, trades per day. Reads through the phase (JSON, or PostgreSQL from phase 5). ' +
      '--out FILE.svg or FILE.html also writes a self-contained chart (equity curve and P&L by market) that opens offline.',
  },
  args: {
    ...jsonArgs,
    out: { type: 'string', valueHint: 'FILE.svg|FILE.html', description: 'Also write the charts to this file; the format follows the extension' },
    since: { type: 'string', valueHint: 'DATE', description: 'Only trades opened at or after this date or ISO time (the equity curve from that day)' },
    now: { type: 'string', valueHint: 'ISO', description: "The report clock for days to end (default: the last cycle's clock, else now)" },
    ...phaseArgs,
    ...dataDirArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    if (args.since) {
      try {
        sinceInstant(args.since)
      } catch {
        throw usageError(`--since ${JSON.stringify(args.since)} is not a date`, 'pass a date like 2026-02-01 or an ISO time')
      }
    }
    const now = args.now ? new Date(args.now) : null
    if (now && Number.isNaN(now.getTime())) throw usageError(`--now ${JSON.stringify(args.now)} is not a date`, 'pass an ISO time like 2026-02-16T15:00:00Z')
    const format = args.out ? /\.(svg|html?)$/i.exec(args.out)?.[1]?.toLowerCase() : undefined
    if (args.out && !format) throw usageError(`--out ${JSON.stringify(args.out)} must end in .svg or .html`)

    const config = configFrom(args)
    const data = await loadReportData(config)
    const clock = now ?? (data.portfolio ? new Date(data.portfolio.last_updated) : new Date())
    const report = computeReport({ portfolio: data.portfolio, trades: data.trades, history: data.history, clock, since: args.since })
    const source = `phase ${data.source.phase} (${data.source.phase_name}), read from ${data.source.read_from}`

    if (args.out) {
      const path = resolvePath(config.cwd, args.out)
      await writeReportFile(path, format === 'svg' ? 'svg' : 'html', report, source)
      logger.success(`wrote ${path}`)
    }
    if (args.json) printJson({ ...report, source: data.source })
    else printLine(renderReport(report, source))
    return 0
  },
})
