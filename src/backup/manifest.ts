/**
 * The manifest written beside every dump (`<file>.manifest.json`): what a
 * restore checks before it touches anything (size and sha256 of the file) and
 * what it must reproduce afterwards (rows and content hash of every table).
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import * as v from 'valibot'
import { writeJsonAtomic } from '../atomic.ts'
import { Exit, PrescientError, errorMessage } from '../errors.ts'
import { FORMATS, manifestPath, parseDumpName, type Format } from './files.ts'
import { HASH_METHODS, type TableStat } from './catalog.ts'

export const MANIFEST_VERSION = 1

const StatSchema = v.object({ rows: v.pipe(v.number(), v.integer(), v.minValue(0)), hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)) })

const ManifestSchema = v.looseObject({
  manifest: v.literal(MANIFEST_VERSION),
  file: v.string(),
  format: v.picklist(FORMATS),
  bytes: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  database: v.string(),
  created_at: v.string(),
  schema_version: v.pipe(v.number(), v.integer()),
  server_version: v.string(),
  server_version_num: v.number(),
  tool_version: v.string(),
  dump_tool: v.nullable(v.string()),
  hash_method: v.picklist(HASH_METHODS),
  tables: v.record(v.string(), StatSchema),
})

export type Manifest = v.InferOutput<typeof ManifestSchema>

export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { sha256: h.digest('hex'), bytes }
}

export async function writeManifest(file: string, m: Manifest): Promise<string> {
  const path = manifestPath(file)
  await writeJsonAtomic(path, m)
  return path
}

const refuse = (file: string, why: string, hint?: string) => new PrescientError(`refusing to restore ${file}: ${why}`, Exit.runtime, hint)

/**
 * Read the manifest and prove the dump matches it (size, then sha256), before
 * anything is touched. Exit 1 naming the file when it does not.
 */
export async function checkDump(file: string): Promise<Manifest> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new PrescientError(`no dump file at ${file}`, Exit.usage, 'pass the path of a dump written by `prescient dump`')
  const mpath = manifestPath(file)
  if (!existsSync(mpath)) {
    throw refuse(file, `its manifest ${basename(mpath)} is missing, so the dump cannot be checked`, 'every `prescient dump` writes <file>.manifest.json beside the dump; copy both together')
  }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(mpath, 'utf8'))
  } catch (err) {
    throw refuse(file, `its manifest ${basename(mpath)} is not valid JSON (${errorMessage(err)})`)
  }
  const parsed = v.safeParse(ManifestSchema, raw)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    throw refuse(file, `its manifest ${basename(mpath)} is not a prescient manifest (${v.getDotPath(issue) ?? 'root'}: ${issue.message})`)
  }
  const m = parsed.output
  const named = parseDumpName(basename(file))
  const format: Format | undefined = named?.format
  if (format && format !== m.format) throw refuse(file, `the manifest says format ${m.format}, the file name says ${format}`)
  const actual = await sha256File(file)
  if (actual.bytes !== m.bytes || actual.sha256 !== m.sha256) {
    throw refuse(
      file,
      actual.bytes !== m.bytes
        ? `it is ${actual.bytes} bytes, its manifest says ${m.bytes}: the file is truncated or damaged`
        : `its sha256 ${actual.sha256.slice(0, 12)}... does not match the manifest's ${m.sha256.slice(0, 12)}...: the file is damaged or was changed`,
      'restore an older dump (`prescient dump` keeps daily and weekly ones), or copy this one again from its original place',
    )
  }
  return m
}

export type { TableStat }
