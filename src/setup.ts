/**
 * `prescient setup`: the seed's manual PostgreSQL setup as one idempotent
 * command. Every step looks before it changes anything, so a second run
 * reports "exists" everywhere and changes nothing.
 *
 * Ownership model: the database is owned by the admin; the app role gets
 * CONNECT, TEMP on it and USAGE, CREATE on schema public, and the migrations
 * run AS THE APP ROLE, so the role owns the tables it uses and later
 * `prescient migrate` runs (which use .env's credentials) can alter them.
 * Prescient's tables found owned by someone else (a seed setup run as
 * postgres) are re-owned to the role. Default privileges make tables the
 * admin creates later in public (a restore, a manual fix) usable by the role.
 *
 * Password policy: --password wins. A new role gets a generated password
 * (32 URL-safe characters). An existing role keeps its password only when .env
 * already holds one for that user (and it is reset to that value if the server
 * rejects it); otherwise it gets a new generated one, since nobody could know it.
 * The password is written to .env only; it is never printed.
 */
import { randomBytes } from 'node:crypto'
import { buildUrl, loadConfig, parseDatabaseUrl, resolvePath, type DbConfig } from './config.ts'
import { connect, type Sql } from './db/client.ts'
import { migrate } from './db/migrations.ts'
import { readEnvFile, updateEnvFile } from './env-file.ts'
import { Exit, PrescientError, errorMessage, usageError } from './errors.ts'
import { mask, registerSecret } from './mask.ts'
import { askConfirm, askPassword, askText, isInteractive } from './prompts.ts'
import { ALL_TABLES } from './status.ts'

export const DEFAULT_ADMIN_URL = 'postgres://postgres@localhost:5432/postgres'
export const DEFAULT_DATABASE = 'prescient_os'
export const DEFAULT_USER = 'prescient_user'
const OWNED_TABLES = [...ALL_TABLES, 'prescient_migrations']

/** An identifier in double quotes, as PostgreSQL's quote_ident (dots stay inside the name, unlike postgres.js's sql()). */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw usageError('names cannot contain a NUL character')
  return `"${name.replace(/"/g, '""')}"`
}

/**
 * A string literal, as PostgreSQL's quote_literal: quotes doubled, and with
 * backslashes the E'' form so it reads the same whatever standard_conforming_strings is.
 * Needed because CREATE/ALTER ROLE ... PASSWORD takes no bind parameters.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw usageError('a password cannot contain a NUL character')
  const body = value.replace(/'/g, "''")
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`
}

/** 32 URL-safe characters from 24 random bytes (192 bits). */
export const generatePassword = () => randomBytes(24).toString('base64url')

/** DDL cannot bind identifiers or passwords; everything spliced in here went through quoteIdent/quoteLiteral. */
async function ddl(sql: Sql, text: string): Promise<void> {
  await sql.unsafe(text)
}

export interface SetupInput {
  adminUrl?: string
  database?: string
  user?: string
  password?: string
  envFile?: string
  yes?: boolean
  cwd?: string
  env?: Record<string, string | undefined>
}

export interface SetupPlan {
  adminUrl: string
  database: string
  user: string
  password?: string
  envFile: string
  fileEnv: Record<string, string>
  cwd: string
}

export type StepResult = 'ok' | 'created' | 'exists' | 'updated' | 'granted' | 'applied' | 'written' | 'unchanged' | 'warning'
export interface Step {
  step: string
  result: StepResult
  detail: string
}

export interface SetupResult {
  database: string
  user: string
  host: string
  port: number
  envFile: string
  password: 'flag' | 'generated' | 'kept from .env'
  steps: Step[]
}

function checkName(value: string, flag: string, what: string): string {
  if (!value) throw usageError(`${what} cannot be empty`, `pass ${flag}`)
  if (Buffer.byteLength(value) > 63) throw usageError(`${what} ${JSON.stringify(value)} is longer than PostgreSQL's 63 bytes`, `pass a shorter ${flag}`)
  if (value.includes('\0')) throw usageError(`${what} cannot contain a NUL character`)
  return value
}

/** The .env reader cannot yet round-trip these characters; refuse rather than write a password that reads back different. */
function checkPassword(pw: string, flag: string): string {
  if (/[\\\r\n\0]/.test(pw)) throw usageError(`the password given with ${flag} contains a backslash or a line break, which .env cannot hold`, 'choose another password, or leave it out to get a generated one')
  return pw
}

export function adminConfig(url: string): DbConfig {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw usageError(`--admin-url is not a valid URL: ${mask(url)}`, `expected ${DEFAULT_ADMIN_URL}`)
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw usageError(`--admin-url must start with postgres://, got ${u.protocol}//`)
  return parseDatabaseUrl(url, 'flag')
}

/** Resolve flags, .env and defaults into a plan, asking on a terminal for what was not given. */
export async function planSetup(input: SetupInput): Promise<SetupPlan> {
  const env = input.env ?? process.env
  const cwd = input.cwd ?? process.cwd()
  const envFile = resolvePath(cwd, input.envFile ?? env.PRESCIENT_ENV_FILE ?? '.env')
  const fileEnv = readEnvFile(envFile)
  registerSecret(fileEnv.POSTGRES_PASSWORD)
  registerSecret(input.password)
  const ask = isInteractive() && !input.yes
  const adminUrl =
    input.adminUrl ??
    env.PRESCIENT_ADMIN_URL ??
    (ask ? await askText({ message: 'Admin connection (a superuser; leave the password out, it is asked when needed)', defaultValue: DEFAULT_ADMIN_URL, flag: '--admin-url URL' }) : DEFAULT_ADMIN_URL)
  adminConfig(adminUrl)
  const database = checkName(
    input.database ?? (ask ? await askText({ message: 'Database name', defaultValue: fileEnv.POSTGRES_DB || DEFAULT_DATABASE, flag: '--database NAME' }) : fileEnv.POSTGRES_DB || DEFAULT_DATABASE),
    '--database',
    'the database name',
  )
  const user = checkName(
    input.user ?? (ask ? await askText({ message: 'Application role (user) name', defaultValue: fileEnv.POSTGRES_USER || DEFAULT_USER, flag: '--user NAME' }) : fileEnv.POSTGRES_USER || DEFAULT_USER),
    '--user',
    'the role name',
  )
  let password = input.password
  if (password === undefined && ask) {
    password = (await askPassword({ message: `Password for role ${user} (empty: keep the one in .env, or generate one)`, flag: '--password PW', optional: true })) || undefined
  }
  if (password !== undefined) checkPassword(password, '--password')
  const plan: SetupPlan = { adminUrl, database, user, password, envFile, fileEnv, cwd }
  if (!input.yes) {
    const ok = await askConfirm({
      message: `Create or update role ${user} and database ${database} on ${adminConfig(adminUrl).host}:${adminConfig(adminUrl).port}, apply the schema and write ${envFile}?`,
      flag: '--yes',
      what: 'setup creates a role and a database and writes .env, and needs a confirmation',
    })
    if (!ok) throw new PrescientError('cancelled', Exit.usage)
  }
  return plan
}

const isAuthError = (err: unknown) => ['28P01', '28000'].includes((err as { code?: string })?.code ?? '') || /password/i.test(errorMessage(err))

function withPassword(url: string, pw: string): string {
  const u = new URL(url)
  u.password = encodeURIComponent(pw)
  return u.toString()
}

/** Connect as admin; on a terminal a rejected or missing password is asked for once. Exit 5 when it cannot. */
export async function connectAdmin(adminUrl: string, opts: { prompt?: boolean } = {}): Promise<{ sql: Sql; db: DbConfig }> {
  let url = adminUrl
  let asked = false
  for (;;) {
    const db = adminConfig(url)
    const sql = connect(db, { max: 1, database: db.database })
    try {
      await sql`select 1`
      return { sql, db }
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => {})
      if (opts.prompt !== false && isAuthError(err) && isInteractive() && !asked) {
        asked = true
        url = withPassword(url, await askPassword({ message: `Password for PostgreSQL user ${db.user} at ${db.host}:${db.port}`, flag: '--admin-url postgres://USER:PASSWORD@HOST:PORT/postgres' }))
        continue
      }
      throw new PrescientError(
        `cannot connect as admin ${db.user} to ${db.host}:${db.port}: ${mask(errorMessage(err))}`,
        Exit.dbUnreachable,
        isAuthError(err)
          ? 'put the admin password in --admin-url postgres://postgres:PASSWORD@HOST:5432/postgres (or PRESCIENT_ADMIN_URL), or run on a terminal to be asked'
          : 'check that PostgreSQL is running (Windows: services.msc, "postgresql-x64-16"; Linux: systemctl status postgresql) and the host and port in --admin-url',
        { cause: err },
      )
    }
  }
}

async function aclOf(sql: Sql, kind: 'database' | 'schema', name: string, user: string): Promise<string[]> {
  const rows =
    kind === 'database'
      ? await sql<{ p: string }[]>`
          select distinct a.privilege_type as p from pg_database d cross join lateral aclexplode(d.datacl) a
          where d.datname = ${name} and a.grantee = (select oid from pg_roles where rolname = ${user})`
      : await sql<{ p: string }[]>`
          select distinct a.privilege_type as p from pg_namespace n cross join lateral aclexplode(n.nspacl) a
          where n.nspname = ${name} and a.grantee = (select oid from pg_roles where rolname = ${user})`
  return rows.map((r) => r.p)
}

async function canLogin(db: DbConfig): Promise<'ok' | 'bad-password' | 'other'> {
  const sql = connect(db, { max: 1, database: db.database })
  try {
    await sql`select 1`
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code === '28P01' ? 'bad-password' : 'other'
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
  }
}

/** Run every step in order; `report` sees each one as it finishes. */
export async function runSetup(plan: SetupPlan, report: (s: Step) => void = () => {}): Promise<SetupResult> {
  const steps: Step[] = []
  const done = (step: string, result: StepResult, detail: string) => {
    const s = { step, result, detail: mask(detail) }
    steps.push(s)
    report(s)
  }
  const { database, user } = plan
  const pools: Sql[] = []
  try {
    // 1. admin
    const { sql: admin, db: adminDb } = await connectAdmin(plan.adminUrl)
    pools.push(admin)
    const [me] = await admin<{ user: string; super: boolean; createrole: boolean; createdb: boolean; version: string }[]>`
      select current_user as user, r.rolsuper as super, r.rolcreaterole as createrole, r.rolcreatedb as createdb,
             current_setting('server_version') as version
      from pg_roles r where r.rolname = current_user`
    if (!me) throw new PrescientError('cannot read the admin role', Exit.runtime)
    done('admin connection', 'ok', `${me.user}@${adminDb.host}:${adminDb.port}, PostgreSQL ${me.version}${me.super ? ', superuser' : ''}`)
    if (me.user === user) throw usageError(`the application role must not be the admin (${user})`, 'pass another --user')
    if (!me.super && !(me.createrole && me.createdb)) {
      throw usageError(`admin ${me.user} is not a superuser and lacks CREATEROLE/CREATEDB`, 'pass --admin-url for a superuser such as postgres')
    }
    const appDb = (password: string) =>
      parseDatabaseUrl(buildUrl({ host: adminDb.host, port: adminDb.port, database, user, password, sslmode: adminDb.ssl ? 'require' : undefined }), 'POSTGRES_*')

    // 2. role and password
    const envPw = plan.fileEnv.POSTGRES_USER === user && plan.fileEnv.POSTGRES_PASSWORD ? plan.fileEnv.POSTGRES_PASSWORD : undefined
    let password: string
    let source: SetupResult['password']
    const [role] = await admin<{ super: boolean; createdb: boolean; createrole: boolean; login: boolean }[]>`
      select rolsuper as super, rolcreatedb as createdb, rolcreaterole as createrole, rolcanlogin as login from pg_roles where rolname = ${user}`
    if (!role) {
      password = plan.password ?? generatePassword()
      source = plan.password !== undefined ? 'flag' : 'generated'
      registerSecret(password)
      await ddl(admin, `create role ${quoteIdent(user)} with login nosuperuser nocreatedb nocreaterole password ${quoteLiteral(password)}`)
      done('role', 'created', `${user}: LOGIN, no superuser/createdb/createrole; password ${source === 'flag' ? 'from --password' : 'generated'}`)
    } else {
      if (role.super) throw usageError(`role ${user} exists and is a superuser; the application must not run as one`, 'pass another --user (setup never demotes an existing superuser)')
      const fixes = [!role.login && 'login', role.createdb && 'nocreatedb', role.createrole && 'nocreaterole'].filter(Boolean)
      if (fixes.length) await ddl(admin, `alter role ${quoteIdent(user)} with ${fixes.join(' ')}`)
      let pwNote: string
      if (plan.password !== undefined && plan.password !== envPw) {
        password = plan.password
        source = 'flag'
        await ddl(admin, `alter role ${quoteIdent(user)} with password ${quoteLiteral(password)}`)
        pwNote = 'password set from --password'
      } else if (envPw !== undefined) {
        password = envPw
        source = plan.password !== undefined ? 'flag' : 'kept from .env'
        if ((await canLogin({ ...adminDb, ...appDb(password), database: adminDb.database })) === 'bad-password') {
          await ddl(admin, `alter role ${quoteIdent(user)} with password ${quoteLiteral(password)}`)
          pwNote = 'password reset to the one in .env (the server rejected it)'
        } else pwNote = 'password kept (the one in .env)'
      } else {
        password = generatePassword()
        source = 'generated'
        registerSecret(password)
        await ddl(admin, `alter role ${quoteIdent(user)} with password ${quoteLiteral(password)}`)
        pwNote = 'new generated password (.env had none for this role)'
      }
      const changed = fixes.length > 0 || !pwNote.startsWith('password kept')
      done('role', changed ? 'updated' : 'exists', `${user}: ${fixes.length ? `set ${fixes.join(' ').toUpperCase()}; ` : ''}${pwNote}`)
    }

    // 3. database, owned by the admin
    const [dbRow] = await admin<{ owner: string; enc: string }[]>`
      select pg_get_userbyid(datdba) as owner, pg_encoding_to_char(encoding) as enc from pg_database where datname = ${database}`
    if (!dbRow) {
      const [t1] = await admin<{ enc: string }[]>`select pg_encoding_to_char(encoding) as enc from pg_database where datname = 'template1'`
      // Market questions are Unicode: a WIN1252/LATIN1 template would reject them.
      if (t1?.enc === 'UTF8') await ddl(admin, `create database ${quoteIdent(database)}`)
      else {
        try {
          await ddl(admin, `create database ${quoteIdent(database)} template template0 encoding 'UTF8'`)
        } catch {
          await ddl(admin, `create database ${quoteIdent(database)} template template0 encoding 'UTF8' locale 'C'`)
        }
      }
      done('database', 'created', `${database}, owner ${me.user}, UTF8`)
    } else {
      done('database', dbRow.enc === 'UTF8' ? 'exists' : 'warning', `${database}, owner ${dbRow.owner}, ${dbRow.enc}${dbRow.enc === 'UTF8' ? '' : ' (not UTF8: non-Latin text will fail)'}`)
    }
    const haveDb = await aclOf(admin, 'database', database, user)
    const needDb = ['CONNECT', 'TEMPORARY'].filter((p) => !haveDb.includes(p))
    if (needDb.length) {
      await ddl(admin, `grant connect, temporary on database ${quoteIdent(database)} to ${quoteIdent(user)}`)
      done('database grants', 'granted', `CONNECT, TEMP on ${database} to ${user}`)
    } else done('database grants', 'exists', `CONNECT, TEMP on ${database} to ${user}`)

    // 4. inside the database, still as admin
    const inDb = connect(adminDb, { max: 1, database })
    pools.push(inDb)
    const haveSchema = await aclOf(inDb, 'schema', 'public', user)
    const needSchema = ['USAGE', 'CREATE'].filter((p) => !haveSchema.includes(p))
    if (needSchema.length) {
      await ddl(inDb, `grant usage, create on schema public to ${quoteIdent(user)}`)
      done('schema grants', 'granted', `USAGE, CREATE on schema public to ${user}`)
    } else done('schema grants', 'exists', `USAGE, CREATE on schema public to ${user}`)

    const defaults = await inDb<{ t: string }[]>`
      select distinct d.defaclobjtype::text as t from pg_default_acl d cross join lateral aclexplode(d.defaclacl) a
      where d.defaclrole = (select oid from pg_roles where rolname = current_user)
        and d.defaclnamespace = 'public'::regnamespace
        and a.grantee = (select oid from pg_roles where rolname = ${user})`
    const haveDefaults = new Set(defaults.map((d) => d.t))
    if (!haveDefaults.has('r') || !haveDefaults.has('S')) {
      await ddl(inDb, `alter default privileges in schema public grant all on tables to ${quoteIdent(user)}`)
      await ddl(inDb, `alter default privileges in schema public grant all on sequences to ${quoteIdent(user)}`)
      done('default privileges', 'granted', `future tables, sequences of ${me.user} in public -> ${user}`)
    } else done('default privileges', 'exists', `future tables, sequences of ${me.user} in public -> ${user}`)

    const foreign = await inDb<{ t: string; owner: string }[]>`
      select c.relname as t, pg_get_userbyid(c.relowner) as owner from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        and c.relname in ${inDb([...OWNED_TABLES])} and pg_get_userbyid(c.relowner) <> ${user}
      order by 1`
    if (foreign.length) {
      // the role runs later migrations (ALTER TABLE needs ownership); owned sequences follow their table
      for (const f of foreign) await ddl(inDb, `alter table public.${quoteIdent(f.t)} owner to ${quoteIdent(user)}`)
      done('table ownership', 'updated', `re-owned to ${user}: ${foreign.map((f) => `${f.t} (was ${f.owner})`).join(', ')}`)
    }

    // 5. .env before anything else can fail, so a new password is never lost
    const values: Record<string, string> = {
      POSTGRES_HOST: adminDb.host,
      POSTGRES_PORT: String(adminDb.port),
      POSTGRES_DB: database,
      POSTGRES_USER: user,
      POSTGRES_PASSWORD: password,
    }
    if (adminDb.ssl) values.POSTGRES_SSLMODE = 'require'
    const env = updateEnvFile(plan.envFile, values)
    const touched = [...env.added, ...env.changed]
    done('.env', touched.length ? 'written' : 'unchanged', `${plan.envFile}${touched.length ? `: set ${touched.join(', ').replace(/POSTGRES_/g, '')}` : ''} (0600, other lines kept)`)

    // 6. migrations as the app role
    const app = appDb(password)
    const appSql = connect(app, { max: 1, database })
    pools.push(appSql)
    let applied: string[]
    try {
      applied = await migrate(appSql)
    } catch (err) {
      if (isAuthError(err)) {
        throw new PrescientError(
          `role ${user} cannot log in to ${database} at ${app.host}:${app.port}: ${mask(errorMessage(err))}`,
          Exit.dbUnreachable,
          'pg_hba.conf must allow it (e.g. "host all all 127.0.0.1/32 scram-sha-256"); then run setup again',
          { cause: err },
        )
      }
      throw err
    }
    done('migrations', applied.length ? 'applied' : 'exists', applied.length ? `as ${user}: ${applied.join(', ')}` : 'schema up to date')

    // 7. connection test as the app role
    const [test] = await appSql<{ u: string; n: number }[]>`
      select current_user as u, (select count(*)::int from information_schema.tables
        where table_schema = 'public' and table_name in ${appSql([...ALL_TABLES])}) as n`
    if (!test || test.u !== user || test.n !== ALL_TABLES.length) {
      throw new PrescientError(`connection test failed: connected as ${test?.u}, ${test?.n}/${ALL_TABLES.length} tables visible`, Exit.runtime)
    }
    done('connection test', 'ok', `connected as ${test.u}, ${test.n}/${ALL_TABLES.length} tables`)

    // what the app itself will resolve: DATABASE_URL would win over the keys just written
    try {
      const cfg = loadConfig({ envFile: plan.envFile, cwd: plan.cwd })
      if (cfg.db && (cfg.db.user !== user || cfg.db.database !== database || cfg.db.host !== app.host || cfg.db.port !== app.port)) {
        done('app configuration', 'warning', `${cfg.db.source} takes precedence and points at ${cfg.db.display}, not at what setup wrote`)
      }
    } catch (err) {
      done('app configuration', 'warning', errorMessage(err))
    }
    return { database, user, host: app.host, port: app.port, envFile: plan.envFile, password: source, steps }
  } finally {
    for (const p of pools.reverse()) await p.end({ timeout: 2 }).catch(() => {})
  }
}
