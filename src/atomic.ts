/**
 * Crash-safe JSON writes: temp file in the same directory, fsync, rename over
 * the target, fsync the directory. A crash at any point leaves the old file or
 * the new one, never a partial one (rename is atomic within one filesystem).
 *
 * Several files written together (one cycle) share a roll-forward journal: once
 * every temp is on disk, the list of renames is written (atomically) to the
 * journal, then the renames run, then the journal goes. A crash during the
 * renames leaves the journal, and the next reader (`recoverJournal`, called by
 * JsonStore) finishes them, so the files never mix two cycles. The crash tests
 * (test/crash.test.ts) found exactly that mix before the journal existed.
 */
import { existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { alive } from './lock.ts'

export interface JsonWrite {
  path: string
  value: unknown
}

const TMP_SUFFIX = '.prescient-tmp'
/** Temps older than this were left by a crashed run (cycles are locked, so none is in flight). */
const STALE_MS = 60 * 60 * 1000

export const serializeJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

const tempFor = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${TMP_SUFFIX}`)

async function writeTemp(path: string, text: string): Promise<string> {
  const tmp = tempFor(path)
  const fh = await open(tmp, 'wx', 0o644)
  try {
    await fh.writeFile(text, 'utf8')
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  return tmp
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Windows refuses a rename while another process (antivirus, an editor) holds the target; retry briefly. */
async function renameRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rename(from, to)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (attempt >= 5 || !(code === 'EPERM' || code === 'EACCES' || code === 'EBUSY')) throw err
      await sleep(20 * 2 ** attempt)
    }
  }
}

/** Persist the rename itself. Windows cannot open a directory for fsync; that is harmless there. */
async function syncDir(dir: string): Promise<void> {
  let fh
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (!(code === 'EPERM' || code === 'EISDIR' || code === 'EINVAL' || code === 'EACCES')) throw err
  } finally {
    await fh?.close().catch(() => {})
  }
}

async function sweepStale(dir: string, now = Date.now()): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.endsWith(TMP_SUFFIX)) continue
    const p = join(dir, name)
    const st = await stat(p).catch(() => null)
    if (st && now - st.mtimeMs > STALE_MS) await unlink(p).catch(() => {})
  }
}

/** Write one JSON file atomically (2-space indent, trailing newline). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeJsonAtomicMany([{ path, value }])
}

/**
 * Write several files: every temp is written and synced first, then all are
 * renamed, so a failure while serialising or writing changes no target at all
 * and the window in which only some targets are new is a few renames long.
 * With `gate`, the renames wait for it; if it rejects, the temps are removed
 * and nothing changes (a caller can write while it still checks something).
 */
export async function writeJsonAtomicMany(entries: readonly JsonWrite[], opts: { journal?: string; gate?: Promise<unknown> } = {}): Promise<void> {
  if (entries.length === 0) return
  const journal = entries.length > 1 ? opts.journal : undefined
  const dirs = [...new Set(entries.map((e) => dirname(e.path)))]
  for (const d of dirs) await mkdir(d, { recursive: true })
  const texts = entries.map((e) => serializeJson(e.value))
  const temps: string[] = []
  try {
    for (const [k, e] of entries.entries()) temps.push(await writeTemp(e.path, texts[k]!))
    await opts.gate
  } catch (err) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => {})))
    throw err
  }
  if (journal) {
    // from here on, a crash rolls forward: every temp is complete and synced
    const info: Journal = { pid: process.pid, host: hostname(), renames: entries.map((e, k) => [temps[k]!, e.path]) }
    await mkdir(dirname(journal), { recursive: true })
    try {
      const jt = await writeTemp(journal, JSON.stringify(info))
      await renameRetry(jt, journal)
      await syncDir(dirname(journal))
    } catch (err) {
      await Promise.all(temps.map((t) => unlink(t).catch(() => {})))
      throw err
    }
  }
  let renamed = 0
  try {
    for (const [k, e] of entries.entries()) {
      await renameRetry(temps[k]!, e.path)
      renamed++
    }
  } finally {
    // a failed rename (not a crash) cannot be finished later: drop the temps and the journal
    await Promise.all(temps.slice(renamed).map((t) => unlink(t).catch(() => {})))
  }
  for (const d of dirs) await syncDir(d)
  if (journal) await unlink(journal).catch(() => {})
  for (const d of dirs) await sweepStale(d)
}

interface Journal {
  pid: number
  host: string
  renames: [string, string][]
}

/**
 * Finish the renames of a multi-file write that a crash interrupted (see the top of
 * this file). A journal whose writer is still running is left alone. Returns the
 * number of files renamed. Synchronous, so a constructor can call it before any read.
 */
export function recoverJournal(journal: string): number {
  if (!existsSync(journal)) return 0
  let info: Journal
  try {
    info = JSON.parse(readFileSync(journal, 'utf8')) as Journal
  } catch {
    return 0 // written atomically, so unreadable means unreadable now (permissions): leave it
  }
  if (info.host === hostname() && info.pid !== process.pid && alive(info.pid)) return 0
  let n = 0
  for (const [tmp, target] of info.renames ?? []) {
    if (!existsSync(tmp)) continue
    try {
      renameSync(tmp, target)
      n++
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  try {
    unlinkSync(journal)
  } catch {
    // another reader finished first
  }
  return n
}
