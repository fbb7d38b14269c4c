/**
 * Windows inputs, tested on any OS: drive and UNC paths, a .env saved by
 * Notepad (CRLF, BOM, quoted values with spaces), and the file names the cycle
 * writes (relative names with '/', joined with path.join; nothing Windows forbids).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, win32 } from 'node:path'
import { rmrf, tempDir } from './_cycle.ts'
import { REPO } from './_fixtures.ts'
import { loadConfig, resolvePath } from '../src/config.ts'
import { parseEnv, updateEnvFile } from '../src/env-file.ts'
import { lockPath } from '../src/lock.ts'
import { GROUP_FILES, GROUPS } from '../src/phase.ts'
import { archiveRel, FILES } from '../src/schema/files.ts'
import { runCycle } from '../src/trading/cycle.ts'

describe('resolvePath keeps Windows absolute paths and resolves the rest against the cwd', () => {
  const cwd = process.platform === 'win32' ? 'C:\\work' : '/work'
  for (const p of ['C:\\Users\\x\\data', 'C:/data', 'd:\\lower\\case', '\\\\server\\share\\prescient', '\\\\?\\C:\\long\\path']) {
    test(p, () => expect(resolvePath(cwd, p)).toBe(p))
  }
  test('relative paths, forward or backward slashes, land under the cwd', () => {
    expect(resolvePath(cwd, 'data')).toBe(join(cwd, 'data'))
    if (process.platform === 'win32') expect(resolvePath(cwd, 'data\\sub')).toBe('C:\\work\\data\\sub')
  })
  test('--data-dir C:/data and --env-file with a drive letter reach the config unchanged', () => {
    const c = loadConfig({ dataDir: 'C:/data', envFile: 'C:\\no\\such\\.env', cwd, env: { PRESCIENT_LOG_DIR: 'D:\\logs' } })
    expect(c.dataDir).toBe('C:/data')
    expect(c.envFile).toBe('C:\\no\\such\\.env')
    expect(c.logDir).toBe('D:\\logs')
  })
})

describe('a .env saved on Windows', () => {
  let dir: string
  beforeAll(() => {
    dir = tempDir('winenv')
  })
  afterAll(() => rmrf(dir))

  // The seed's settings, as Notepad saves them: BOM, CRLF, a quoted password with spaces.
  const NOTEPAD =
    '\uFEFFPOSTGRES_HOST=localhost\r\n' +
    '# PostgreSQL for prescient\r\n' +
    'POSTGRES_PORT=5433\r\n' +
    'POSTGRES_DB=prescient_os\r\n' +
    'POSTGRES_USER=prescient_user\r\n' +
    'POSTGRES_PASSWORD="p@ss word #1"\r\n' +
    "PRESCIENT_DATA_DIR='C:\\Users\\nina\\prescient data'\r\n" +
    'PRESCIENT_LOG_DIR=D:\\logs\\prescient\r\n' +
    'USE_DATABASE_WRITE=false  # flip to true for phase 4\r\n' +
    'USE_DATABASE_READ=false\r\n' +
    '\r\n'

  test('parses: no BOM in the first key, no \\r in any value, quotes and comments removed', () => {
    const env = parseEnv(NOTEPAD)
    expect(Object.keys(env)[0]).toBe('POSTGRES_HOST')
    for (const v of Object.values(env)) expect(v).not.toMatch(/[\r\n\uFEFF]/)
    expect(env).toEqual({
      POSTGRES_HOST: 'localhost',
      POSTGRES_PORT: '5433',
      POSTGRES_DB: 'prescient_os',
      POSTGRES_USER: 'prescient_user',
      POSTGRES_PASSWORD: 'p@ss word #1',
      PRESCIENT_DATA_DIR: 'C:\\Users\\nina\\prescient data',
      PRESCIENT_LOG_DIR: 'D:\\logs\\prescient',
      USE_DATABASE_WRITE: 'false',
      USE_DATABASE_READ: 'false',
    })
  })

  test('loadConfig builds the database URL from POSTGRES_* and keeps the Windows paths', () => {
    const file = join(dir, '.env')
    writeFileSync(file, NOTEPAD)
    const c = loadConfig({ envFile: file, env: {}, cwd: dir })
    expect(c.db).toMatchObject({ source: 'POSTGRES_*', host: 'localhost', port: 5433, database: 'prescient_os', user: 'prescient_user' })
    expect(decodeURIComponent(new URL(c.db!.url).password)).toBe('p@ss word #1')
    expect(c.db!.display).not.toContain('word')
    expect(c.dataDir).toBe('C:\\Users\\nina\\prescient data')
    expect(c.logDir).toBe('D:\\logs\\prescient')
    expect(c.phase).toBe(0)
  })

  test('updating a CRLF .env keeps CRLF on every line', () => {
    const file = join(dir, 'crlf.env')
    writeFileSync(file, NOTEPAD)
    updateEnvFile(file, { POSTGRES_PASSWORD: 'new secret', PRESCIENT_PHASE: '1' })
    const text = readFileSync(file, 'utf8')
    expect(text.replace(/\r\n/g, '')).not.toContain('\n')
    expect(parseEnv(text).POSTGRES_PASSWORD).toBe('new secret')
    expect(parseEnv(text).PRESCIENT_PHASE).toBe('1')
  })
})

// Characters and names Windows refuses in a path component.
const FORBIDDEN = /[<>:"|?*\u0000-\u001F]|[. ]$|^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i

describe('file names under the data dir', () => {
  test('relative names use "/" and path.win32.join turns them into one Windows path', () => {
    const rels = [...Object.values(FILES).map((f) => f.rel), archiveRel('2026-02'), ...GROUPS.flatMap((g) => GROUP_FILES[g])]
    for (const rel of rels) {
      expect(rel).not.toContain('\\')
      const p = win32.join('C:\\Users\\x\\data', rel)
      expect(p).toStartWith('C:\\Users\\x\\data\\')
      expect(p).not.toContain('/')
      for (const part of rel.split('/')) expect({ rel, part, ok: !FORBIDDEN.test(part) }).toEqual({ rel, part, ok: true })
    }
    expect(lockPath('base')).toBe(join('base', '.prescient', 'cycle.lock'))
  })

  test('every file a cycle writes (data, archive, lock, log) has a name Windows accepts', async () => {
    const dir = tempDir('winnames')
    try {
      await runCycle(loadConfig({ dataDir: dir, env: {}, envFile: join(dir, 'none.env'), cwd: dir }), { source: 'sample' })
      const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)]))
      const names = walk(dir).map((p) => relative(dir, p))
      expect(names).toContain(join('history', 'portfolio_history.json'))
      for (const n of names) for (const part of n.split(/[\\/]/)) expect({ n, ok: !FORBIDDEN.test(part) }).toEqual({ n, ok: true })
    } finally {
      rmrf(dir)
    }
  })
})

/**
 * A lint for src/: filesystem paths are built with path.join/resolve, never by
 * gluing '/' onto a folder variable. Relative names inside the data dir
 * ('history/x.json') are fine: path.join normalises them on Windows.
 */
test('src/ never glues "/" onto a directory variable', () => {
  const offenders: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts')) {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          const glued = /\$\{[\w.]*(?:dataDir|logDir|outDir|cwd|tmpdir\(\)|homedir\(\)|dirname\([^)]*\))\}\/|(?:dataDir|logDir|cwd)\s*\+\s*['"`]\//.test(line)
          // only where the string reaches the filesystem (messages about cron/systemd paths are POSIX anyway)
          const fsCall = /\b(?:readFile|writeFile|appendFile|mkdir|readdir|stat|lstat|unlink|rename|open|exists|rm|copyFile|createWriteStream|createReadStream|Bun\.file|Bun\.write)(?:Sync)?\(/.test(line)
          if (glued && fsCall) offenders.push(`${relative(REPO, p)}:${i + 1}: ${line.trim()}`)
        })
      }
    }
  }
  walk(join(REPO, 'src'))
  expect(offenders).toEqual([])
})
