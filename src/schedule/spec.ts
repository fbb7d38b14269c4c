/**
 * What `prescient schedule` installs, independent of the platform: two jobs (a
 * cycle every N minutes, a daily `dump --prune`), the program that runs them and
 * the folder they run in. The platform modules only render this.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { usageError } from '../errors.ts'

export const PLATFORMS = ['windows', 'cron', 'systemd'] as const
export type Platform = (typeof PLATFORMS)[number]

export const defaultPlatform = (os: string = process.platform): Platform => (os === 'win32' ? 'windows' : 'cron')

export function parsePlatform(value: string | undefined, os?: string): Platform {
  if (value === undefined || value === '') return defaultPlatform(os)
  if ((PLATFORMS as readonly string[]).includes(value)) return value as Platform
  throw usageError(`--platform: ${JSON.stringify(value)} is not one of ${PLATFORMS.join(', ')}`)
}

/** Every interval runs on the clock (:00, :15, ...) on all three platforms, so it must divide an hour or a day. */
const MINUTES = [5, 10, 15, 20, 30, 60]
const HOURS = [1, 2, 3, 4, 6, 8, 12]

export interface Every {
  minutes: number
  /** normalized, e.g. "15m" or "2h" */
  label: string
}

export function parseEvery(value: string | undefined): Every {
  const raw = (value ?? '15m').trim().toLowerCase()
  const m = /^(\d{1,4})\s*(m|min|h)$/.exec(raw)
  const allowed = `${MINUTES.filter((x) => x < 60).map((x) => `${x}m`).join(', ')}, ${HOURS.map((x) => `${x}h`).join(', ')}`
  if (!m) throw usageError(`--every: ${JSON.stringify(value)} is not an interval like 15m or 1h`, `allowed: ${allowed}`)
  const n = Number(m[1])
  const minutes = m[2] === 'h' ? n * 60 : n
  const ok = minutes < 60 ? MINUTES.includes(minutes) : minutes % 60 === 0 && HOURS.includes(minutes / 60)
  if (!ok) throw usageError(`--every: ${JSON.stringify(value)} must divide an hour or a day so runs stay on the clock`, `allowed: ${allowed}`)
  return { minutes, label: minutes < 60 ? `${minutes}m` : `${minutes / 60}h` }
}

export interface TimeOfDay {
  hour: number
  minute: number
  /** HH:MM */
  label: string
}

export function parseTimeOfDay(value: string | undefined, flag = '--backup-at'): TimeOfDay {
  const raw = (value ?? '02:00').trim()
  const m = /^(\d{1,2}):(\d{2})$/.exec(raw)
  const hour = Number(m?.[1])
  const minute = Number(m?.[2])
  if (!m || hour > 23 || minute > 59) throw usageError(`${flag}: ${JSON.stringify(value)} is not a time of day HH:MM (00:00 to 23:59, local time)`)
  const pad = (x: number) => String(x).padStart(2, '0')
  return { hour, minute, label: `${pad(hour)}:${pad(minute)}` }
}

/** How the jobs start prescient: the compiled binary itself, else the running bun with this checkout's src/cli.ts. */
export interface Program {
  program: string
  /** arguments before the command name (the script path under bun) */
  prefix: string[]
  compiled: boolean
}

export function selfProgram(execPath: string = process.execPath, cliPath?: string, moduleUrl: string = import.meta.url): Program {
  const base = execPath.split(/[\\/]/).pop() ?? ''
  // a renamed binary is still compiled: its modules live in Bun's virtual file system
  if (base.toLowerCase().startsWith('prescient') || /\$bunfs|~BUN/.test(moduleUrl)) return { program: execPath, prefix: [], compiled: true }
  // only outside a compiled binary: inside one, import.meta.url points into its virtual /$bunfs/
  return { program: execPath, prefix: [cliPath ?? fileURLToPath(new URL('../cli.ts', import.meta.url))], compiled: false }
}

export interface ScheduleSpec {
  platform: Platform
  every: Every
  backupAt: TimeOfDay
  program: Program
  /** the working directory of both jobs (absolute) */
  cwd: string
  /** the .env both jobs read (absolute) */
  envFile: string
  /** passed to the cycle only when --data-dir was given */
  dataDir?: string
  /** passed to the cycle only when --phase was given; otherwise the job follows .env */
  phase?: number
  /** where the cycle's dated log files go (for cron's own output and the docs) */
  logDir: string
}

export type JobId = 'cycle' | 'backup'

export interface Job {
  id: JobId
  /** Task Scheduler name, unit base name */
  title: string
  description: string
  /** arguments after the program and its prefix */
  args: string[]
  /** the longest sane run, in minutes (Task Scheduler ExecutionTimeLimit, systemd TimeoutStartSec) */
  timeLimitMinutes: number
}

export function jobs(spec: ScheduleSpec): Job[] {
  const cycle = ['cycle']
  if (spec.phase !== undefined) cycle.push('--phase', String(spec.phase))
  cycle.push('--env-file', spec.envFile)
  if (spec.dataDir) cycle.push('--data-dir', spec.dataDir)
  return [
    {
      id: 'cycle',
      title: 'Cycle',
      description: `Prescient trading cycle, every ${spec.every.label}`,
      args: cycle,
      timeLimitMinutes: 10,
    },
    {
      id: 'backup',
      title: 'Backup',
      description: `Prescient daily backup (dump --prune) at ${spec.backupAt.label}`,
      args: ['dump', '--prune', '--env-file', spec.envFile],
      timeLimitMinutes: 60,
    },
  ]
}

/** Paths end up in XML, crontabs and unit files: a line break in one would split the entry. */
export function assertPrintablePaths(spec: ScheduleSpec): void {
  for (const [what, p] of [['working directory', spec.cwd], ['.env file', spec.envFile], ['program', spec.program.program], ['data dir', spec.dataDir], ['log dir', spec.logDir], ...spec.program.prefix.map((x) => ['script', x])] as const) {
    if (p && /[\r\n\0]/.test(p)) throw usageError(`the ${what} path contains a line break, which no scheduler accepts: ${JSON.stringify(p)}`)
  }
}

/** What to say when the .env file the jobs will read does not exist (yet). */
export function missingEnvFileWarning(envFile: string): string | undefined {
  return existsSync(envFile) ? undefined : `${envFile} does not exist: the jobs will run with the defaults (phase 0, no database) until it does`
}
