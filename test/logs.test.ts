/**
 * Unattended runs: spawned the way a scheduler starts them (no terminal:
 * stdin, stdout and stderr are pipes), they append to the dated log file,
 * prune logs older than 30 days, never write the password anywhere, and
 * `status` points at the logs and the last error.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')
const SECRET = 'S3cr3t#Zq7'
const ENCODED = encodeURIComponent(SECRET)
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000)
const logName = (d: Date) => `prescient-${d.toISOString().slice(0, 10)}.log`

let dataDir: string
let env: Record<string, string>
const outputs: string[] = []

async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** The CLI as a scheduler starts it: every stdio stream a pipe, so nothing is a TTY. */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'src/cli.ts'), ...args], { cwd: dataDir, env, input: '', encoding: 'utf8', timeout: 60_000 })
  outputs.push(r.stdout, r.stderr)
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const logText = () =>
  readdirSync(join(dataDir, 'logs'))
    .map((n) => readFileSync(join(dataDir, 'logs', n), 'utf8'))
    .join('')

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'prescient-logs-'))
  const port = await closedPort()
  env = { ...(process.env as Record<string, string>) }
  for (const k of Object.keys(env)) if (/^(PG|POSTGRES_|PRESCIENT_|USE_DATABASE|DATABASE_)/.test(k)) delete env[k]
  // The database name carries the secret too, so masking (not luck) keeps it out of every message.
  env.DATABASE_URL = `postgres://prescient:${ENCODED}@127.0.0.1:${port}/trading_${ENCODED}`
  env.PRESCIENT_ENV_FILE = join(dataDir, 'absent.env')
  env.PRESCIENT_LOG_LEVEL = '3'
  mkdirSync(join(dataDir, 'logs'))
  for (const [age, text] of [[40, 'INFO  ancient\n'], [10, 'ERROR an older failure\n']] as const) {
    const p = join(dataDir, 'logs', logName(day(age)))
    writeFileSync(p, `${day(age).toISOString()} ${text}`)
    utimesSync(p, day(age), day(age))
  }
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('a scheduled (non-TTY) cycle with an unreachable database, phase 3', () => {
  test('runs on JSON, appends its warnings to the dated log file', () => {
    const r = cli(['cycle', '--source', 'sample', '--data-dir', dataDir, '--phase', '3'])
    expect(r.code).toBe(0)
    const today = join(dataDir, 'logs', logName(new Date()))
    expect(existsSync(today)).toBe(true)
    const lines = readFileSync(today, 'utf8').trimEnd().split('\n')
    expect(lines.every((l) => /^\d{4}-\d{2}-\d{2}T\S+Z (INFO|WARN|ERROR|SUCCESS|DEBUG|LOG|START|READY|FATAL)\s/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes('WARN') && l.includes('PostgreSQL unavailable, continuing on JSON (phase 3)'))).toBe(true)
    expect(lines.some((l) => l.includes('WARN') && l.includes('caught up by the next cycle'))).toBe(true)
    expect(lines.some((l) => l.includes('trading_****'))).toBe(true)
  })

  test('logs older than 30 days are deleted, younger ones kept', () => {
    expect(existsSync(join(dataDir, 'logs', logName(day(40))))).toBe(false)
    expect(existsSync(join(dataDir, 'logs', logName(day(10))))).toBe(true)
  })

  test('a failing run (phase 6 needs the database) logs an ERROR line and exits 5', () => {
    const r = cli(['cycle', '--source', 'sample', '--data-dir', dataDir, '--phase', '6'])
    expect(r.code).toBe(5)
    expect(logText()).toMatch(/Z ERROR .*unreachable/)
  })

  test('status --json shows where the logs are, the newest file and the last error', () => {
    const r = cli(['status', '--json', '--data-dir', dataDir, '--phase', '3'])
    expect(r.code).toBe(0)
    const logs = JSON.parse(r.stdout).logs
    expect(logs.dir).toBe(join(dataDir, 'logs'))
    expect(logs.exists).toBe(true)
    expect(logs.newest.name).toBe(logName(new Date()))
    expect(logs.lastError.file).toBe(logName(new Date()))
    expect(logs.lastError.line).toMatch(/ERROR database trading_\*\*\*\* at 127\.0\.0\.1:\d+ is unreachable/)
  })

  test('the password is in no log line, stdout or stderr', () => {
    const all = [logText(), ...outputs].join('\n')
    expect(all.length).toBeGreaterThan(1000)
    for (const s of [SECRET, ENCODED, 'S3cr3t']) expect(all).not.toContain(s)
  })
})
