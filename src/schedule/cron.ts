/**
 * cron: two lines in the user's crontab, kept between `# BEGIN prescient` and
 * `# END prescient` so install can replace them and remove can delete them
 * without touching anything else the user has there.
 */
import { join } from 'node:path'
import { PrescientError, Exit, usageError } from '../errors.ts'
import { runChecked, type Runner } from './runner.ts'
import { jobs, type Job, type ScheduleSpec } from './spec.ts'

export const BEGIN = '# BEGIN prescient'
export const END = '# END prescient'

/** POSIX sh quoting: plain words stay bare, anything else goes in single quotes. */
export function shQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** cron turns an unescaped % into a newline before the shell sees the line. */
const cronEscape = (line: string) => line.replace(/%/g, '\\%')

export function cronTime(spec: ScheduleSpec, job: Job): string {
  if (job.id === 'backup') return `${spec.backupAt.minute} ${spec.backupAt.hour} * * *`
  const m = spec.every.minutes
  if (m < 60) return `*/${m} * * * *`
  return m === 60 ? '0 * * * *' : `0 */${m / 60} * * *`
}

/** cron's own output (stdout, and anything said before the dated log file opens). */
export const cronLogPath = (spec: ScheduleSpec) => join(spec.logDir, 'cron.log')

export function cronLine(spec: ScheduleSpec, job: Job): string {
  const argv = [spec.program.program, ...spec.program.prefix, ...job.args].map(shQuote).join(' ')
  return cronEscape(`${cronTime(spec, job)} cd ${shQuote(spec.cwd)} && ${argv} >> ${shQuote(cronLogPath(spec))} 2>&1`)
}

export function cronBlock(spec: ScheduleSpec): string {
  return [
    BEGIN,
    '# written by `prescient schedule install`; `prescient schedule remove` deletes this block',
    ...jobs(spec).map((j) => cronLine(spec, j)),
    END,
  ].join('\n')
}

/** Where our block sits in a crontab; a BEGIN without its END is refused rather than guessed at. */
function findBlock(lines: string[]): { start: number; end: number } | null {
  const start = lines.findIndex((l) => l.trim() === BEGIN)
  if (start < 0) {
    if (lines.some((l) => l.trim() === END)) throw damaged()
    return null
  }
  const end = lines.findIndex((l, i) => i > start && l.trim() === END)
  if (end < 0) throw damaged()
  return { start, end }
}

const damaged = () =>
  new PrescientError('your crontab has only one of the `# BEGIN prescient` / `# END prescient` markers', Exit.usage, 'fix it with `crontab -e` (delete the stray marker), then run again')

/** The block as it stands in a crontab, or null. */
export function currentBlock(crontab: string): string | null {
  const lines = crontab.split('\n')
  const b = findBlock(lines)
  return b ? lines.slice(b.start, b.end + 1).join('\n') : null
}

/** Put `block` in place of ours (appending it when absent); `null` deletes ours. Everything else is kept as is. */
export function mergeBlock(crontab: string, block: string | null): string {
  let lines = crontab.replace(/\r\n/g, '\n').split('\n')
  if (lines.at(-1) === '') lines.pop()
  let at = lines.length
  // remove every copy (hand edits can duplicate it); the new one goes where the first was
  for (let b = findBlock(lines), first = true; b; b = findBlock(lines), first = false) {
    if (first) at = b.start
    lines = [...lines.slice(0, b.start), ...lines.slice(b.end + 1)]
  }
  if (block !== null) lines.splice(at, 0, ...block.split('\n'))
  return lines.length ? lines.join('\n') + '\n' : ''
}

async function readCrontab(runner: Runner): Promise<string> {
  const r = await runner('crontab', ['-l'])
  if (r.code === 0) return r.stdout
  if (/no crontab/i.test(r.stderr + r.stdout)) return ''
  throw new PrescientError(`\`crontab -l\` failed with exit ${r.code}: ${(r.stderr || r.stdout).trim()}`, Exit.runtime)
}

export type CronOutcome = 'installed' | 'replaced' | 'unchanged' | 'removed' | 'absent'

export async function installCron(spec: ScheduleSpec, runner: Runner, yes: boolean): Promise<CronOutcome> {
  const current = await readCrontab(runner)
  const block = cronBlock(spec)
  const old = currentBlock(current)
  if (old === block) return 'unchanged'
  if (old !== null && !yes) throw usageError('your crontab already has a different prescient block', 'pass --yes to replace it (see it with `crontab -l`)')
  await runChecked(runner, 'crontab', ['-'], { input: mergeBlock(current, block) })
  return old === null ? 'installed' : 'replaced'
}

export async function removeCron(runner: Runner): Promise<CronOutcome> {
  const current = await readCrontab(runner)
  if (currentBlock(current) === null) return 'absent'
  await runChecked(runner, 'crontab', ['-'], { input: mergeBlock(current, null) })
  return 'removed'
}
