/**
 * One cycle at a time per data dir. The lock is a file created with O_EXCL
 * holding the owner's pid and host; a lock whose process is gone (or that is
 * older than the longest sane cycle) is stale and is taken over, with a warning.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { Exit, PrescientError } from './errors.ts'
import { logger } from './logger.ts'

export const LOCK_MAX_AGE_MS = 2 * 60 * 60 * 1000

interface LockInfo {
  pid: number
  host: string
  started_at: string
  command: string
}

export const lockPath = (dataDir: string) => join(dataDir, '.prescient', 'cycle.lock')

/** Is this pid a live process on this machine? (EPERM: alive, but someone else's) */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo
  } catch {
    return null
  }
}

function isStale(info: LockInfo | null, now: number): boolean {
  if (!info || typeof info.pid !== 'number') return true // unreadable: a crash mid-write
  const age = now - Date.parse(info.started_at)
  if (!(age >= 0) || age > LOCK_MAX_AGE_MS) return true
  if (info.host === hostname() && !alive(info.pid)) return true
  return false
}

export interface Lock {
  path: string
  release(): void
}

/** The lock of a data dir that exists; none for a data dir that does not (there is nothing to protect yet). */
export function lockIfPresent(dataDir: string, command: string): Lock | undefined {
  return existsSync(dataDir) ? acquireLock(dataDir, command) : undefined
}

export function acquireLock(dataDir: string, command: string): Lock {
  const path = lockPath(dataDir)
  mkdirSync(dirname(path), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      const info: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), command }
      writeSync(fd, JSON.stringify(info))
      closeSync(fd)
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          const current = readLock(path)
          if (current?.pid === process.pid) unlinkSync(path)
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const info = readLock(path)
      if (!isStale(info, Date.now())) {
        throw new PrescientError(
          `another ${info!.command} holds the lock (pid ${info!.pid} on ${info!.host}, since ${info!.started_at})`,
          Exit.locked,
          `if no prescient process is running, delete ${path}`,
        )
      }
      logger.warn(`recovering a stale lock left by pid ${info?.pid ?? '?'} (${info?.started_at ?? 'unreadable'})`)
      try {
        unlinkSync(path)
      } catch {
        // another process recovered it first; the retry decides
      }
    }
  }
  throw new PrescientError(`could not take the lock ${path}`, Exit.locked)
}
