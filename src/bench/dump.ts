/**
 * `bench dump`: `prescient dump --format json` of N synthetic trades against
 * `pg_dump --format plain` of the same database. The trades are made on the
 * server (one INSERT ... SELECT from generate_series, row i equal to
 * syntheticTrade(i)), then both dumps alternate, after one unmeasured warm-up
 * of each. Both are timed from spawn to exit; pg_dump's peak RSS comes from
 * its rusage after exit, the json dump's from the child itself. Each file is
 * deleted once measured, so the scratch folder holds at most one dump.
 */
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pgDumpFor } from '../backup/dump.ts'
import { pgEnv, type FoundTool } from '../backup/pgtools.ts'
import type { Sql } from '../db/client.ts'
import { errorMessage, Exit, PrescientError } from '../errors.ts'
import { logger } from '../logger.ts'
import { mask } from '../mask.ts'
import { fmtBytes } from '../output.ts'
import type { BenchEnv } from './env.ts'
import { fmtMs, fmtRatio, median, procPeak, round, runChild, timed } from './measure.ts'
import { machine, type BenchReport } from './report.ts'

export const DUMP_TIME_TARGET = 1.5
export const DUMP_RSS_TARGET_MB = 300

/**
 * Fill `trades` with syntheticTrade(i) for i = from..from+n-1, server-side, in
 * one statement. Every expression mirrors synthetic.ts; i is bigint, so
 * products like i*104729 do not overflow.
 */
export async function fillSyntheticTrades(sql: Sql, n: number, from = 0): Promise<void> {
  if (n < 1) return
  await sql`
    insert into trades (trade_id, timestamp, market_id, market_question, action, amount, entry_price, confidence, reason, status,
                        event_id, event_title, event_end_date, current_pnl, realized_pnl, exit_price, exit_timestamp)
    select 'syn-' || case when i < 100000000 then lpad(i::text, 8, '0') else i::text end,
           timestamptz '2024-01-01 00:00:00+00' + i * interval '30 seconds',
           (600000 + i % 5000)::text,
           'Will synthetic market #' || (i % 5000) || ' resolve YES before the end of the quarter?',
           case when i % 2 = 1 then 'buy_yes' else 'buy_no' end,
           ((i * 104729) % 50000 + 100) / 100.0,
           0.05 + ((i * 7919) % 9000) / 10000.0,
           0.5 + (i % 5000) / 10000.0,
           'conviction ' || case when i % 100 = 0 then '0' when i % 10 = 0 then '0.' || (i % 100 / 10) else '0.' || lpad((i % 100)::text, 2, '0') end
             || ' with ' || (i % 60) || ' days left',
           case when i % 4 = 0 then 'closed' else 'open' end,
           (90000 + i % 900)::text,
           'Synthetic event ' || (i % 900),
           timestamptz '2024-01-01 00:00:00+00' + (400 + (i % 900) % 60) * interval '1 day',
           case when i % 4 = 0 then null else ((i % 2001) - 1000) / 100.0 end,
           case when i % 4 = 0 then ((i % 3001) - 1500) / 100.0 else null end,
           case when i % 4 <> 0 then null when i % 8 = 0 then 1 else 0 end,
           case when i % 4 = 0 then timestamptz '2024-01-02 00:00:00+00' + i * interval '30 seconds' else null end
    from generate_series(${from}::bigint, ${from + n - 1}::bigint) as i`
}

interface Sample {
  ms: number
  rss_mb: number
  bytes: number
  /** how the peak RSS was measured: the process's own VmHWM (Linux), or getrusage's maxRSS */
  rss_from: 'vmhwm' | 'rusage'
}

/**
 * `pg_dump --format plain` of the scratch database into `file`, timed from
 * spawn to exit; the password goes through PGPASSWORD. Peak RSS: on Linux its
 * VmHWM, sampled every 5 ms while it runs (monotonic, so the last sample is its
 * peak up to then); elsewhere Subprocess.resourceUsage().maxRSS (bytes), which
 * on Linux would include this process's own peak (maxRSS survives exec).
 */
async function pgDumpPlain(env: BenchEnv, tool: FoundTool, file: string): Promise<Sample> {
  const t0 = performance.now()
  const proc = Bun.spawn([tool.path, '--format', 'plain', '--no-password', '-f', file], {
    env: pgEnv(env.db, env.db.database),
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  })
  env.children.add(proc)
  let hwmKib: number | undefined
  const sample = () => {
    const p = procPeak(proc.pid)
    // before its exec the child still shows this process's memory; only pg_dump's own counts
    if (p && p.name.startsWith('pg_dump')) hwmKib = p.kib
  }
  const sampler = setInterval(sample, 5)
  sample()
  let err: string
  let code: number
  try {
    ;[err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  } finally {
    clearInterval(sampler)
  }
  const ms = performance.now() - t0
  env.children.delete(proc)
  if (code !== 0) throw new PrescientError(`pg_dump failed (exit ${code}): ${mask(err.trim().split(/\r?\n/).slice(-3).join(' | ')) || 'no message'}`, Exit.runtime)
  const bytes = statSync(file).size
  if (hwmKib !== undefined) return { ms, rss_mb: hwmKib / 1024, bytes, rss_from: 'vmhwm' }
  const rss = proc.resourceUsage()?.maxRSS // bytes (process.resourceUsage().maxRSS is KiB)
  if (rss === undefined) throw new Error('pg_dump exited without resource usage')
  return { ms, rss_mb: rss / 2 ** 20, bytes, rss_from: 'rusage' }
}

/** `prescient dump --format json --out dir` in a child process, timed from spawn to exit. */
async function jsonDump(env: BenchEnv, dir: string): Promise<Sample> {
  const { ms, value } = await timed(() => runChild(env, 'dump', ['--out', dir]))
  const detail = value.detail as { bytes: number }
  return { ms, rss_mb: value.max_rss_mb, bytes: detail.bytes, rss_from: process.platform === 'linux' ? 'vmhwm' : 'rusage' }
}

export async function benchDump(env: BenchEnv, opts: { rows: number; reps: number }): Promise<BenchReport> {
  const n = opts.rows
  const pgDump = await pgDumpFor(env.sql)
  logger.info(`baseline: ${pgDump.path} (${pgDump.version.text})`)

  logger.start(`making ${n.toLocaleString('en-US')} synthetic trades on the server`)
  const fill = await timed(() => fillSyntheticTrades(env.sql, n))
  const count = (await env.sql<{ count: number }[]>`select count(*)::int as count from trades`)[0]!.count
  if (count !== n) throw new Error(`the trades table holds ${count} rows, not ${n}`)
  logger.info(`${n.toLocaleString('en-US')} trades in ${fmtMs(fill.ms)}; vacuum analyze and checkpoint`)
  await env.sql`vacuum analyze trades`
  await env.sql`checkpoint`.catch((err) => logger.warn(`checkpoint skipped: ${errorMessage(err)}`))

  const plain: Sample[] = []
  const json: Sample[] = []
  const runPlain = async (i: number | 'warmup') => {
    const file = join(env.dir, `plain-${i}.sql`)
    try {
      return await pgDumpPlain(env, pgDump, file)
    } finally {
      rmSync(file, { force: true })
    }
  }
  const runJson = async (i: number | 'warmup') => {
    const dir = join(env.dir, `json-${i}`)
    try {
      return await jsonDump(env, dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  logger.info('warm-up: one pg_dump and one json dump, unmeasured')
  await runPlain('warmup')
  await runJson('warmup')
  for (let i = 0; i < opts.reps; i++) {
    logger.info(`repetition ${i + 1} of ${opts.reps}`)
    for (const which of i % 2 ? (['json', 'plain'] as const) : (['plain', 'json'] as const)) {
      if (which === 'plain') plain.push(await runPlain(i))
      else json.push(await runJson(i))
    }
  }

  const pMed = median(plain.map((s) => s.ms))
  const jMed = median(json.map((s) => s.ms))
  const ratio = jMed / pMed
  const pRss = Math.max(...plain.map((s) => s.rss_mb))
  const jRss = Math.max(...json.map((s) => s.rss_mb))
  const pBytes = plain[plain.length - 1]!.bytes
  const jBytes = json[json.length - 1]!.bytes
  return {
    bench: 'dump',
    rows: n,
    machine: await machine(env.sql),
    head: ['dump', 'median', 'min', 'peak RSS', 'file', 'vs pg_dump'],
    table: [
      ['pg_dump --format plain', fmtMs(pMed), fmtMs(Math.min(...plain.map((s) => s.ms))), `${Math.round(pRss)} MB`, fmtBytes(pBytes), '1.00x'],
      ['prescient dump --format json', fmtMs(jMed), fmtMs(Math.min(...json.map((s) => s.ms))), `${Math.round(jRss)} MB`, fmtBytes(jBytes), fmtRatio(ratio)],
    ],
    figures: {
      rows: n,
      pg_dump_ms: round(pMed),
      json_ms: round(jMed),
      ratio: round(ratio, 3),
      json_peak_rss_mb: round(jRss),
      pg_dump_peak_rss_mb: round(pRss),
      json_mb: round(jBytes / 2 ** 20),
      plain_mb: round(pBytes / 2 ** 20),
      reps: opts.reps,
    },
    targets: [
      { what: 'json dump vs pg_dump plain', target: `<= ${DUMP_TIME_TARGET.toFixed(1)}x`, measured: fmtRatio(ratio), met: ratio <= DUMP_TIME_TARGET },
      { what: 'json dump peak RSS', target: `<= ${DUMP_RSS_TARGET_MB} MB`, measured: `${Math.round(jRss)} MB`, met: jRss <= DUMP_RSS_TARGET_MB },
    ],
    notes: [
      `${opts.reps} repetitions of each after one unmeasured warm-up of each, alternating order; median and min wall time, peak RSS over the repetitions.`,
      `${pgDump.version.text}; the trades were made server-side (${fmtMs(fill.ms)}), then VACUUM ANALYZE and CHECKPOINT.`,
      'Both times run from spawn to exit, so they include process start and connecting. The json dump is a child `prescient bench _child dump` (the same takeDump as `prescient dump --format json`); its peak RSS is the whole process, runtime included.',
      [...plain, ...json].every((x) => x.rss_from === 'vmhwm')
        ? "Peak RSS is each process's own VmHWM (pg_dump's sampled every 5 ms while it ran)."
        : "Peak RSS is getrusage's maxRSS, which on some systems carries over the spawning process's peak: read it as an upper bound.",
      'The json dump also does more: gzip, a content hash per row, the sha256 of the file, fsync and a manifest. pg_dump --format plain is uncompressed and unhashed.',
    ],
  }
}

