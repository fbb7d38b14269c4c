/**
 * The one place `schedule` starts other programs (schtasks, crontab,
 * systemctl). Tests inject their own runner, so install/remove are exercised
 * on any OS without touching the machine's scheduler.
 */
import { spawnSync } from 'node:child_process'
import { Exit, PrescientError } from '../errors.ts'

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export type Runner = (cmd: string, args: string[], opts?: { input?: string }) => Promise<RunResult>

export const systemRunner: Runner = async (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    // never inherit stdin: a tool that asks a question must fail, not hang a scheduled run
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
    timeout: 60_000,
  })
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new PrescientError(`\`${cmd}\` was not found on this machine`, Exit.usage, 'pick the scheduler this machine has with --platform windows|cron|systemd')
    throw new PrescientError(`could not run ${cmd}: ${r.error.message}`, Exit.runtime, undefined, { cause: r.error })
  }
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** Run and insist on exit 0; the error quotes the tool's own words. */
export async function runChecked(runner: Runner, cmd: string, args: string[], opts?: { input?: string }): Promise<RunResult> {
  const r = await runner(cmd, args, opts)
  if (r.code !== 0) {
    const said = (r.stderr || r.stdout).trim().split(/\r?\n/).slice(0, 3).join(' / ')
    throw new PrescientError(`\`${[cmd, ...args].join(' ')}\` failed with exit ${r.code}${said ? `: ${said}` : ''}`, Exit.runtime)
  }
  return r
}
