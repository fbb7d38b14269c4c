/**
 * `bench import`: `prescient import` of N synthetic trades against `psql \copy`
 * of the same rows as CSV into the same (indexed) table, then `prescient verify`
 * of them. Import and verify run in child processes that report their own peak
 * RSS. Without psql on the PATH the baseline is COPY FROM STDIN through postgres.js.
 */
import { join } from 'node:path'
import { logger } from '../logger.ts'
import type { BenchEnv } from './env.ts'
import { copyTradesCsv } from './load.ts'
import { findPsql, fmtMs, fmtRatio, round, runChild, timed } from './measure.ts'
import { machine, type BenchReport } from './report.ts'
import { generateTrades, generateTradesCsv, TRADE_CSV_COLUMNS } from './synthetic.ts'

export const VERIFY_TIME_TARGET = 1.0
export const VERIFY_RSS_TARGET_MB = 300

/** `psql \copy` of the CSV; the password goes through PGPASSWORD, never the command line. */
async function psqlCopy(env: BenchEnv, psql: string, csv: string): Promise<void> {
  const { host, port, user, database } = env.db
  const password = new URL(env.db.url).password
  const copy = `\\copy trades (${TRADE_CSV_COLUMNS.join(', ')}) from '${csv.replace(/'/g, "''")}' with (format csv)`
  const proc = Bun.spawn([psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', database, '-c', copy], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, ...(password ? { PGPASSWORD: decodeURIComponent(password) } : {}), PGSSLMODE: env.db.ssl ? 'require' : 'prefer' },
  })
  env.children.add(proc)
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  env.children.delete(proc)
  if (code !== 0) throw new Error(`psql \\copy failed (exit ${code}): ${err.trim()}`)
}

const count = async (env: BenchEnv) => Number((await env.sql`select count(*)::int as n from trades`)[0]!.n)

export async function benchImport(env: BenchEnv, opts: { rows: number }): Promise<BenchReport> {
  const n = opts.rows
  logger.start(`writing ${n.toLocaleString('en-US')} synthetic trades as JSON and as CSV`)
  const json = await generateTrades(n, env.dir)
  const csv = await generateTradesCsv(n, join(env.dir, 'trades.csv'))

  const psql = findPsql()
  logger.info(psql ? 'baseline: psql \\copy' : 'psql is not on the PATH; baseline: COPY FROM STDIN through postgres.js')
  const base = await timed(() => (psql ? psqlCopy(env, psql, csv.path) : copyTradesCsv(env.sql, csv.path)))
  if ((await count(env)) !== n) throw new Error('the COPY baseline did not load every row')
  await env.sql`truncate trades cascade`
  await env.sql`checkpoint`

  logger.info('prescient import (child process)')
  const imp = await runChild(env, 'import')
  if ((await count(env)) !== n) throw new Error(`prescient import loaded ${await count(env)} of ${n} rows`)
  await env.sql`analyze trades`

  logger.info('prescient verify --table trades (child process)')
  const ver = await runChild(env, 'verify')
  const verDetail = ver.detail as { equal: boolean }
  if (!verDetail.equal) throw new Error('verify found differences after import: the benchmark data is inconsistent')

  const baseLabel = psql ? 'psql \\copy (CSV)' : 'COPY FROM STDIN (postgres.js, CSV)'
  const rate = (ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`
  const importRatio = imp.ms / base.ms
  const verifyRatio = ver.ms / base.ms
  return {
    bench: 'import',
    rows: n,
    machine: await machine(env.sql),
    head: ['step', 'time', 'rows/s', `vs ${psql ? 'psql \\copy' : 'COPY'}`, 'peak RSS'],
    table: [
      [baseLabel, fmtMs(base.ms), rate(base.ms), '1.00x', '-'],
      ['prescient import --table trades (JSON)', fmtMs(imp.ms), rate(imp.ms), fmtRatio(importRatio), `${Math.round(imp.max_rss_mb)} MB`],
      ['prescient verify --table trades', fmtMs(ver.ms), rate(ver.ms), fmtRatio(verifyRatio), `${Math.round(ver.max_rss_mb)} MB`],
    ],
    figures: {
      rows: n,
      json_mb: round(json.bytes / 2 ** 20),
      csv_mb: round(csv.bytes / 2 ** 20),
      baseline: psql ? 'psql \\copy' : 'postgres.js COPY',
      copy_ms: round(base.ms),
      import_ms: round(imp.ms),
      import_ratio: round(importRatio, 2),
      import_peak_rss_mb: round(imp.max_rss_mb),
      verify_ms: round(ver.ms),
      verify_ratio: round(verifyRatio, 2),
      verify_peak_rss_mb: round(ver.max_rss_mb),
    },
    targets: [
      { what: 'verify of the trades vs the COPY baseline', target: `<= ${VERIFY_TIME_TARGET.toFixed(1)}x`, measured: fmtRatio(verifyRatio), met: verifyRatio <= VERIFY_TIME_TARGET },
      { what: 'verify peak RSS', target: `<= ${VERIFY_RSS_TARGET_MB} MB`, measured: `${Math.round(ver.max_rss_mb)} MB`, met: ver.max_rss_mb <= VERIFY_RSS_TARGET_MB },
    ],
    notes: [
      `paper_trades.json ${round(json.bytes / 2 ** 20)} MB, the CSV twin ${round(csv.bytes / 2 ** 20)} MB; both into the same empty, indexed trades table.`,
      'import and verify ran as child processes; their peak RSS is the whole process (runtime included). Times include process start.',
    ],
  }
}

