/**
 * Embedded, numbered, forward-only migrations. They are bundled into the
 * binary as text, applied in one transaction under an advisory lock, and
 * recorded with a checksum; an applied file that was edited is refused.
 */
import { createHash } from 'node:crypto'
import m00001 from '../../sql/00001_init.sql' with { type: 'text' }
import m00002 from '../../sql/00002_keys_and_utc.sql' with { type: 'text' }
import { PrescientError, Exit } from '../errors.ts'
import type { Q, Sql } from './client.ts'

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

// Line endings are normalised so a Windows checkout (CRLF) has the same checksum.
const checksum = (text: string) => createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex')
const def = (name: string, sql: string): Migration => ({ version: Number(name.slice(0, 5)), name, sql, checksum: checksum(sql) })

export const MIGRATIONS: readonly Migration[] = [def('00001_init.sql', m00001), def('00002_keys_and_utc.sql', m00002)]
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** Any constant works; it only has to be the same for every prescient process. */
const LOCK_KEY = 7_245_311_001

export interface MigrationStatus {
  version: number
  name: string
  state: 'applied' | 'pending' | 'edited'
  applied_at: string | null
}

async function ensureTable(sql: Q) {
  await sql`
    create table if not exists prescient_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`
}

async function applied(sql: Q): Promise<Map<number, { name: string; checksum: string; applied_at: Date }>> {
  const exists = await sql<{ t: string | null }[]>`select to_regclass('prescient_migrations')::text as t`
  if (!exists[0]?.t) return new Map()
  const rows = await sql<{ version: number; name: string; checksum: string; applied_at: Date }[]>`
    select version, name, checksum, applied_at from prescient_migrations order by version`
  return new Map(rows.map((r) => [r.version, r]))
}

export async function migrationStatus(sql: Q): Promise<MigrationStatus[]> {
  const done = await applied(sql)
  return MIGRATIONS.map((m) => {
    const a = done.get(m.version)
    return {
      version: m.version,
      name: m.name,
      state: !a ? 'pending' : a.checksum === m.checksum ? 'applied' : 'edited',
      applied_at: a ? new Date(a.applied_at).toISOString() : null,
    }
  })
}

function refuseEdited(status: MigrationStatus[]) {
  const edited = status.filter((s) => s.state === 'edited')
  if (edited.length) {
    throw new PrescientError(
      `migration ${edited.map((e) => e.name).join(', ')} was changed after it was applied (checksum differs)`,
      Exit.usage,
      'applied migrations are immutable: restore the original file and put the change in a new numbered file under sql/',
    )
  }
}

/** Apply every pending migration in one transaction; returns the names applied. */
export async function migrate(sql: Sql, opts: { dryRun?: boolean } = {}): Promise<string[]> {
  if (opts.dryRun) {
    const status = await migrationStatus(sql)
    refuseEdited(status)
    return status.filter((s) => s.state === 'pending').map((s) => s.name)
  }
  const adopted: string[] = []
  const ran = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`
    await ensureTable(tx)
    const status = await migrationStatus(tx)
    refuseEdited(status)
    const pending = MIGRATIONS.filter((m) => status.find((s) => s.version === m.version)?.state === 'pending')
    // A database set up by hand from the seed's schema.sql already has 00001's tables:
    // adopt it (record 00001 as the baseline) instead of failing on "already exists".
    if (pending[0]?.version === 1 && (await tx`select to_regclass('trades')::text as t`)[0]?.t) {
      const seed = pending.shift()!
      await tx`insert into prescient_migrations (version, name, checksum) values (${seed.version}, ${seed.name + ' (adopted seed schema)'}, ${seed.checksum})`
      adopted.push(seed.name)
    }
    for (const m of pending) {
      await tx.unsafe(m.sql)
      await tx`insert into prescient_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`
    }
    return pending.map((m) => m.name)
  })
  return [...adopted.map((n) => `${n} (adopted: the seed's tables were already there)`), ...ran]
}

/** Refuse to run against a schema older or newer than this binary knows. */
export async function assertSchemaCurrent(sql: Q): Promise<void> {
  const status = await migrationStatus(sql)
  refuseEdited(status)
  const pending = status.filter((s) => s.state === 'pending')
  if (pending.length) {
    throw new PrescientError(
      `the database schema is behind: ${pending.length} migration(s) pending (${pending.map((p) => p.name).join(', ')})`,
      Exit.usage,
      'run `prescient migrate`',
    )
  }
}
