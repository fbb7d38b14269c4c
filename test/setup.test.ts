import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADMIN_URL, dbAvailable } from './_db.ts'
import { readEnvFile } from '../src/env-file.ts'
import { quoteIdent, quoteLiteral } from '../src/setup.ts'
import { migrate } from '../src/db/migrations.ts'
import type { Sql } from '../src/db/client.ts'
import { runMain as run, type MainRun as Run } from './_run.ts'

const admin = () => postgres(ADMIN_URL, { max: 1, onnotice: () => {} })

/** Does a stored SCRAM-SHA-256 verifier match this password? (RFC 5802 / 7677) */
function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier)
  if (!m) return false
  const salted = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  return createHash('sha256').update(clientKey).digest('base64') === m[3]
}

function passwordMatches(verifier: string | null, password: string, user: string): boolean {
  if (!verifier) return false
  if (verifier.startsWith('md5')) return verifier === 'md5' + createHash('md5').update(password + user).digest('hex')
  return scramMatches(verifier, password)
}

describe('quoting', () => {
  test('quoteIdent keeps dots, spaces and quotes inside one identifier', () => {
    expect(quoteIdent('a "b".c')).toBe('"a ""b"".c"')
  })
  test.skipIf(!dbAvailable)('quoteLiteral reads back as the same string, as quote_literal would write it', async () => {
    const sql = admin()
    try {
      for (const s of ["it's", "''", 'back\\slash', "mix\\'d\"$1 %s", 'plain', '', 'ünï€ødé']) {
        const lit = quoteLiteral(s)
        const [r] = await sql.unsafe(`select ${lit} as v, quote_literal($1::text) as q`, [s])
        expect(r!.v).toBe(s)
        expect(lit).toBe(r!.q)
      }
    } finally {
      await sql.end()
    }
  })
})

describe.skipIf(!dbAvailable)('prescient setup', () => {
  const tag = randomBytes(3).toString('hex')
  // names that need quoting: a space, a double quote, a single quote and a dot
  const database = `prescient t "db" ${tag}.x`
  const user = `prescient u'${tag} x`
  const user2 = `prescient_pw_${tag}`
  const database2 = `prescient_pw_${tag}`
  const database3 = `prescient_seed_${tag}`
  let dir: string
  let envFile: string
  const base = () => ['setup', '--yes', '--admin-url', ADMIN_URL, '--database', database, '--user', user, '--env-file', envFile]
  const secrets: string[] = []
  const outputs: Run[] = []
  const record = (r: Run) => (outputs.push(r), r)

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'prescient-setup-'))
    envFile = join(dir, '.env')
    writeFileSync(envFile, '# keep this comment\nOTHER_APP_KEY=abc 123\nUSE_DATABASE_WRITE=false  # seed flag\n')
  })

  afterAll(async () => {
    const sql = admin()
    try {
      for (const d of [database, database2, database3]) await sql.unsafe(`drop database if exists ${quoteIdent(d)} with (force)`).catch(() => {})
      for (const u of [user, user2]) await sql.unsafe(`drop role if exists ${quoteIdent(u)}`).catch(() => {})
    } finally {
      await sql.end()
    }
    rmSync(dir, { recursive: true, force: true })
  })

  test('first run creates everything; second run changes nothing', async () => {
    const first = record(await run(base()))
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('created')
    const env = readEnvFile(envFile)
    expect(env.POSTGRES_DB).toBe(database)
    expect(env.POSTGRES_USER).toBe(user)
    expect(env.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/)
    secrets.push(env.POSTGRES_PASSWORD!)
    const before = readFileSync(envFile, 'utf8')

    const second = record(await run([...base(), '--json']))
    expect(second.code).toBe(0)
    const doc = JSON.parse(second.stdout)
    expect(doc.ok).toBe(true)
    expect(doc.password).toBe('kept from .env')
    for (const s of doc.steps) expect(['exists', 'unchanged', 'ok']).toContain(s.result)
    expect(readFileSync(envFile, 'utf8')).toBe(before)
  })

  test('.env is 0600 and keeps unrelated lines', () => {
    const text = readFileSync(envFile, 'utf8')
    expect(text).toContain('# keep this comment\n')
    expect(text).toContain('OTHER_APP_KEY=abc 123\n')
    expect(text).toContain('USE_DATABASE_WRITE=false  # seed flag\n')
    expect(text).not.toContain('DATABASE_URL')
    if (process.platform !== 'win32') expect(statSync(envFile).mode & 0o777).toBe(0o600)
  })

  test('the role is not a superuser, cannot create roles or databases, and owns the tables', async () => {
    const sql = admin()
    try {
      const [r] = await sql`select rolsuper, rolcreaterole, rolcreatedb, rolcanlogin from pg_roles where rolname = ${user}`
      expect(r).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true })
      const [d] = await sql`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${database}`
      const [me] = await sql`select current_user as u`
      expect(d!.owner).toBe(me!.u)
    } finally {
      await sql.end()
    }
    const env = readEnvFile(envFile)
    const app = postgres({ host: '127.0.0.1', port: Number(env.POSTGRES_PORT), database, username: user, password: env.POSTGRES_PASSWORD, max: 1, onnotice: () => {} })
    try {
      const [who] = await app`select current_user as u`
      expect(who!.u).toBe(user)
      const owners = await app`select distinct pg_get_userbyid(relowner) as o from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`
      expect(owners.map((o) => o.o)).toEqual([user])
      await expect(app.unsafe(`create role ${quoteIdent(`x_${tag}`)}`)).rejects.toThrow(/permission denied/)
      await expect(app.unsafe(`create database ${quoteIdent(`x_${tag}`)}`)).rejects.toThrow(/permission denied/)
    } finally {
      await app.end()
    }
  })

  test('--check is all ✓ after setup', async () => {
    const r = record(await run(['setup', '--check', '--admin-url', ADMIN_URL, '--env-file', envFile]))
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('✓')
    expect(r.stdout).not.toContain('✗')
    const j = record(await run(['setup', '--check', '--json', '--admin-url', ADMIN_URL, '--env-file', envFile]))
    expect(j.code).toBe(0)
    const doc = JSON.parse(j.stdout)
    expect(doc.ok).toBe(true)
    expect(doc.database).toBe(database)
    for (const c of doc.checks.filter((c: { required: boolean }) => c.required)) expect(c.status).toBe('ok')
    expect(doc.checks.map((c: { check: string }) => c.check)).toEqual(
      expect.arrayContaining(['server reachable', 'database exists', 'role exists, not superuser', 'role connects with .env credentials', 'schema migrations applied', 'all 11 tables present', 'role can INSERT/SELECT', '.env present, mode 0600', 'free disk']),
    )
    // the rolled-back probe row is gone
    const sql = postgres(ADMIN_URL, { max: 1, database, onnotice: () => {} })
    try {
      const [n] = await sql`select count(*)::int as n from system_metadata where key like 'prescient_check_%'`
      expect(n!.n).toBe(0)
    } finally {
      await sql.end()
    }
  })

  test('--check fails (exit 1) for a database that does not exist', async () => {
    const r = record(await run(['setup', '--check', '--admin-url', ADMIN_URL, '--env-file', envFile, '--database', `prescient_missing_${tag}`]))
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/✗ .*database exists/)
  })

  test('--check fails when .env is readable by others', async () => {
    if (process.platform === 'win32') return
    const { chmodSync } = await import('node:fs')
    chmodSync(envFile, 0o644)
    try {
      const r = await run(['setup', '--check', '--json', '--admin-url', ADMIN_URL, '--env-file', envFile])
      expect(r.code).toBe(1)
      const line = JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === '.env present, mode 0600')
      expect(line.status).toBe('fail')
    } finally {
      chmodSync(envFile, 0o600)
    }
  })

  test('an existing role with no password in .env gets a new generated one', async () => {
    const other = join(dir, 'other.env')
    const r = record(await run(['setup', '--yes', '--json', '--admin-url', ADMIN_URL, '--database', database, '--user', user, '--env-file', other]))
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.password).toBe('generated')
    expect(doc.steps.find((s: { step: string }) => s.step === 'role').result).toBe('updated')
    const pw = readEnvFile(other).POSTGRES_PASSWORD!
    secrets.push(pw)
    expect(pw).not.toBe(readEnvFile(envFile).POSTGRES_PASSWORD)
    // put the first .env's password back so it stays the valid one
    const back = record(await run([...base(), '--password', readEnvFile(envFile).POSTGRES_PASSWORD!]))
    expect(back.code).toBe(0)
  })

  test('a password with quotes is stored exactly (CREATE ROLE takes no bind parameters)', async () => {
    const pw = `it's a "pass" $1 %s ${tag}`
    secrets.push(pw)
    const env2 = join(dir, 'pw.env')
    const r = record(await run(['setup', '--yes', '--admin-url', ADMIN_URL, '--database', database2, '--user', user2, '--password', pw, '--env-file', env2]))
    expect(r.code).toBe(0)
    expect(readEnvFile(env2).POSTGRES_PASSWORD).toBe(pw)
    const sql = admin()
    try {
      const [row] = await sql`select rolpassword from pg_authid where rolname = ${user2}`
      expect(passwordMatches(row!.rolpassword, pw, user2)).toBe(true)
      expect(passwordMatches(row!.rolpassword, pw + 'x', user2)).toBe(false)
    } finally {
      await sql.end()
    }
  })

  test('tables a seed setup created as the admin are re-owned to the role, once', async () => {
    const sql = admin()
    try {
      await sql.unsafe(`create database ${quoteIdent(database3)}`)
    } finally {
      await sql.end()
    }
    const inDb = postgres(ADMIN_URL, { max: 1, database: database3, onnotice: () => {} })
    try {
      await migrate(inDb as unknown as Sql)
    } finally {
      await inDb.end()
    }
    const env3 = join(dir, 'seed.env')
    const args = ['setup', '--yes', '--json', '--admin-url', ADMIN_URL, '--database', database3, '--user', user, '--env-file', env3]
    const first = record(await run(args))
    expect(first.code).toBe(0)
    const step = JSON.parse(first.stdout).steps.find((s: { step: string }) => s.step === 'table ownership')
    expect(step.result).toBe('updated')
    expect(step.detail).toContain('trades')
    secrets.push(readEnvFile(env3).POSTGRES_PASSWORD!)
    const second = record(await run(args))
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).steps.find((s: { step: string }) => s.step === 'table ownership')).toBeUndefined()
    const check = postgres(ADMIN_URL, { max: 1, database: database3, onnotice: () => {} })
    try {
      const owners = await check`select distinct pg_get_userbyid(relowner) as o from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'S')`
      expect(owners.map((o) => o.o)).toEqual([user])
    } finally {
      await check.end()
    }
    // restore the main .env's password on the shared role
    expect((await run([...base(), '--password', readEnvFile(envFile).POSTGRES_PASSWORD!])).code).toBe(0)
  })

  test('without a terminal and without --yes it is a usage error naming --yes', async () => {
    const r = await run(['setup', '--admin-url', ADMIN_URL, '--database', database, '--user', user, '--env-file', envFile])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--yes')
  })

  test('an unreachable admin server exits 5', async () => {
    const r = await run(['setup', '--yes', '--admin-url', 'postgres://postgres:Sekr3t-admin@127.0.0.1:1/postgres', '--env-file', join(dir, 'x.env')])
    expect(r.code).toBe(5)
    expect(r.stderr).not.toContain('Sekr3t-admin')
  })

  test('a superuser as the application role is refused', async () => {
    const [me] = await (async () => {
      const sql = admin()
      try {
        return await sql`select current_user as u`
      } finally {
        await sql.end()
      }
    })()
    const r = await run(['setup', '--yes', '--admin-url', ADMIN_URL, '--database', database, '--user', me!.u, '--env-file', join(dir, 'y.env')])
    expect(r.code).toBe(2)
  })

  test('no password ever reaches stdout or stderr', () => {
    expect(outputs.length).toBeGreaterThan(5)
    expect(secrets.length).toBeGreaterThanOrEqual(3)
    for (const o of outputs) {
      for (const s of secrets) {
        expect(o.stdout).not.toContain(s)
        expect(o.stderr).not.toContain(s)
        expect(o.stdout).not.toContain(encodeURIComponent(s))
      }
    }
  })
})
