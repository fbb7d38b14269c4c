/**
 * Secrets and least privilege.
 *  - Every registered command runs as a real child process (a fresh process, so no
 *    secret registered by an earlier run can hide a leak) with a known password in
 *    DATABASE_URL / --database-url, POSTGRES_PASSWORD and setup's --password, against
 *    a reachable server and an unreachable one (so the error paths, with the URLs
 *    inside their messages, run too). The password must appear in no stdout, stderr,
 *    log file, --json document or other file the command wrote (.env excepted, where
 *    setup puts it on purpose, mode 0600).
 *  - The role setup creates is no superuser, cannot create roles or databases, and
 *    owns exactly the tables it needs.
 *  - SQL: `sql.unsafe` only in the migration runner and setup's quoted DDL, and every
 *    value spliced into setup's DDL goes through quoteIdent/quoteLiteral.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { ADMIN_URL, createTestDb, dbAvailable, type TestDb } from './_db.ts'
import { REPO } from './_fixtures.ts'
import { filesUnder, rmrf, tempDir } from './_cycle.ts'
import { recordFigures, runChild } from './_crash.ts'
import { commands } from '../commands/index.ts'

const PW = 'Pr3sc1ent-S3CRET-pw_x9'
const withPw = (url: string) => {
  const u = new URL(url)
  u.username = u.username || 'postgres'
  u.password = PW
  return u.toString()
}
const DOWN = `postgres://postgres:${PW}@127.0.0.1:1/prescient_nowhere`

type Ctx = { url: string; data: string; out: string; env: string; db: TestDb }
interface Run {
  label: string
  args: (c: Ctx) => string[]
  env?: (c: Ctx) => Record<string, string>
}

/** Cheap, safe invocations of each command; destructive ones dry-run or aim at throwaway targets. */
const RUNS: Record<string, Run[]> = {
  setup: [
    { label: 'setup (creates a throwaway role and database)', args: (c) => ['setup', '--yes', '--admin-url', ADMIN_URL, '--database', `${c.db.name}_setup`, '--user', `${c.db.name}_role`, '--password', PW, '--env-file', c.env] },
    { label: 'setup --check (reads the .env holding the password)', args: (c) => ['setup', '--check', '--env-file', c.env] },
    { label: 'setup against an unreachable admin URL', args: (c) => ['setup', '--yes', '--admin-url', DOWN, '--password', PW, '--env-file', join(c.out, 'down.env')] },
  ],
  migrate: [{ label: 'migrate --status', args: (c) => ['migrate', '--status', '--json', '--database-url', c.url] }, { label: 'migrate --dry-run', args: (c) => ['migrate', '--dry-run', '--database-url', c.url] }],
  status: [{ label: 'status --json', args: (c) => ['status', '--json', '--phase', '3', '--data-dir', c.data, '--database-url', c.url] }],
  cycle: [
    { label: 'cycle --json', args: (c) => ['cycle', '--phase', '3', '--source', 'sample', '--data-dir', c.data, '--json', '--database-url', c.url] },
    {
      label: 'cycle with POSTGRES_* from the environment',
      args: (c) => ['cycle', '--phase', '3', '--source', 'sample', '--data-dir', c.data, '--now', '2026-02-17T15:00:00Z'],
      env: (c) => ({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: new URL(c.url).port || '5432', POSTGRES_DB: c.db.name, POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: PW }),
    },
  ],
  sync: [{ label: 'sync --json', args: (c) => ['sync', '--phase', '3', '--data-dir', c.data, '--json', '--database-url', c.url] }],
  verify: [{ label: 'verify --json', args: (c) => ['verify', '--json', '--data-dir', c.data, '--database-url', c.url] }],
  report: [{ label: 'report --json', args: (c) => ['report', '--json', '--phase', '3', '--data-dir', c.data, '--database-url', c.url] }],
  schedule: [{ label: 'schedule print (DATABASE_URL in the environment)', args: (c) => ['schedule', 'print', '--platform', 'cron', '--data-dir', c.data, '--out', c.out], env: (c) => ({ DATABASE_URL: c.url }) }],
  archive: [{ label: 'archive into a throwaway folder', args: (c) => ['archive', '--force', '--out', join(c.out, 'archive'), '--phase', '3', '--data-dir', c.data, '--json', '--database-url', c.url] }],
  bench: [{ label: 'bench reads (tiny)', args: (c) => ['bench', 'reads', '--rows', '200', '--json', '--database-url', c.url] }],
  import: [{ label: 'import --dry-run', args: (c) => ['import', '--all', '--dry-run', '--json', '--data-dir', c.data, '--database-url', c.url] }],
  dump: [{ label: 'dump into a throwaway folder', args: (c) => ['dump', '--format', 'json', '--out', join(c.out, 'dump'), '--database-url', c.url] }],
  restore: [{ label: 'restore of a missing file (the error path)', args: (c) => ['restore', join(c.out, 'missing.dump'), '--database-url', c.url] }],
}
/** Error paths: the same commands against a server that is not there. */
const DOWN_RUNS = ['migrate', 'status', 'cycle', 'sync', 'verify', 'report', 'archive', 'import', 'dump', 'bench']


const figures = { commands: 0, runs: 0, leaks: 0 }

describe.skipIf(!dbAvailable)('no password anywhere', () => {
  let ctx: Ctx
  const tmp = tempDir('secrets')
  beforeAll(async () => {
    const db = await createTestDb('secrets')
    ctx = { db, url: withPw(db.url), data: join(tmp, 'data'), out: join(tmp, 'out'), env: join(tmp, 'app.env') }
    mkdirSync(ctx.out, { recursive: true })
  })
  afterAll(async () => {
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
    try {
      await admin`drop database if exists ${admin(`${ctx.db.name}_setup`)} with (force)`
      await admin`drop role if exists ${admin(`${ctx.db.name}_role`)}`
    } finally {
      await admin.end()
    }
    await ctx?.db.drop()
    rmrf(tmp)
    recordFigures('secrets', figures)
  })

  test('every registered command has safe invocations here', () => {
    const missing = Object.keys(commands).filter((c) => !RUNS[c])
    expect({ missing }).toEqual({ missing: [] })
  })

  const leaksIn = (label: string, text: string): string[] => {
    const found: string[] = []
    for (const form of [PW, encodeURIComponent(PW)]) if (text.includes(form)) found.push(label)
    return found
  }

  test('stdout, stderr, --json, log files and written files never hold the password', async () => {
    const leaks: string[] = []
    const ran: string[] = []
    // the registry's order, setup first: it writes the .env the --check run reads
    const names = ['setup', ...Object.keys(commands).filter((c) => c !== 'setup')]
    for (const name of names) {
      const runs = [...(RUNS[name] ?? [])]
      if (DOWN_RUNS.includes(name) && runs[0]) {
        const first = runs[0]
        runs.push({ label: `${first.label}, server unreachable`, args: (c) => first.args({ ...c, url: DOWN }), env: first.env && ((c) => Object.fromEntries(Object.entries(first.env!(c)).map(([k, v]) => [k, k === 'POSTGRES_PORT' ? '1' : v]))) })
      }
      if (name === 'cycle') runs.push({ label: 'cycle --debug, phase 7, server unreachable (stack traces masked too)', args: (c) => ['cycle', '--phase', '7', '--source', 'sample', '--data-dir', c.data, '--debug', '--database-url', DOWN] })
      for (const run of runs) {
        const r = await runChild(run.args(ctx), { env: run.env?.(ctx), cwd: tmp, timeoutMs: 60_000 })
        ran.push(`${run.label}: exit ${r.code}`)
        figures.runs++
        leaks.push(...leaksIn(`${run.label}: stdout`, r.stdout), ...leaksIn(`${run.label}: stderr`, r.stderr))
      }
      figures.commands++
    }
    // log files, --json documents written to disk, archives, dumps, schedules: everything but .env
    for (const f of filesUnder(tmp)) {
      if (/\.env$/.test(f)) continue
      const text = readFileSync(f).toString('latin1')
      leaks.push(...leaksIn(`file ${relative(tmp, f)}`, text))
    }
    if (process.env.PRESCIENT_SHOW_RUNS) console.log(ran.join("\n"))
    expect(filesUnder(join(ctx.data, 'logs')).length).toBeGreaterThan(0)
    figures.leaks = leaks.length
    expect({ leaks, ran: ran.length }).toEqual({ leaks: [], ran: ran.length })
  }, 180_000)

  test('setup wrote the password to .env only, with mode 0600', () => {
    expect(readFileSync(ctx.env, 'utf8')).toContain(`POSTGRES_PASSWORD=${PW}`)
    if (process.platform !== 'win32') expect(statSync(ctx.env).mode & 0o777).toBe(0o600)
  })

  test("setup's role: no superuser, no CREATEROLE/CREATEDB, owns its tables and nothing more", async () => {
    const role = `${ctx.db.name}_role`
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
    const inDb = postgres(ADMIN_URL.replace(/\/[^/]*$/, `/${ctx.db.name}_setup`), { max: 1, onnotice: () => {} })
    try {
      const [r] = await admin`select rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls from pg_roles where rolname = ${role}`
      expect(r).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, rolbypassrls: false })
      const [db] = await admin`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${`${ctx.db.name}_setup`}`
      expect(db?.owner).not.toBe(role)
      const owned = await inDb`
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where pg_get_userbyid(c.relowner) = ${role} and c.relkind in ('r', 'p') order by 1`
      const tables = owned.map((o) => String(o.relname))
      expect(tables).toContain('trades')
      expect(tables).toContain('prescient_migrations')
      // nothing outside public, and no membership in any other role
      const elsewhere = await inDb`
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where pg_get_userbyid(c.relowner) = ${role} and n.nspname not in ('public', 'pg_toast')`
      expect([...elsewhere]).toEqual([])
      const member = await admin`select b.rolname from pg_auth_members m join pg_roles a on a.oid = m.member join pg_roles b on b.oid = m.roleid where a.rolname = ${role}`
      expect([...member]).toEqual([])
    } finally {
      await inDb.end()
      await admin.end()
    }
  })
})

describe('SQL is parameterised', () => {
  const SRC = resolve(REPO, 'src')
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
  const files = [...sources(SRC), ...sources(resolve(REPO, 'commands'))]

  /**
   * Every `.unsafe(` call, reviewed: the argument is embedded migration text, setup's
   * ddl() parameter, or a template whose every interpolation is quoteIdent/quoteLiteral
   * (DDL cannot bind identifiers) or a fragment listed here after review.
   */
  const EMBEDDED_TEXT: Record<string, string[]> = { 'src/db/migrations.ts': ['m.sql'], 'src/backup/restore.ts': ['m.sql'], 'src/setup.ts': ['text'] }
  const REVIEWED_FRAGMENTS: Record<string, string[]> = { 'src/backup/restore.ts': ['ownerSql'] }

  test('sql.unsafe only runs embedded migration text or quoted DDL', () => {
    const bad: string[] = []
    let calls = 0
    for (const f of files) {
      const rel = relative(REPO, f)
      const text = readFileSync(f, 'utf8')
      for (const m of text.matchAll(/\.unsafe\s*\(\s*(`[^`]*`|[^,)]+)/g)) {
        calls++
        const arg = m[1]!.trim()
        if (!arg.startsWith('`')) {
          if (!(EMBEDDED_TEXT[rel] ?? []).includes(arg)) bad.push(`${rel}: unsafe(${arg})`)
          continue
        }
        for (const [, expr] of arg.matchAll(/\$\{([^}]*(?:\([^)]*\))?)\}/g)) {
          if (!/^quote(Ident|Literal)\(/.test(expr!) && !(REVIEWED_FRAGMENTS[rel] ?? []).includes(expr!)) bad.push(`${rel}: \${${expr}} in ${arg.slice(0, 50)}`)
        }
      }
    }
    expect(calls).toBeGreaterThan(0)
    expect(bad).toEqual([])
  })

  test("every value spliced into setup's DDL is quoted by quoteIdent/quoteLiteral", () => {
    const text = readFileSync(resolve(SRC, 'setup.ts'), 'utf8')
    const calls = [...text.matchAll(/ddl\(\s*\w+,\s*`([^`]*)`/g)].map((m) => m[1]!)
    expect(calls.length).toBeGreaterThan(5)
    for (const body of calls) {
      for (const [, expr] of body.matchAll(/\$\{([^}]*)\}/g)) {
        const safe = /^quote(Ident|Literal)\(/.test(expr!) || /^fixes\.join\(' '\)$/.test(expr!)
        expect({ expr, safe }).toEqual({ expr, safe: true })
      }
    }
  })

  test('the migration runner passes only embedded SQL text to unsafe', () => {
    const text = readFileSync(resolve(SRC, 'db/migrations.ts'), 'utf8')
    for (const [call] of text.matchAll(/\.unsafe\s*\(([^)]*)\)/g)) expect(call).not.toMatch(/`[^`]*\$\{/)
  })

  test('no query is built by string concatenation or template interpolation into a string', () => {
    const bad: string[] = []
    for (const f of files) {
      const text = readFileSync(f, 'utf8')
      // `select ... ${x}` in a plain template (not a sql`` tag) handed to a query
      for (const m of text.matchAll(/(?<![\w.>)])`\s*(select|insert|update|delete|alter|create|drop|grant)\b[^`]*\$\{/gi)) bad.push(`${relative(REPO, f)}: ${m[0].slice(0, 60)}`)
      for (const m of text.matchAll(/['"]\s*(select|insert|update|delete)\b[^'"]*['"]\s*\+/gi)) bad.push(`${relative(REPO, f)}: ${m[0].slice(0, 60)}`)
    }
    // setup and restore build DDL (CREATE ROLE/DATABASE) from quoted names: checked above
    expect(bad.filter((b) => !b.startsWith('src/setup.ts') && !/^src\/backup\/restore\.ts: `(create database \$\{quoteIdent\(|drop database if exists \$\{)/.test(b))).toEqual([])
  })
})
