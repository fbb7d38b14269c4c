/**
 * `prescient setup --check`: the seed's "Verification Checklist", adapted.
 * Read-only: the one write (an INSERT into system_metadata) is rolled back.
 * A line that is not required (psql on PATH, the admin connection) only warns.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import type { DbConfig } from './config.ts'
import { loadConfig, resolvePath } from './config.ts'
import { connect, type Sql } from './db/client.ts'
import { migrationStatus } from './db/migrations.ts'
import { errorMessage } from './errors.ts'
import { mask } from './mask.ts'
import { fmtBytes } from './output.ts'
import { readEnvFile } from './env-file.ts'
import { DEFAULT_ADMIN_URL, DEFAULT_DATABASE, DEFAULT_USER, connectAdmin, type SetupInput } from './setup.ts'
import { ALL_TABLES, diskUsage } from './status.ts'

export interface CheckLine {
  check: string
  status: 'ok' | 'fail' | 'warn' | 'skip'
  required: boolean
  detail: string
}

export interface CheckReport {
  ok: boolean
  database: string
  user: string
  envFile: string
  checks: CheckLine[]
}

/** Below this much free space a cycle's atomic JSON writes and the DB's WAL are at risk. */
const MIN_FREE_BYTES = 512 * 1024 * 1024

export interface CheckInput {
  adminUrl: string
  database: string
  user: string
  envFile: string
  cwd: string
}

class Rollback extends Error {}

/** What to check: flags, else the .env's POSTGRES_DB/POSTGRES_USER, else the defaults (as setup resolves them). */
export function checkInput(input: SetupInput): CheckInput {
  const env = input.env ?? process.env
  const cwd = input.cwd ?? process.cwd()
  const envFile = resolvePath(cwd, input.envFile ?? env.PRESCIENT_ENV_FILE ?? '.env')
  const fileEnv = readEnvFile(envFile)
  return {
    adminUrl: input.adminUrl ?? env.PRESCIENT_ADMIN_URL ?? DEFAULT_ADMIN_URL,
    database: input.database ?? (fileEnv.POSTGRES_DB || DEFAULT_DATABASE),
    user: input.user ?? (fileEnv.POSTGRES_USER || DEFAULT_USER),
    envFile,
    cwd,
  }
}

export async function runChecks(input: CheckInput): Promise<CheckReport> {
  const checks: CheckLine[] = []
  const add = (check: string, status: CheckLine['status'], detail: string, required = true) => checks.push({ check, status, required, detail: mask(detail) })
  const pools: Sql[] = []
  const { database, user } = input
  try {
    // 1. psql (informational: prescient itself does not need it)
    const psql = spawnSync('psql', ['--version'], { encoding: 'utf8', timeout: 5000 })
    if (psql.status === 0) add('psql on PATH', 'ok', psql.stdout.trim(), false)
    else add('psql on PATH', 'warn', 'not found (optional; Windows: add C:\\Program Files\\PostgreSQL\\16\\bin to PATH)', false)

    // 2. the server, as admin; the app's own credentials are the fallback
    let admin: Sql | undefined
    try {
      const a = await connectAdmin(input.adminUrl, { prompt: false })
      admin = a.sql
      pools.push(admin)
      const [me] = await admin<{ u: string; s: boolean }[]>`select current_user as u, rolsuper as s from pg_roles where rolname = current_user`
      add('admin connection', 'ok', `${me?.u}${me?.s ? ' (superuser)' : ''} at ${a.db.host}:${a.db.port}`, false)
    } catch (err) {
      add('admin connection', 'warn', `${errorMessage(err)} (only setup itself needs it)`, false)
    }

    let appDb: DbConfig | undefined
    let appErr: string | undefined
    try {
      appDb = loadConfig({ envFile: input.envFile, cwd: input.cwd }).db
      if (!appDb) appErr = `no database configured (${input.envFile} has no POSTGRES_* keys and DATABASE_URL is unset)`
    } catch (err) {
      appErr = errorMessage(err)
    }
    let app: Sql | undefined
    let appLogin: { u: string; d: string } | undefined
    if (appDb) {
      const s = connect(appDb, { max: 1, database: appDb.database })
      pools.push(s)
      try {
        const [r] = await s<{ u: string; d: string }[]>`select current_user as u, current_database() as d`
        app = s
        appLogin = r
      } catch (err) {
        appErr = errorMessage(err)
      }
    }

    const probe = admin ?? app
    if (!probe) {
      add('server reachable', 'fail', `neither admin nor ${user} can connect: ${appErr ?? 'no connection'}`)
      add('database exists', 'skip', 'needs a connection')
      add('role exists, not superuser', 'skip', 'needs a connection')
    } else {
      const [v] = await probe<{ v: string }[]>`select version() as v`
      add('server reachable', 'ok', v?.v.split(' on ')[0] ?? '?')

      // 3. database and role, from the catalogs any role can read
      const [d] = await probe<{ owner: string; enc: string }[]>`
        select pg_get_userbyid(datdba) as owner, pg_encoding_to_char(encoding) as enc from pg_database where datname = ${database}`
      add('database exists', d ? 'ok' : 'fail', d ? `${database}, owner ${d.owner}, ${d.enc}` : `${database} does not exist: run \`prescient setup\``)
      const [r] = await probe<{ s: boolean; l: boolean; cdb: boolean; cr: boolean }[]>`
        select rolsuper as s, rolcanlogin as l, rolcreatedb as cdb, rolcreaterole as cr from pg_roles where rolname = ${user}`
      if (!r) add('role exists, not superuser', 'fail', `${user} does not exist: run \`prescient setup\``)
      else {
        const attrs = [r.l ? 'LOGIN' : 'NOLOGIN', r.s ? 'SUPERUSER' : 'NOSUPERUSER', r.cdb ? 'CREATEDB' : 'NOCREATEDB', r.cr ? 'CREATEROLE' : 'NOCREATEROLE'].join(' ')
        add('role exists, not superuser', r.s || !r.l ? 'fail' : 'ok', `${user}: ${attrs}`)
      }
    }

    // 4. the app's own connection (what a cycle would use)
    const expected = `${user}@${database}`
    if (!appDb || !app || !appLogin) add('role connects with .env credentials', 'fail', appErr ?? 'cannot connect')
    else if (`${appLogin.u}@${appLogin.d}` !== expected) {
      add('role connects with .env credentials', 'fail', `the configuration (${appDb.source}) connects as ${appLogin.u}@${appLogin.d}, expected ${expected}`)
    } else add('role connects with .env credentials', 'ok', `${appLogin.u}@${appLogin.d} via ${appDb.source}`)

    const sameTarget = !!app && `${appLogin?.u}@${appLogin?.d}` === expected
    if (!app || !sameTarget) {
      for (const c of ['schema migrations applied', `all ${ALL_TABLES.length} tables present`, 'role can INSERT/SELECT']) add(c, 'skip', 'needs the connection above')
    } else {
      const m = await migrationStatus(app)
      const pending = m.filter((x) => x.state !== 'applied')
      add('schema migrations applied', pending.length ? 'fail' : 'ok', pending.length ? `${pending.map((p) => `${p.name} ${p.state}`).join(', ')}: run \`prescient migrate\`` : `${m.length}/${m.length} applied`)
      const present = await app<{ t: string }[]>`
        select table_name::text as t from information_schema.tables where table_schema = 'public' and table_name in ${app([...ALL_TABLES])}`
      const missing = ALL_TABLES.filter((t) => !present.some((p) => p.t === t))
      add(`all ${ALL_TABLES.length} tables present`, missing.length ? 'fail' : 'ok', missing.length ? `missing: ${missing.join(', ')}` : `${present.length}/${ALL_TABLES.length}`)
      if (missing.length) add('role can INSERT/SELECT', 'skip', 'tables missing')
      else {
        try {
          const key = `prescient_check_${process.pid}_${Date.now()}`
          await app.begin(async (tx) => {
            await tx`insert into system_metadata (key, value) values (${key}, 'check')`
            const back = await tx<{ value: string }[]>`select value from system_metadata where key = ${key}`
            if (back[0]?.value !== 'check') throw new Error('inserted row not read back')
            throw new Rollback()
          })
        } catch (err) {
          if (!(err instanceof Rollback)) {
            add('role can INSERT/SELECT', 'fail', errorMessage(err))
          }
        }
        if (!checks.some((c) => c.check === 'role can INSERT/SELECT')) {
          const lacking = await app<{ t: string }[]>`
            select t from unnest(${[...ALL_TABLES]}::text[]) as t
            where not has_table_privilege(current_user, 'public.' || quote_ident(t), 'SELECT, INSERT, UPDATE, DELETE')`
          add(
            'role can INSERT/SELECT',
            lacking.length ? 'fail' : 'ok',
            lacking.length ? `missing SELECT/INSERT/UPDATE/DELETE on ${lacking.map((l) => l.t).join(', ')}` : 'insert + select in system_metadata (rolled back); DML on all tables',
          )
        }
      }
    }
  } finally {
    for (const p of pools) await p.end({ timeout: 2 }).catch(() => {})
  }

  // 5. files and disk
  if (!existsSync(input.envFile)) add('.env present, mode 0600', 'fail', `${input.envFile} not found: run \`prescient setup\``)
  else if (process.platform === 'win32') add('.env present, mode 0600', 'ok', `${input.envFile} (mode not checked on Windows)`)
  else {
    const mode = statSync(input.envFile).mode & 0o777
    const octal = mode.toString(8).padStart(4, '0')
    add('.env present, mode 0600', mode & 0o077 ? 'fail' : 'ok', mode & 0o077 ? `${input.envFile} is mode ${octal}, readable by others: chmod 600 it` : `${input.envFile} (mode ${octal})`)
  }
  let dataDir = resolvePath(input.cwd, 'data')
  try {
    dataDir = loadConfig({ envFile: input.envFile, cwd: input.cwd }).dataDir
  } catch {
    // reported above
  }
  const disk = diskUsage(dataDir)
  if (disk.free === null) add('free disk', 'warn', `unknown for ${disk.path}: ${disk.error}`, false)
  else {
    const detail = `${fmtBytes(disk.free)} free, ${disk.usedPercent}% used (${disk.path})`
    add('free disk', disk.free < MIN_FREE_BYTES ? 'fail' : disk.warning ? 'warn' : 'ok', disk.free < MIN_FREE_BYTES ? `${detail}: below ${fmtBytes(MIN_FREE_BYTES)}` : detail)
  }

  return { ok: !checks.some((c) => c.required && c.status === 'fail'), database, user, envFile: input.envFile, checks }
}
