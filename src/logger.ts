/**
 * The only module that imports consola. Logs and progress go to stderr; stdout
 * is reserved for data. Non-TTY (scheduled) runs also append to a dated log file.
 */
import { createConsola } from 'consola/basic'
import type { ConsolaReporter, LogObject } from 'consola'
import { appendFileSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { format } from 'node:util'
import { mask } from './mask.ts'

let logDir: string | undefined
let lastError: string | undefined

function fileReporter(): ConsolaReporter {
  return {
    log(obj: LogObject) {
      if (!logDir) return
      const line = `${obj.date.toISOString()} ${obj.type.toUpperCase().padEnd(5)} ${mask(format(...obj.args))}\n`
      try {
        mkdirSync(logDir, { recursive: true })
        appendFileSync(join(logDir, `prescient-${obj.date.toISOString().slice(0, 10)}.log`), line)
      } catch {
        // A log that cannot be written must never stop a trading cycle.
      }
    },
  }
}

const maskingReporter: ConsolaReporter = {
  log(obj: LogObject) {
    obj.args = obj.args.map((a) => (typeof a === 'string' ? mask(a) : a instanceof Error ? mask(a.message) : a))
    if (obj.type === 'error' || obj.type === 'fatal') lastError = format(...obj.args)
  },
}

export const logger = createConsola({
  level: process.env.PRESCIENT_LOG_LEVEL ? Number(process.env.PRESCIENT_LOG_LEVEL) : 3,
  stdout: process.stderr,
  stderr: process.stderr,
  formatOptions: { date: false, colors: !!process.stderr.isTTY },
})
logger.addReporter(fileReporter())
// The masking reporter must run before the printing ones.
logger.setReporters([maskingReporter, ...logger.options.reporters.filter((r) => r !== maskingReporter)])

export const LOG_RETENTION_DAYS = 30

/** Turn on the dated log file (scheduled runs) and prune logs older than the retention. */
export function enableFileLog(dir: string, now = new Date()): void {
  logDir = dir
  try {
    const cutoff = now.getTime() - LOG_RETENTION_DAYS * 86_400_000
    for (const name of readdirSync(dir)) {
      const m = /^prescient-(\d{4}-\d{2}-\d{2})\.log$/.exec(name)
      if (m && Date.parse(`${m[1]}T00:00:00Z`) < cutoff) unlinkSync(join(dir, name))
    }
  } catch {
    // no directory yet
  }
}

export const fileLogDir = () => logDir
export const lastLoggedError = () => lastError

export function setQuiet(quiet: boolean): void {
  logger.level = quiet ? 1 : 3
}

export function logFiles(dir: string): { name: string; size: number }[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith('prescient-') && n.endsWith('.log'))
      .sort()
      .map((name) => ({ name, size: statSync(join(dir, name)).size }))
  } catch {
    return []
  }
}
