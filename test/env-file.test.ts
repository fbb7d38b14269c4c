import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv, readEnvFile, updateEnvFile } from '../src/env-file.ts'
import { rmrf, tempDir } from './_cycle.ts'

const dir = tempDir('envfile')
afterAll(() => rmrf(dir))

describe('.env reading and writing', () => {
  test('the seed example reads as written, comments and all', () => {
    const env = parseEnv('POSTGRES_HOST=localhost\nUSE_DATABASE_READ=false  # Start with false, flip to true in Phase 5\n# comment\nexport SQL_DEBUG=false\n')
    expect(env).toEqual({ POSTGRES_HOST: 'localhost', USE_DATABASE_READ: 'false', SQL_DEBUG: 'false' })
  })

  test('Windows paths survive double quotes, single quotes and no quotes', () => {
    const env = parseEnv('A="C:\\new\\data"\r\nB=\'C:\\new\\data\'\r\nC=C:\\new\\data\r\nD="\\\\server\\share\\x"\r\n')
    expect(env.A).toBe('C:\\new\\data')
    expect(env.B).toBe('C:\\new\\data')
    expect(env.C).toBe('C:\\new\\data')
    expect(env.D).toBe('\\\\server\\share\\x')
  })

  test('awkward values round-trip, unrelated lines and CRLF are kept, mode is 0600', () => {
    const path = join(dir, '.env')
    writeFileSync(path, '# mine\r\nOTHER_APP=1\r\nPOSTGRES_PASSWORD=old\r\n')
    const values = { POSTGRES_PASSWORD: `p'a"s s\\w#rd$1`, POSTGRES_DB: 'my db', PRESCIENT_DATA_DIR: 'C:\\Users\\me\\data' }
    updateEnvFile(path, values)
    const text = readFileSync(path, 'utf8')
    expect(text.startsWith('# mine\r\nOTHER_APP=1\r\n')).toBe(true)
    expect(text.split('\r\n').length).toBeGreaterThan(4)
    expect(readEnvFile(path)).toEqual({ OTHER_APP: '1', ...values })
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = updateEnvFile(path, values)
    expect(again).toEqual({ added: [], changed: [] })
  })
})

describe('the seed .env example', () => {
  test('works as written: POSTGRES_* gives the database, the flags give phase 0, the password is masked', async () => {
    const { loadConfig } = await import('../src/config.ts')
    const { mask } = await import('../src/mask.ts')
    const config = loadConfig({ envFile: join(import.meta.dir, '..', '.env.example'), env: {}, cwd: dir })
    expect(config.db?.source).toBe('POSTGRES_*')
    expect(config.db?.database).toBe('prescient_os')
    expect(config.db?.user).toBe('prescient_user')
    expect(config.phase).toBe(0)
    expect(config.phaseSource).toContain('USE_DATABASE_WRITE=false')
    expect(mask(config.db!.url)).not.toContain('YourSecurePassword123!')
    const five = loadConfig({ envFile: join(import.meta.dir, '..', '.env.example'), env: { USE_DATABASE_WRITE: 'true', USE_DATABASE_READ: 'true' }, cwd: dir })
    expect(five.phase).toBe(5)
  })
})
