/**
 * `prescient schedule install|remove|print`, for every platform, with the
 * scheduler tools behind an injectable runner (tests never touch the machine).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { showWindowsCommand, installWindows, planWindows, removeWindows, taskAction, taskName, writeTaskFiles, type WindowsOptions } from './windows.ts'
import { cronBlock, cronLine, cronLogPath, installCron, removeCron } from './cron.ts'
import { installSystemd, removeSystemd, systemdCommands, units, writeUnits } from './systemd.ts'
import { assertPrintablePaths, jobs, type ScheduleSpec } from './spec.ts'
import type { Runner } from './runner.ts'

export const ACTIONS = ['install', 'remove', 'print'] as const
export type Action = (typeof ACTIONS)[number]

export interface ScheduleDeps {
  runner: Runner
  /** print: where the files go (Windows: always, default ./schedule; cron and systemd: only when given) */
  outDir?: string
  /** systemd: the user unit folder */
  unitDir: string
  yes: boolean
  windows?: WindowsOptions
}

export interface JobView {
  id: string
  name: string
  when: string
  command: string
}

export interface ScheduleResult {
  platform: ScheduleSpec['platform']
  action: Action
  /** what happened, in a word: installed, replaced, unchanged, removed, absent, printed */
  outcome: string
  jobs: JobView[]
  /** files written (print, systemd install) or deleted (systemd remove) */
  files: string[]
  /** the scheduler commands: run by install/remove, only shown by print */
  commands: string[]
  ran: boolean
  /** crontab block or unit files, for print */
  contents: { name: string; text: string }[]
  notes: string[]
}

function jobViews(spec: ScheduleSpec, win?: WindowsOptions): JobView[] {
  return jobs(spec).map((job) => {
    const when = job.id === 'cycle' ? `every ${spec.every.label}` : `daily at ${spec.backupAt.label}`
    if (spec.platform === 'windows') {
      const a = taskAction(spec, job, win)
      return { id: job.id, name: `\\${taskName(job)}`, when, command: `${a.command} ${a.arguments}` }
    }
    if (spec.platform === 'cron') return { id: job.id, name: 'crontab', when, command: cronLine(spec, job) }
    const u = units(spec).find((x) => x.name === `prescient-${job.id}.service`)!
    return { id: job.id, name: `prescient-${job.id}.timer`, when, command: /^ExecStart=(.*)$/m.exec(u.content)?.[1] ?? '' }
  })
}

export async function runSchedule(action: Action, spec: ScheduleSpec, deps: ScheduleDeps): Promise<ScheduleResult> {
  assertPrintablePaths(spec)
  const base: ScheduleResult = { platform: spec.platform, action, outcome: '', jobs: jobViews(spec, deps.windows), files: [], commands: [], ran: false, contents: [], notes: [] }
  if (spec.platform === 'windows') return windows(action, spec, deps, base)
  if (spec.platform === 'cron') return cron(action, spec, deps, base)
  return systemd(action, spec, deps, base)
}

async function windows(action: Action, spec: ScheduleSpec, deps: ScheduleDeps, r: ScheduleResult): Promise<ScheduleResult> {
  const plan = planWindows(spec, deps.windows)
  r.notes.push('the tasks run while you are logged on, without a window (conhost --headless); Task Scheduler shows them under View > Show Hidden Tasks')
  r.notes.push(`logs: ${join(spec.logDir, 'prescient-YYYY-MM-DD.log')}; "Last Run Result" is conhost's, so check \`prescient status\` for the last error`)
  if (action === 'print') {
    const out = deps.outDir ?? 'schedule'
    r.files = writeTaskFiles(plan, out)
    r.commands = [...plan.create(out, true), ...plan.remove].map(showWindowsCommand)
    r.outcome = 'printed'
    return r
  }
  if (action === 'install') {
    r.commands = (await installWindows(plan, deps.runner, deps.yes)).map(showWindowsCommand)
    r.ran = true
    r.outcome = deps.yes ? 'installed (replacing any existing tasks)' : 'installed'
    return r
  }
  const { ran, missing } = await removeWindows(plan, deps.runner)
  r.commands = ran.map(showWindowsCommand)
  r.ran = ran.length > 0
  r.outcome = ran.length ? 'removed' : 'absent'
  if (missing.length && ran.length) r.notes.push(`not installed, skipped: ${missing.join(', ')}`)
  return r
}

async function cron(action: Action, spec: ScheduleSpec, deps: ScheduleDeps, r: ScheduleResult): Promise<ScheduleResult> {
  const block = cronBlock(spec)
  r.notes.push(`logs: ${join(spec.logDir, 'prescient-YYYY-MM-DD.log')}; cron's own output goes to ${cronLogPath(spec)}`)
  if (action === 'print') {
    r.contents = [{ name: 'crontab', text: block }]
    if (deps.outDir) {
      mkdirSync(deps.outDir, { recursive: true })
      const path = join(deps.outDir, 'prescient.crontab')
      writeFileSync(path, block + '\n')
      r.files = [path]
    }
    r.commands = ['crontab -e   # paste the block, or run `prescient schedule install --platform cron`']
    r.outcome = 'printed'
    return r
  }
  if (action === 'install') {
    // cron cannot append to a log in a folder that does not exist, and would then skip the job
    mkdirSync(spec.logDir, { recursive: true })
    r.outcome = await installCron(spec, deps.runner, deps.yes)
    r.ran = r.outcome !== 'unchanged'
    r.commands = r.ran ? ['crontab -l', 'crontab -'] : ['crontab -l']
    return r
  }
  r.outcome = await removeCron(deps.runner)
  r.ran = r.outcome === 'removed'
  r.commands = r.ran ? ['crontab -l', 'crontab -'] : ['crontab -l']
  return r
}

async function systemd(action: Action, spec: ScheduleSpec, deps: ScheduleDeps, r: ScheduleResult): Promise<ScheduleResult> {
  const list = units(spec)
  const cmds = systemdCommands(spec)
  r.notes.push('user timers run while you have a session; `loginctl enable-linger $USER` keeps them running after logout')
  r.notes.push(`logs: ${join(spec.logDir, 'prescient-YYYY-MM-DD.log')}, and \`journalctl --user -u prescient-cycle\``)
  if (action === 'print') {
    r.contents = list.map((u) => ({ name: u.name, text: u.content }))
    if (deps.outDir) r.files = writeUnits(list, deps.outDir)
    r.commands = [`# copy the units into ${deps.unitDir}, then:`, ...cmds.install.map((c) => c.join(' '))]
    r.outcome = 'printed'
    return r
  }
  if (action === 'install') {
    const done = await installSystemd(spec, deps.runner, deps.unitDir, deps.yes)
    r.files = done.files
    r.commands = done.ran.map((c) => c.join(' '))
    r.ran = true
    r.outcome = done.unchanged ? 'unchanged (timers re-enabled)' : 'installed'
    return r
  }
  const done = await removeSystemd(spec, deps.runner, deps.unitDir)
  r.files = done.files
  r.commands = done.ran.map((c) => c.join(' '))
  r.ran = done.ran.length > 0
  r.outcome = r.ran ? 'removed' : 'absent'
  return r
}
