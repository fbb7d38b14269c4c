/**
 * Crash-safe JSON writes: temp file in the same directory, fsync, rename over
 * the target, fsync the directory. A crash at any point leaves the old file or
 * the new one, never a partial one (rename is atomic within one filesystem).
 */
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

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
 */
export async function writeJsonAtomicMany(entries: readonly JsonWrite[]): Promise<void> {
  if (entries.length === 0) return
  const dirs = [...new Set(entries.map((e) => dirname(e.path)))]
  for (const d of dirs) await mkdir(d, { recursive: true })
  const texts = entries.map((e) => serializeJson(e.value))
  const temps: string[] = []
  try {
    for (const [k, e] of entries.entries()) temps.push(await writeTemp(e.path, texts[k]!))
  } catch (err) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => {})))
    throw err
  }
  let renamed = 0
  try {
    for (const [k, e] of entries.entries()) {
      await renameRetry(temps[k]!, e.path)
      renamed++
    }
  } finally {
    await Promise.all(temps.slice(renamed).map((t) => unlink(t).catch(() => {})))
  }
  for (const d of dirs) {
    await syncDir(d)
    await sweepStale(d)
  }
}
