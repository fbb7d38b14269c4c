/** Helpers for tests that run whole cycles in-process. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { loadConfig, type Config } from '../src/config.ts'
import { expect } from 'bun:test'
import type { Sql } from '../src/db/client.ts'
import { JsonStore } from '../src/store/json.ts'
import { PgStore } from '../src/store/postgres.ts'

export const TABLES = [
  'trades', 'portfolio_state', 'portfolio_positions', 'portfolio_snapshots',
  'portfolio_history', 'signal_archives', 'trading_signals',
  'events', 'markets', 'market_snapshots',
] as const

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `prescient-${label}-`))
}

export function cfg(dataDir: string, phase: number, databaseUrl?: string, env: Record<string, string> = {}): Config {
  return loadConfig({ phase, dataDir, databaseUrl, env, envFile: join(dataDir, 'no.env'), cwd: dataDir })
}

/** Every regular file under dir (absolute paths); none when dir does not exist. */
export function filesUnder(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(p)
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

/** JSON files under the data dir, relative, ignoring the tool's own .prescient/ and logs/. */
export function jsonFiles(dataDir: string): string[] {
  return filesUnder(dataDir)
    .map((p) => relative(dataDir, p).replace(/\\/g, '/'))
    .filter((rel) => rel.endsWith('.json') && !rel.startsWith('.prescient/') && !rel.startsWith('logs/'))
    .sort()
}

export async function rowCounts(sql: Sql): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of TABLES) {
    const r = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(t)}`
    out[t] = r[0]!.n
  }
  return out
}

export async function truncateAll(sql: Sql): Promise<void> {
  await sql`truncate ${sql([...TABLES])} restart identity cascade`
}

export const rmrf = (p: string) => rmSync(p, { recursive: true, force: true })

/** JSON and PostgreSQL hold the same facts, load by load (every group). */
export async function expectSameFacts(dir: string, sql: Sql): Promise<void> {
  const json = new JsonStore(dir)
  const pg = new PgStore(sql)
  expect(await pg.loadPortfolio()).toEqual(await json.loadPortfolio())
  expect(await pg.loadTrades()).toEqual(await json.loadTrades())
  expect(await pg.loadSignals()).toEqual(await json.loadSignals())
  expect(await pg.loadHistory()).toEqual(await json.loadHistory())
  expect(await pg.loadArchives()).toEqual(await json.loadArchives())
  expect(await pg.loadEvents()).toEqual(await json.loadEvents())
  expect(await pg.loadMarkets()).toEqual(await json.loadMarkets())
}
