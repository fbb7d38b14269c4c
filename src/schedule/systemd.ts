/**
 * systemd user units: a oneshot service and a timer per job, in
 * ~/.config/systemd/user (or $XDG_CONFIG_HOME/systemd/user). A timer never
 * starts its service while the previous run is still active, which is the
 * same "ignore new" rule as on Windows. User timers run while the user has a
 * session, or always after `loginctl enable-linger`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { usageError } from '../errors.ts'
import { runChecked, type Runner } from './runner.ts'
import { jobs, type Job, type ScheduleSpec } from './spec.ts'

export function userUnitDir(env: Record<string, string | undefined> = process.env, home = homedir()): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user')
}

/** `%` starts a specifier and `$` a variable in unit files; double both. */
const unitEscape = (s: string) => s.replace(/%/g, '%%').replace(/\$/g, '$$$$')

/** One ExecStart word: double-quoted, with C escapes for backslash and quote. */
export function execQuote(arg: string): string {
  const plain = /^[A-Za-z0-9_@+=:,./-]+$/.test(arg)
  return unitEscape(plain ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
}

export const unitBase = (job: Job) => `prescient-${job.id}`

function onCalendar(spec: ScheduleSpec, job: Job): string {
  if (job.id === 'backup') return `*-*-* ${spec.backupAt.label}:00`
  const m = spec.every.minutes
  return m < 60 ? `*-*-* *:00/${m}:00` : `*-*-* 00/${m / 60}:00:00`
}

export interface UnitFile {
  name: string
  content: string
}

export function units(spec: ScheduleSpec): UnitFile[] {
  const out: UnitFile[] = []
  for (const job of jobs(spec)) {
    const exec = [spec.program.program, ...spec.program.prefix, ...job.args].map(execQuote).join(' ')
    out.push({
      name: `${unitBase(job)}.service`,
      content: [
        '[Unit]',
        `Description=${job.description}`,
        '',
        '[Service]',
        'Type=oneshot',
        `WorkingDirectory=${unitEscape(spec.cwd)}`,
        `ExecStart=${exec}`,
        `TimeoutStartSec=${job.timeLimitMinutes}min`,
        '',
      ].join('\n'),
    })
    out.push({
      name: `${unitBase(job)}.timer`,
      content: [
        '[Unit]',
        `Description=${job.description}`,
        '',
        '[Timer]',
        `OnCalendar=${onCalendar(spec, job)}`,
        // a missed nightly backup runs at the next boot; missed cycles do not pile up
        `Persistent=${job.id === 'backup'}`,
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
      ].join('\n'),
    })
  }
  return out
}

export const timerNames = (spec: ScheduleSpec) => jobs(spec).map((j) => `${unitBase(j)}.timer`)

export function systemdCommands(spec: ScheduleSpec): { install: string[][]; remove: string[][] } {
  const timers = timerNames(spec)
  return {
    install: [['systemctl', '--user', 'daemon-reload'], ['systemctl', '--user', 'enable', '--now', ...timers]],
    remove: [['systemctl', '--user', 'disable', '--now', ...timers], ['systemctl', '--user', 'daemon-reload']],
  }
}

export function writeUnits(list: UnitFile[], dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  return list.map((u) => {
    const p = join(dir, u.name)
    writeFileSync(p, u.content)
    return p
  })
}

export async function installSystemd(spec: ScheduleSpec, runner: Runner, dir: string, yes: boolean): Promise<{ files: string[]; ran: string[][]; unchanged: boolean }> {
  const list = units(spec)
  const existing = list.filter((u) => existsSync(join(dir, u.name)))
  const differs = existing.filter((u) => readFileSync(join(dir, u.name), 'utf8') !== u.content)
  if (differs.length && !yes) throw usageError(`${differs.map((u) => u.name).join(', ')} already exist${differs.length === 1 ? 's' : ''} in ${dir} with other contents`, 'pass --yes to replace them')
  const files = writeUnits(list, dir)
  const ran = systemdCommands(spec).install
  for (const [cmd, ...args] of ran) await runChecked(runner, cmd!, args)
  return { files, ran, unchanged: existing.length === list.length && !differs.length }
}

export async function removeSystemd(spec: ScheduleSpec, runner: Runner, dir: string): Promise<{ files: string[]; ran: string[][] }> {
  const present = units(spec).map((u) => join(dir, u.name)).filter((p) => existsSync(p))
  if (!present.length) return { files: [], ran: [] }
  const [disable, reload] = systemdCommands(spec).remove as [string[], string[]]
  // a timer that was never enabled makes disable fail; the files go either way
  await runner(disable[0]!, disable.slice(1))
  for (const p of present) rmSync(p, { force: true })
  await runChecked(runner, reload[0]!, reload.slice(1))
  return { files: present, ran: [disable, reload] }
}
