/**
 * Windows Task Scheduler: one task XML per job (schema 1.2), written as
 * UTF-16LE with a BOM because `schtasks /Create /XML` rejects UTF-8 files, and
 * registered under the \Prescient\ folder with schtasks.
 *
 * The console window: a console program started by Task Scheduler gets a
 * console, and on Windows 11 that is a Windows Terminal window popping up every
 * few minutes. The action therefore runs `conhost.exe --headless <prescient> ...`:
 * conhost is a GUI-subsystem program, so it gets no window itself, and
 * --headless hosts the child's console without ever drawing one (Windows 10
 * 1809 and later, Windows 11). Two consequences, both handled or documented:
 * the child still sees a console (stderr is a TTY), so the job passes
 * --log-file to keep the dated log file; and Task Scheduler's "Last Run Result"
 * is conhost's exit code, not prescient's, so the runbook checks the log file
 * and `prescient status` instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { usageError } from '../errors.ts'
import { runChecked, type Runner } from './runner.ts'
import { jobs, type Job, type ScheduleSpec } from './spec.ts'

export const TASK_FOLDER = 'Prescient'
export const TASK_NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task'
/** Asks for the dated log file although conhost gives the job a console (see above). */
export const LOG_FILE_FLAG = '--log-file'

export const taskName = (job: Job) => `${TASK_FOLDER}\\${job.title}`
export const xmlFileName = (job: Job) => `prescient-${job.id}.xml`

export interface WindowsOptions {
  /** %SystemRoot%, for the absolute path of conhost.exe */
  systemRoot?: string
  /** DOMAIN\user the tasks run as; omitted, schtasks registers them for the calling user */
  user?: string
  /** the day the triggers start from */
  now?: Date
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** Quote one argument so CommandLineToArgvW (and every MSVC/Bun program) reads it back unchanged. */
export function winQuote(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg
  let out = '"'
  let slashes = 0
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++
      continue
    }
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch
    slashes = 0
  }
  return out + '\\'.repeat(slashes * 2) + '"'
}

const pad = (n: number) => String(n).padStart(2, '0')
/** Task Scheduler times without a zone are local time, like the user's clock. */
const localDate = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
const duration = (minutes: number) => (minutes % 60 === 0 ? `PT${minutes / 60}H` : `PT${minutes}M`)

export interface TaskAction {
  command: string
  arguments: string
  workingDirectory: string
}

export function taskAction(spec: ScheduleSpec, job: Job, opts: WindowsOptions = {}): TaskAction {
  const systemRoot = (opts.systemRoot ?? process.env.SystemRoot ?? 'C:\\Windows').replace(/[\\/]+$/, '')
  const argv = [spec.program.program, ...spec.program.prefix, ...job.args, LOG_FILE_FLAG]
  return {
    command: `${systemRoot}\\System32\\conhost.exe`,
    arguments: ['--headless', ...argv.map(winQuote)].join(' '),
    workingDirectory: spec.cwd,
  }
}

function trigger(spec: ScheduleSpec, job: Job, now: Date): string[] {
  const day = localDate(now)
  if (job.id === 'cycle') {
    // From midnight today, repeated forever (no Duration): runs land on :00, :15, ...
    return [
      '    <TimeTrigger>',
      '      <Enabled>true</Enabled>',
      `      <StartBoundary>${day}T00:00:00</StartBoundary>`,
      '      <Repetition>',
      `        <Interval>${duration(spec.every.minutes)}</Interval>`,
      '        <StopAtDurationEnd>false</StopAtDurationEnd>',
      '      </Repetition>',
      '    </TimeTrigger>',
    ]
  }
  return [
    '    <CalendarTrigger>',
    '      <Enabled>true</Enabled>',
    `      <StartBoundary>${day}T${spec.backupAt.label}:00</StartBoundary>`,
    '      <ScheduleByDay>',
    '        <DaysInterval>1</DaysInterval>',
    '      </ScheduleByDay>',
    '    </CalendarTrigger>',
  ]
}

/** The task definition as XML text (prolog says UTF-16: encode it with encodeTaskXml). */
export function taskXml(spec: ScheduleSpec, job: Job, opts: WindowsOptions = {}): string {
  const a = taskAction(spec, job, opts)
  const user = opts.user ?? defaultUser()
  const lines = [
    '<?xml version="1.0" encoding="UTF-16"?>',
    `<Task version="1.2" xmlns="${TASK_NS}">`,
    '  <RegistrationInfo>',
    `    <Description>${xmlEscape(`${job.description}. Installed by \`prescient schedule install\` from ${spec.cwd}.`)}</Description>`,
    `    <URI>${xmlEscape(`\\${taskName(job)}`)}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    ...trigger(spec, job, opts.now ?? new Date()),
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    ...(user ? [`      <UserId>${xmlEscape(user)}</UserId>`] : []),
    // Runs while the user is logged on, with no stored password (see the runbook for the alternative).
    '      <LogonType>InteractiveToken</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    // Laptops: the defaults (true) would skip every run on battery.
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <AllowHardTerminate>true</AllowHardTerminate>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <IdleSettings>',
    '      <StopOnIdleEnd>false</StopOnIdleEnd>',
    '      <RestartOnIdle>false</RestartOnIdle>',
    '    </IdleSettings>',
    '    <AllowStartOnDemand>true</AllowStartOnDemand>',
    '    <Enabled>true</Enabled>',
    '    <Hidden>true</Hidden>',
    '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
    '    <WakeToRun>false</WakeToRun>',
    `    <ExecutionTimeLimit>${duration(job.timeLimitMinutes)}</ExecutionTimeLimit>`,
    '    <Priority>7</Priority>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlEscape(a.command)}</Command>`,
    `      <Arguments>${xmlEscape(a.arguments)}</Arguments>`,
    `      <WorkingDirectory>${xmlEscape(a.workingDirectory)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
  ]
  return lines.join('\r\n') + '\r\n'
}

function defaultUser(): string | undefined {
  if (process.platform !== 'win32' || !process.env.USERNAME) return undefined
  return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${process.env.USERNAME}` : process.env.USERNAME
}

/** UTF-16LE with a BOM (FF FE): what schtasks /XML accepts. */
export function encodeTaskXml(xml: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')])
}

export interface WindowsPlan {
  files: { job: Job; name: string; content: Buffer; xml: string }[]
  create: (dir: string, replace: boolean) => [string, string[]][]
  remove: [string, string[]][]
}

export function planWindows(spec: ScheduleSpec, opts: WindowsOptions = {}): WindowsPlan {
  const js = jobs(spec)
  const files = js.map((job) => {
    const xml = taskXml(spec, job, opts)
    return { job, name: xmlFileName(job), content: encodeTaskXml(xml), xml }
  })
  return {
    files,
    create: (dir, replace) => js.map((job) => ['schtasks', ['/Create', '/XML', join(dir, xmlFileName(job)), '/TN', taskName(job), ...(replace ? ['/F'] : [])]]),
    remove: js.map((job) => ['schtasks', ['/Delete', '/TN', taskName(job), '/F']]),
  }
}

export const showWindowsCommand = ([cmd, args]: [string, string[]]) => [cmd, ...args.map(winQuote)].join(' ')

/** Write the XML files into `dir` (print, and install's temporary copy). */
export function writeTaskFiles(plan: WindowsPlan, dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  return plan.files.map((f) => {
    const path = join(dir, f.name)
    writeFileSync(path, f.content)
    return path
  })
}

async function exists(runner: Runner, name: string): Promise<boolean> {
  return (await runner('schtasks', ['/Query', '/TN', name])).code === 0
}

/** Register both tasks. An existing task is replaced (/F) only with --yes. */
export async function installWindows(plan: WindowsPlan, runner: Runner, yes: boolean): Promise<[string, string[]][]> {
  if (!yes) {
    for (const f of plan.files) {
      if (await exists(runner, taskName(f.job))) throw usageError(`the task ${taskName(f.job)} already exists`, 'pass --yes to replace it (or `prescient schedule remove --yes` first)')
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'prescient-schedule-'))
  try {
    writeTaskFiles(plan, dir)
    const cmds = plan.create(dir, yes)
    for (const [cmd, args] of cmds) await runChecked(runner, cmd, args)
    return cmds
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Delete both tasks; a task that is not there is skipped. */
export async function removeWindows(plan: WindowsPlan, runner: Runner): Promise<{ ran: [string, string[]][]; missing: string[] }> {
  const ran: [string, string[]][] = []
  const missing: string[] = []
  for (const [i, f] of plan.files.entries()) {
    const name = taskName(f.job)
    if (!(await exists(runner, name))) {
      missing.push(name)
      continue
    }
    const c = plan.remove[i]!
    await runChecked(runner, c[0], c[1])
    ran.push(c)
  }
  return { ran, missing }
}
