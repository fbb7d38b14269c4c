/**
 * `prescient archive`: once PostgreSQL holds everything (phase 7), the JSON
 * files are packed into a .tar.gz with a sha256 manifest next to it, for the
 * audit trail. The originals are deleted only on request, and only after the
 * archive has been read back and every file's hash checked against both the
 * manifest and the file still on disk.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, fsyncSync, closeSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import type { Config } from './config.ts'
import { closeQuietly, connectChecked } from './db/client.ts'
import { assertSchemaCurrent } from './db/migrations.ts'
import { ARCHIVE_DIR, ARCHIVE_FILE_RE, FILES } from './schema/files.ts'
import { Exit, PrescientError } from './errors.ts'
import { verify } from './verify/index.ts'
import { padding, tarHeader, tarTrailer, TarScanner, type ScannedEntry } from './tar.ts'

export const MANIFEST_FORMAT = 'prescient-json-archive/1'

export interface ArchivedFile {
  path: string
  size: number
  sha256: string
}

/** What the precondition found; recorded in the manifest. */
export type VerifyOutcome = { checked: true; differences: number; database: string } | { checked: false; reason: string }

export interface Manifest {
  format: string
  archive: string
  size: number
  sha256: string
  created_at: string
  data_dir: string
  phase: number
  verify: VerifyOutcome
  files: ArchivedFile[]
}

/**
 * The precondition: `verify` reports no difference between the JSON files and
 * PostgreSQL. Without a database there is nothing to verify against, and that
 * is a refusal too (exit 2); --force skips the check.
 */
export async function verifyPrecondition(config: Config): Promise<VerifyOutcome> {
  if (!config.db) {
    throw new PrescientError(
      '`prescient archive` first checks that `prescient verify` is clean, and no database is configured (--force skips the check)',
      Exit.usage,
      'set DATABASE_URL in .env (or pass --database-url), or pass --force to archive without the check',
    )
  }
  const sql = await connectChecked(config.db, { max: 2 })
  try {
    await assertSchemaCurrent(sql)
    const report = await verify(sql, config.dataDir, { limit: 0 })
    const total = report.tables.reduce((n, t) => n + (t.missing_in_db ?? 0) + (t.missing_in_json ?? 0) + (t.differing ?? 0) + (t.duplicates_in_json ?? 0), 0)
    return { checked: true, differences: report.equal ? 0 : Math.max(total, 1), database: config.db.database }
  } finally {
    await closeQuietly(sql)
  }
}

/** The data dir's JSON files: every FILES entry outside .prescient/, and every monthly signal archive. */
export function archiveCandidates(dataDir: string): string[] {
  const out = Object.values(FILES)
    .map((f) => f.rel as string)
    .filter((rel) => !rel.startsWith('.prescient/'))
  try {
    for (const n of readdirSync(join(dataDir, ARCHIVE_DIR)).sort()) if (ARCHIVE_FILE_RE.test(n)) out.push(`${ARCHIVE_DIR}/${n}`)
  } catch {
    // no history folder
  }
  return out.filter((rel) => {
    try {
      return statSync(join(dataDir, rel)).isFile()
    } catch {
      return false
    }
  })
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
export const archiveName = (now: Date) => `prescient-json-${stamp(now)}.tar.gz`
export const manifestPath = (archivePath: string) => `${archivePath}.sha256.json`

export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { sha256: h.digest('hex'), size }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export interface WriteOptions {
  outDir: string
  now?: Date
  phase: number
  verify: VerifyOutcome
}

/** Write `<out>/prescient-json-<time>.tar.gz` and its manifest; each file is hashed as it streams in. */
export async function writeArchive(dataDir: string, files: string[], opts: WriteOptions): Promise<{ path: string; manifest: Manifest }> {
  const now = opts.now ?? new Date()
  mkdirSync(opts.outDir, { recursive: true })
  const path = join(opts.outDir, archiveName(now))
  if (existsSync(path)) throw new PrescientError(`${path} already exists`, Exit.usage, 'wait a second and run again, or pass another --out')
  const tmp = `${path}.partial`
  const archived: ArchivedFile[] = []
  async function* tar() {
    let written = 0
    for (const rel of files) {
      const abs = join(dataDir, rel)
      const st = statSync(abs)
      yield tarHeader({ name: rel, size: st.size, mtime: st.mtime })
      const h = createHash('sha256')
      let n = 0
      for await (const chunk of createReadStream(abs)) {
        n += (chunk as Buffer).length
        if (n > st.size) break
        h.update(chunk as Buffer)
        yield chunk as Buffer
      }
      if (n !== st.size) throw new PrescientError(`${rel} changed while it was being archived`, Exit.runtime, 'run again; nothing else should write the data dir meanwhile')
      yield padding(st.size)
      written += 512 + st.size + padding(st.size).length
      archived.push({ path: rel, size: st.size, sha256: h.digest('hex') })
    }
    yield tarTrailer(written)
  }
  const outHash = createHash('sha256')
  let size = 0
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      outHash.update(chunk)
      size += chunk.length
      cb(null, chunk)
    },
  })
  try {
    await pipeline(Readable.from(tar()), createGzip({ level: 9 }), count, createWriteStream(tmp, { flags: 'wx' }))
    fsyncPath(tmp)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    archive: basename(path),
    size,
    sha256: outHash.digest('hex'),
    created_at: now.toISOString(),
    data_dir: dataDir,
    phase: opts.phase,
    verify: opts.verify,
    files: archived,
  }
  const mtmp = `${manifestPath(path)}.partial`
  writeFileSync(mtmp, JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' })
  fsyncPath(mtmp)
  renameSync(mtmp, manifestPath(path))
  return { path, manifest }
}

/** Read the archive back: its own hash, and each entry's name, size and hash, against the manifest. */
export async function checkArchive(path: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = []
  const whole = await sha256File(path)
  if (whole.sha256 !== manifest.sha256 || whole.size !== manifest.size) problems.push(`${basename(path)}: sha256 or size differs from the manifest`)
  const scanner = new TarScanner()
  let entries: ScannedEntry[] = []
  try {
    await pipeline(createReadStream(path), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) scanner.push(chunk)
    })
    entries = scanner.finish()
  } catch (err) {
    problems.push(`${basename(path)} cannot be read back: ${(err as Error).message}`)
    return problems
  }
  const byName = new Map(entries.map((e) => [e.name, e]))
  for (const f of manifest.files) {
    const e = byName.get(f.path)
    if (!e) problems.push(`${f.path} is in the manifest but not in the archive`)
    else if (e.size !== f.size || e.sha256 !== f.sha256) problems.push(`${f.path}: the archived copy does not match the manifest`)
  }
  const listed = new Set(manifest.files.map((f) => f.path))
  for (const e of entries) if (!listed.has(e.name)) problems.push(`${e.name} is in the archive but not in the manifest`)
  return problems
}

/**
 * Delete the originals, all or none: each must still hash to its archived
 * copy (a file changed after archiving is not in the archive, so it stays).
 */
export async function removeOriginals(dataDir: string, path: string, manifest: Manifest): Promise<string[]> {
  const problems = await checkArchive(path, manifest)
  for (const f of manifest.files) {
    const abs = join(dataDir, f.path)
    if (!existsSync(abs)) continue
    const now = await sha256File(abs)
    if (now.sha256 !== f.sha256) problems.push(`${f.path} changed after it was archived`)
  }
  if (problems.length) {
    throw new PrescientError(`not removing anything: ${problems.join('; ')}`, Exit.runtime, `the archive ${basename(path)} is kept; run \`prescient archive\` again`)
  }
  const removed: string[] = []
  for (const f of manifest.files) {
    const abs = join(dataDir, f.path)
    if (!existsSync(abs)) continue
    unlinkSync(abs)
    removed.push(f.path)
  }
  return removed
}
