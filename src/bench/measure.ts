/**
 * Timing helpers for the benchmarks, and the child runner: work whose peak
 * memory is reported runs in a child `prescient bench _child ...`, which prints
 * its own wall time and peak RSS (process.resourceUsage, so it works on Windows
 * too, where there is no /usr/bin/time; on Linux VmHWM, see peakRssMb).
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { PrescientError, Exit } from '../errors.ts'
import type { BenchEnv } from './env.ts'

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await fn()
  return { ms: performance.now() - t0, value }
}

/** Median wall time of `reps` runs after `warmup` unmeasured ones. */
export async function medianMs(fn: () => Promise<unknown>, reps: number, warmup = 0): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn()
  const ms: number[] = []
  for (let i = 0; i < reps; i++) ms.push((await timed(fn)).ms)
  return median(ms)
}

/** How to start this program again: `bun src/cli.ts` from a checkout, the binary itself when compiled. */
export function selfCommand(): string[] {
  const cli = resolve(import.meta.dir, '../cli.ts')
  return basename(process.execPath).toLowerCase().startsWith('bun') && existsSync(cli) ? [process.execPath, cli] : [process.execPath]
}

export interface ChildResult {
  ms: number
  max_rss_mb: number
  detail?: unknown
}

/**
 * Linux: a process's peak RSS since its exec (VmHWM, in KiB) and its name, or
 * null (another OS, or the process is gone). getrusage's maxRSS is no use for
 * a spawned process there: it survives execve, so a child reports at least
 * the peak RSS of the process that spawned it.
 */
export function procPeak(pid: number | 'self'): { name: string; kib: number } | null {
  if (process.platform !== 'linux') return null
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
    return hwm ? { name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '', kib: Number(hwm[1]) } : null
  } catch {
    return null
  }
}

/** This process's own peak RSS in MiB: VmHWM on Linux, else process.resourceUsage (KiB). */
export function peakRssMb(): number {
  return (procPeak('self')?.kib ?? process.resourceUsage().maxRSS) / 1024
}

/** What a child prints on its last stdout line. */
export function childReport(ms: number, detail?: unknown): string {
  return JSON.stringify({ ms, max_rss_mb: peakRssMb(), detail } satisfies ChildResult)
}

/** Run `prescient bench _child <task>` against the scratch env and return its report. */
export async function runChild(env: BenchEnv, task: string, extra: string[] = []): Promise<ChildResult> {
  const proc = Bun.spawn([...selfCommand(), 'bench', '_child', task, '--data-dir', env.dir, ...extra], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, DATABASE_URL: env.db.url, PRESCIENT_ENV_FILE: resolve(env.dir, 'no.env'), PRESCIENT_LOG_FILE: 'off', NO_COLOR: '1' },
  })
  env.children.add(proc)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  env.children.delete(proc)
  const last = out.trim().split('\n').pop() ?? ''
  if (code !== 0 || !last.startsWith('{')) {
    throw new PrescientError(`benchmark child "${task}" failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`, Exit.runtime)
  }
  return JSON.parse(last) as ChildResult
}

/** psql when it is on the PATH (the \copy baseline); null otherwise. */
export function findPsql(): string | null {
  return Bun.which('psql')
}

/** A figure for a report: `places` decimals (1 unless said). */
export const round = (x: number, places = 1) => Math.round(x * 10 ** places) / 10 ** places

export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`)
export const fmtRatio = (x: number) => (x >= 100 ? `${x.toFixed(0)}x` : x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`)
