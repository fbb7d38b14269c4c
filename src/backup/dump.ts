/**
 * `prescient dump`: one consistent snapshot of the 12 prescient tables, in one
 * of three formats, with its manifest.
 *
 * Consistency: one REPEATABLE READ, READ ONLY transaction exports its snapshot.
 * The json format COPYs each table on a connection that imports it; for sql and
 * custom, pg_dump is handed it (--snapshot) while the manifest's hashes are
 * computed in the exporting transaction itself. Either way the manifest
 * describes exactly the rows in the file, even while cycles keep writing.
 *
 * The file is written as `<name>.partial`, fsynced and renamed; the manifest is
 * written (atomically) last. A crash leaves a .partial or a dump without
 * manifest, and restore refuses the latter.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { DbConfig } from '../config.ts'
import type { Sql } from '../db/client.ts'
import { Exit, PrescientError } from '../errors.ts'
import { logger } from '../logger.ts'
import { VERSION } from '../version.ts'
import { tableInfo, tableStats, HASH_METHOD, type TableInfo, type TableStat } from './catalog.ts'
import { dumpName, type Format } from './files.ts'
import { writeJsonDump } from './jsondump.ts'
import { sha256File, writeManifest, type Manifest } from './manifest.ts'
import { findTool, pgEnv, runTool, serverMajor, type FoundTool } from './pgtools.ts'

export interface DumpOptions {
  db: DbConfig
  format: Format
  dir: string
  now?: Date
}

export interface DumpResult {
  file: string
  manifest: string
  manifestData: Manifest
  elapsed_ms: number
}

interface ServerInfo {
  version: string
  num: number
}

async function serverInfo(sql: Sql): Promise<ServerInfo> {
  const [r] = await sql<{ v: string; n: string }[]>`select current_setting('server_version') as v, current_setting('server_version_num') as n`
  return { version: r!.v, num: Number(r!.n) }
}

/** The pg_dump this server needs (same major or newer), found before anything is written. */
export async function pgDumpFor(sql: Sql): Promise<FoundTool> {
  const server = await serverInfo(sql)
  return findTool('pg_dump', serverMajor(server.num), ` for PostgreSQL ${server.version} (pg_dump refuses to dump a newer server)`)
}

const tableArgs = (tables: readonly TableInfo[]) => tables.flatMap((t) => ['--table', `"${t.schema.replace(/"/g, '""')}"."${t.name.replace(/"/g, '""')}"`])

function pgDumpArgs(format: 'sql' | 'custom', snapshot: string, tables: readonly TableInfo[], out: string): string[] {
  const common = ['--snapshot', snapshot, '--no-password', ...tableArgs(tables), '--file', out]
  // plain SQL carries its own DROP ... IF EXISTS (restore replaces the tables in one transaction) and no
  // owners or grants (the restoring role owns what it creates); custom decides that at restore time
  if (format === 'sql') return ['--format', 'plain', '--clean', '--if-exists', '--no-owner', '--no-privileges', ...common]
  return ['--format', 'custom', ...common]
}

export async function takeDump(sql: Sql, opts: DumpOptions): Promise<DumpResult> {
  const t0 = performance.now()
  const now = opts.now ?? new Date()
  const server = await serverInfo(sql)
  const pgDump = opts.format === 'json' ? undefined : await pgDumpFor(sql)
  mkdirSync(opts.dir, { recursive: true })
  const name = dumpName(opts.db.database, opts.format, now)
  const file = join(opts.dir, name)
  if (existsSync(file)) throw new PrescientError(`${file} already exists (two dumps within one second?)`, Exit.runtime, 'wait a second and run again')
  const partial = `${file}.partial`
  let stats: Record<string, TableStat>
  let sha: { sha256: string; bytes: number }
  let schemaVersion = 0
  try {
    const out = await sql.begin('isolation level repeatable read read only', async (tx) => {
      const [sv] = await tx<{ v: number | null }[]>`select max(version)::int as v from prescient_migrations`
      schemaVersion = sv?.v ?? 0
      const tables = await tableInfo(tx)
      const [snap] = await tx<{ s: string }[]>`select pg_export_snapshot() as s`
      if (!pgDump) {
        const header = { database: opts.db.database, schema_version: schemaVersion, created_at: now.toISOString(), tool_version: VERSION }
        const r = await writeJsonDump(opts.db, snap!.s, tables, partial, header)
        return { stats: r.stats, sha: { sha256: r.sha256, bytes: r.bytes } }
      }
      logger.debug(`${pgDump.path} on snapshot ${snap!.s}`)
      const [, s] = await Promise.all([
        runTool(pgDump, pgDumpArgs(opts.format as 'sql' | 'custom', snap!.s, tables, partial), pgEnv(opts.db, opts.db.database)),
        tableStats(tx, tables),
      ])
      return { stats: s, sha: undefined }
    })
    stats = out.stats
    sha = out.sha ?? (await sha256File(partial))
    await rename(partial, file)
  } catch (err) {
    await unlink(partial).catch(() => {})
    throw err
  }
  const manifestData: Manifest = {
    manifest: 1,
    file: name,
    format: opts.format,
    bytes: sha.bytes,
    sha256: sha.sha256,
    database: opts.db.database,
    created_at: now.toISOString(),
    schema_version: schemaVersion,
    server_version: server.version,
    server_version_num: server.num,
    tool_version: `prescient ${VERSION}`,
    dump_tool: pgDump?.version.text ?? null,
    hash_method: HASH_METHOD,
    tables: stats,
  }
  const manifest = await writeManifest(file, manifestData)
  return { file, manifest, manifestData, elapsed_ms: Math.round(performance.now() - t0) }
}
