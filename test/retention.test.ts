/**
 * The retention policy over a year of fake dated dumps: the exact keep set of
 * the default policy, calendar (restic) semantics, the newest dump always
 * stays, --dry-run deletes nothing, and only files named like dumps are touched.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dumpName, parseDumpName, prune } from '../src/backup/files.ts'
import { applyRetention, DEFAULT_POLICY, isoWeekOf, type Dated } from '../src/backup/retention.ts'

const DAY = 86_400_000
const at = (iso: string) => new Date(iso)

/** One dump a day at 02:00 UTC through 2025, plus a second one on the last day at 14:00. */
function year2025(): Dated[] {
  const out: Dated[] = []
  for (let t = Date.UTC(2025, 0, 1, 2); t <= Date.UTC(2025, 11, 31, 2); t += DAY) out.push({ name: dumpName('db', 'json', new Date(t)), time: new Date(t) })
  out.push({ name: dumpName('db', 'json', at('2025-12-31T14:00:00Z')), time: at('2025-12-31T14:00:00Z') })
  return out
}

const days = (d: Dated[]) => d.map((x) => x.time.toISOString().slice(0, 16))

describe('retention policy (pure)', () => {
  test('ISO weeks at year boundaries', () => {
    expect(isoWeekOf(at('2021-01-03T12:00:00Z'))).toBe('2020-W53')
    expect(isoWeekOf(at('2024-12-30T00:00:00Z'))).toBe('2025-W01')
    expect(isoWeekOf(at('2025-12-28T23:59:59Z'))).toBe('2025-W52')
    expect(isoWeekOf(at('2025-12-31T02:00:00Z'))).toBe('2026-W01')
    expect(isoWeekOf(at('2026-01-04T00:00:00Z'))).toBe('2026-W01')
    expect(isoWeekOf(at('2026-01-05T00:00:00Z'))).toBe('2026-W02')
  })

  test('the default policy keeps exactly 30 days and 26 weeks', () => {
    const decisions = applyRetention(year2025(), DEFAULT_POLICY)
    expect(decisions.length).toBe(366)
    const kept = decisions.filter((d) => d.keep).map((d) => d.item)
    const daily: string[] = ['2025-12-31T14:00']
    for (let d = 30; d >= 2; d--) daily.push(`2025-12-${String(d).padStart(2, '0')}T02:00`)
    // Sundays (the newest dump of each ISO week) older than the daily window, back to the 26th week
    const weekly = [
      '2025-11-30', '2025-11-23', '2025-11-16', '2025-11-09', '2025-11-02', '2025-10-26', '2025-10-19', '2025-10-12', '2025-10-05',
      '2025-09-28', '2025-09-21', '2025-09-14', '2025-09-07', '2025-08-31', '2025-08-24', '2025-08-17', '2025-08-10', '2025-08-03',
      '2025-07-27', '2025-07-20', '2025-07-13',
    ].map((d) => `${d}T02:00`)
    expect(days(kept)).toEqual([...daily, ...weekly])
    expect(decisions.filter((d) => !d.keep).length).toBe(366 - 51)
    // the 02:00 dump of the last day loses to the 14:00 one
    expect(decisions.find((d) => d.item.time.toISOString() === '2025-12-31T02:00:00.000Z')!.keep).toBe(false)
    const newest = decisions[0]!
    expect(newest.reasons).toEqual(['newest', 'daily 2025-12-31', 'weekly 2026-W01'])
    expect(decisions.find((d) => d.item.time.toISOString().startsWith('2025-12-28'))!.reasons).toEqual(['daily 2025-12-28', 'weekly 2025-W52'])
    expect(decisions.find((d) => d.item.time.toISOString().startsWith('2025-07-13'))!.reasons).toEqual(['weekly 2025-W28'])
  })

  test('monthly keeps the newest dump of each month', () => {
    const kept = applyRetention(year2025(), { daily: 0, weekly: 0, monthly: 12 }).filter((d) => d.keep)
    expect(days(kept.map((d) => d.item)).map((s) => s.slice(0, 10))).toEqual([
      '2025-12-31', '2025-11-30', '2025-10-31', '2025-09-30', '2025-08-31', '2025-07-31',
      '2025-06-30', '2025-05-31', '2025-04-30', '2025-03-31', '2025-02-28', '2025-01-31',
    ])
  })

  test('the newest dump stays even when every rule is 0', () => {
    const decisions = applyRetention(year2025(), { daily: 0, weekly: 0, monthly: 0 })
    expect(decisions.filter((d) => d.keep).map((d) => d.reasons)).toEqual([['newest']])
  })

  test('"the last N days" are days that have dumps, not calendar days', () => {
    const mondays: Dated[] = []
    for (let t = Date.UTC(2025, 0, 6, 2); t < Date.UTC(2026, 0, 1); t += 7 * DAY) mondays.push({ name: String(t), time: new Date(t) })
    const kept = applyRetention(mondays, { daily: 3, weekly: 0, monthly: 0 }).filter((d) => d.keep)
    expect(days(kept.map((d) => d.item))).toEqual(['2025-12-29T02:00', '2025-12-22T02:00', '2025-12-15T02:00'])
  })

  test('a negative or fractional count is refused', () => {
    expect(() => applyRetention([], { daily: -1, weekly: 0, monthly: 0 })).toThrow(RangeError)
    expect(() => applyRetention([], { daily: 1.5, weekly: 0, monthly: 0 })).toThrow(RangeError)
  })
})

describe('dump file names', () => {
  test('round trip, and names that are not ours', () => {
    const t = at('2026-01-10T02:03:04Z')
    expect(dumpName('prescient_os', 'custom', t)).toBe('prescient_prescient_os_20260110T020304Z.dump')
    expect(parseDumpName('prescient_prescient_os_20260110T020304Z.jsonl.gz')).toEqual({ name: 'prescient_prescient_os_20260110T020304Z.jsonl.gz', database: 'prescient_os', format: 'json', time: t })
    expect(dumpName('my db/x', 'sql', t)).toBe('prescient_my-db-x_20260110T020304Z.sql')
    for (const n of ['prescient_db_20261399T020304Z.sql', 'prescient_db_20260110T020304Z.sql.partial', 'prescient_db_20260110T020304Z.sql.manifest.json', 'notes.txt', 'prescient_db_20260110.sql']) {
      expect(parseDumpName(n)).toBeNull()
    }
  })
})

describe('prune on a folder', () => {
  let dir: string | undefined
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }))

  function fill(): string[] {
    dir = mkdtempSync(join(tmpdir(), 'prescient-retention-'))
    const names = year2025().map((d) => d.name)
    for (const n of names) {
      writeFileSync(join(dir, n), '')
      writeFileSync(join(dir, `${n}.manifest.json`), '{}')
    }
    // not ours: another database, an unfinished dump, a note, a look-alike
    for (const n of ['prescient_other_20250101T020000Z.jsonl.gz', 'prescient_db_20250101T020000Z.jsonl.gz.partial', 'notes.txt', 'prescient_db_2025.jsonl.gz']) writeFileSync(join(dir, n), '')
    // a weekly custom series must not be evicted by the daily json one
    writeFileSync(join(dir, 'prescient_db_20250105T030000Z.dump'), '')
    return names
  }

  test('--dry-run lists what would go and deletes nothing', async () => {
    fill()
    const before = readdirSync(dir!).sort()
    const r = await prune(dir!, 'db', DEFAULT_POLICY, true)
    expect(r.deleted.length).toBe(366 - 51)
    expect(r.kept.length).toBe(51 + 1)
    expect(readdirSync(dir!).sort()).toEqual(before)
  })

  test('deletes the dumps the policy drops, with their manifests, and nothing else', async () => {
    const names = fill()
    const r = await prune(dir!, 'db', DEFAULT_POLICY, false)
    const left = new Set(readdirSync(dir!))
    for (const d of r.deleted) {
      expect(left.has(d.item.name)).toBe(false)
      expect(left.has(`${d.item.name}.manifest.json`)).toBe(false)
    }
    for (const d of r.kept) expect(left.has(d.item.name)).toBe(true)
    expect(left.has(names[names.length - 1]!)).toBe(true)
    for (const n of ['prescient_other_20250101T020000Z.jsonl.gz', 'prescient_db_20250101T020000Z.jsonl.gz.partial', 'notes.txt', 'prescient_db_2025.jsonl.gz', 'prescient_db_20250105T030000Z.dump']) {
      expect(left.has(n)).toBe(true)
    }
    expect(left.size).toBe((51 + 1) + 51 + 4)
    expect(existsSync(join(dir!, `${names[names.length - 1]!}.manifest.json`))).toBe(true)
  })
})
