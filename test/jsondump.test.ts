/**
 * The json dump (format version 2) on values that are hard to carry: tabs,
 * newlines, backslashes, quotes, control characters, a literal \N, emoji,
 * jsonb holding all of those, NaN, infinities, booleans and NULLs. The server's
 * SQL rendering of a COPY line (for the content hash) must equal what COPY
 * really sends, the dump's JSON must hold the exact text, and a restore must
 * reproduce every table. Dumps of format version 1 must still restore.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import postgres from 'postgres'
import { ADMIN_URL, connectTo, createTestDb, dbAvailable, dropDatabases, type TestDb } from './_db.ts'
import { rmrf, tempDir } from './_cycle.ts'
import { runMain as run } from './_run.ts'
import { connect, type Sql } from '../src/db/client.ts'
import { LEGACY_HASH_METHOD, RowHashSum, setDumpSettings, sqlCopyLine, tableInfo, tableStats, type TableInfo } from '../src/backup/catalog.ts'
import { copyRowsToJson, MAX_EXPANSION } from '../src/backup/copytext.ts'

function convert(copy: string): { json: string; rows: number } {
  const b = Buffer.from(copy)
  const o = new Uint8Array(MAX_EXPANSION * b.length + 2)
  const sum = new RowHashSum()
  const end = copyRowsToJson(b, o, 0, sum)
  return { json: Buffer.from(o.subarray(0, end)).toString(), rows: sum.rows }
}

describe('COPY text to JSON (pure)', () => {
  test('fields, NULLs and every escape COPY writes become the JSON of the same text', () => {
    const cases: [string, (string | null)[]][] = [
      ['1\tabc\t\\N\n', ['1', 'abc', null]],
      ['\\N\n', [null]],
      ['\n', ['']],
      ['\t\n', ['', '']],
      ['a\\\\N\t\\\\N\n', ['a\\N', '\\N']],
      ['tab\\there\tnl\\nx\tcr\\ry\n', ['tab\there', 'nl\nx', 'cr\ry']],
      ['\\b\\f\\v\\\\\n', ['\b\f\v\\']],
      ['say "hi"\t"\n', ['say "hi"', '"']],
      ['\x01\x1f\x7f\t\x1b[0m\n', ['\x01\x1f\x7f', '\x1b[0m']],
      ['é ✓ 🚀\t\\N\n', ['é ✓ 🚀', null]],
      ['ends with \\\\\t\\N\n', ['ends with \\', null]],
    ]
    for (const [copy, want] of cases) {
      const { json, rows } = convert(copy)
      expect(rows).toBe(1)
      expect(json.endsWith(']\n')).toBe(true)
      expect(JSON.parse(json)).toEqual(want)
    }
    const many = convert('1\ta\n2\t\\N\n3\tc\n')
    expect(many.rows).toBe(3)
    expect(many.json.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([['1', 'a'], ['2', null], ['3', 'c']])
  })

  test('anything COPY does not write is an error naming the row, not a silently wrong dump', () => {
    expect(() => convert('1\tok\n2\tbad \\x41\n')).toThrow('unexpected escape \\x in row 2')
    expect(() => convert('1\tno newline')).toThrow('row 1 does not end with a newline')
  })
})

const NASTY = [
  'plain',
  '',
  'tab\there',
  'new\nline',
  'cr\rreturn',
  'back\\slash',
  'literal \\N',
  '\\N',
  'quote "q" and \'s\'',
  'vt\vff\fbs\b',
  'ctl \x01\x02\x1b\x1f\x7f',
  'unicode é ✓ 🚀 \u2028\u2029',
  'trailing backslash \\',
  'ends with tab\t',
  '"',
  '\\v and \\t as text',
  '{"looks":["like",1,"json"]}',
]

async function fill(sql: Sql) {
  await sql`delete from system_metadata`
  for (const [i, s] of NASTY.entries()) {
    const ts = new Date(Date.UTC(2026, 0, 10, 12, 0, i, 123)).toISOString()
    await sql`insert into system_metadata (key, value, updated_at) values (${`${i}:${s}`}, ${s}, ${ts}::text::timestamptz + interval '456 microseconds')`
    await sql`insert into events (event_id, title, slug, liquidity, volume, start_date, end_date, days_until_end, event_data, is_filtered)
      values (${`e${i}`}, ${s}, ${i % 3 ? s : null}, ${i === 1 ? 'NaN' : `${i}.5`}::text::numeric, ${i % 2 ? null : -i}::numeric,
              ${i === 2 ? 'infinity' : i === 3 ? '-infinity' : ts}::text::timestamptz, null, ${-i},
              ${sql.json({ s, n: 1.5, deep: { arr: [s, null, true, 1e-7] } })}, ${i % 3 === 0 ? null : i % 3 === 1})`
    await sql`insert into portfolio_history (snapshot_date, timestamp, balance, total_invested, total_profit_loss, total_value, open_positions, trade_count)
      values (${i === 4 ? '-infinity' : `2026-01-${String(i + 1).padStart(2, '0')}`}::text::date, ${ts}::text::timestamptz, ${i}, 0, ${-i / 4}, ${i}, ${i}, ${i})`
  }
}

/**
 * Each table's rows as COPY really sends them (on a connection of its own, closed
 * afterwards, as the dump does: see copyTable), and as sqlCopyLine renders them in SQL.
 */
async function bothLines(database: string, t: TableInfo): Promise<[string[], string[]]> {
  const c = connectTo(database, 1)
  try {
    return await c.begin(async (tx) => {
      await setDumpSettings(tx)
      const rendered = await tx<{ l: string }[]>`select ${sqlCopyLine(tx, t)} as l from ${tx(t.name)}`
      const real: Buffer[] = []
      const stream = await tx`copy ${tx(t.name)} (${tx(t.columns)}) to stdout`.readable()
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => real.push(chunk))
        stream.on('end', resolve)
        stream.on('error', reject)
      })
      return [Buffer.concat(real).toString().split('\n').filter(Boolean).sort(), rendered.map((r) => r.l).sort()]
    })
  } finally {
    await c.end({ timeout: 0 }).catch(() => {})
  }
}

describe.skipIf(!dbAvailable)('json dump v2 on hard values', () => {
  let src: TestDb
  let out: string
  const made: string[] = []
  const conn = (url: string) => ['--database-url', url, '--env-file', '/nonexistent/.env']
  let dumpFile = ''

  beforeAll(async () => {
    src = await createTestDb('jsondump')
    out = tempDir('jsondump-out')
    // a server whose defaults differ from the dump settings (a DMY locale, a far-off zone) changes no byte
    const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
    await a.unsafe(`alter database "${src.name}" set datestyle = 'SQL, DMY'`)
    await a.unsafe(`alter database "${src.name}" set timezone = 'Asia/Kolkata'`)
    await a.unsafe(`alter database "${src.name}" set extra_float_digits = 0`)
    await a.end()
    await src.sql.end()
    src.sql = connect(src.db, { max: 4 })
    expect((await src.sql`show datestyle`)[0]!.DateStyle).toBe('SQL, DMY')
    await fill(src.sql)
  })
  afterAll(async () => {
    await src?.drop()
    await dropDatabases(...made)
    rmrf(out)
  })

  test('the SQL rendering of a COPY line is byte for byte what COPY sends, for every table', async () => {
    for (const t of await tableInfo(src.sql)) {
      const [real, rendered] = await bothLines(src.name, t)
      expect({ table: t.name, lines: rendered }).toEqual({ table: t.name, lines: real })
    }
  })

  test('the dump holds the exact text of every value; its manifest equals the server-side hashes', async () => {
    const d = await run(['dump', '--format', 'json', '--out', out, '--json', ...conn(src.url)])
    expect(d.code).toBe(0)
    dumpFile = JSON.parse(d.stdout).dump.path
    const manifest = JSON.parse(readFileSync(`${dumpFile}.manifest.json`, 'utf8'))
    expect(manifest.hash_method).toBe('sha256-sum64-text/1')
    expect(manifest.tables).toEqual(await tableStats(src.sql, await tableInfo(src.sql)))

    const lines = gunzipSync(readFileSync(dumpFile)).toString('utf8').trimEnd().split('\n')
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'prescient-jsonl', version: 2, schema_version: 2 })
    const start = lines.findIndex((l) => l.startsWith('{"table":"system_metadata"'))
    const header = JSON.parse(lines[start]!)
    const rows = lines.slice(start + 1, start + 1 + NASTY.length).map((l) => JSON.parse(l) as (string | null)[])
    const value = header.columns.indexOf('value')
    expect(rows.map((r) => r[value]).sort()).toEqual([...NASTY].sort())
    expect(rows[0]![header.columns.indexOf('updated_at')]).toMatch(/^2026-01-10 12:00:\d\d\.123456\+00$/)
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ end: true, rows: { system_metadata: NASTY.length, events: NASTY.length } })
  })

  test('restore reproduces every table, and --verify agrees', async () => {
    const target = `${src.name}_r`
    made.push(target)
    const r = await run(['restore', dumpFile, '--database', target, '--yes', '--json', ...conn(src.url)])
    expect(r.code).toBe(0)
    const t = connectTo(target)
    try {
      const tables = await tableInfo(t)
      expect(await tableStats(t, tables)).toEqual(await tableStats(src.sql, await tableInfo(src.sql)))
      for (const tb of tables) expect((await bothLines(target, tb))[0]).toEqual((await bothLines(src.name, tb))[0])
      const [e] = await t<{ d: unknown }[]>`select event_data as d from events where event_id = 'e10'`
      expect(e!.d).toEqual({ s: NASTY[10], n: 1.5, deep: { arr: [NASTY[10], null, true, 1e-7] } })
    } finally {
      await t.end()
    }
    const v = await run(['restore', dumpFile, '--verify', '--json', ...conn(src.url)])
    expect(v.code).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, verify: true, dropped: true })
  })

  test('a dump of format version 1 (json_build_array rows, md5-sum64-json/1) still restores and verifies', async () => {
    const tables = await tableInfo(src.sql)
    const text: string[] = [JSON.stringify({ format: 'prescient-jsonl', version: 1, database: src.name, schema_version: 2, created_at: '2026-01-01T00:00:00.000Z', tool_version: '0.1.0', tables: tables.map((t) => t.name) })]
    const rows: Record<string, number> = {}
    await src.sql.begin(async (tx) => {
      await tx`set local timezone = 'UTC'`
      for (const t of tables) {
        text.push(JSON.stringify({ table: t.name, columns: t.columns, types: t.types }))
        const lines = await tx<{ l: string }[]>`select json_build_array(${tx(t.columns)})::text as l from ${tx(t.name)}`
        for (const { l } of lines) text.push(l)
        rows[t.name] = lines.length
      }
    })
    text.push(JSON.stringify({ end: true, rows }))
    const gz = gzipSync(Buffer.from(text.join('\n') + '\n'))
    const file = join(out, `prescient_${src.name}_20260101T000000Z.jsonl.gz`)
    writeFileSync(file, gz)
    const m = JSON.parse(readFileSync(`${dumpFile}.manifest.json`, 'utf8'))
    const legacy = await tableStats(src.sql, tables, LEGACY_HASH_METHOD)
    expect(legacy).not.toEqual(m.tables)
    writeFileSync(`${file}.manifest.json`, JSON.stringify({ ...m, file: file.split('/').pop(), bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex'), hash_method: LEGACY_HASH_METHOD, tables: legacy }))

    const v = await run(['restore', file, '--verify', '--json', ...conn(src.url)])
    expect(v.stderr).toBe('')
    expect(v.code).toBe(0)
    const target = `${src.name}_r1`
    made.push(target)
    expect((await run(['restore', file, '--database', target, '--yes', ...conn(src.url)])).code).toBe(0)
    const t = connectTo(target)
    try {
      expect(await tableStats(t, await tableInfo(t))).toEqual(m.tables)
    } finally {
      await t.end()
    }
  })
})

describe.skipIf(!dbAvailable)('json dump of a very large value', () => {
  test('a 12 MB jsonb row (a year of archived signals) dumps and restores exactly, spanning many gzip chunks', async () => {
    const src = await createTestDb('jsondump_big')
    const out = tempDir('jsondump-big')
    const target = `${src.name}_r`
    try {
      const signals = Array.from({ length: 40_000 }, (_, i) => ({ market_id: `m${i}`, reason: `tab\there "quoted" \\ ${'x'.repeat(200)}`, n: i / 7 }))
      await src.sql`insert into signal_archives (archived_at, archive_month, signals_count, signals_data) values (now(), '2026-01', ${signals.length}, ${src.sql.json(signals)})`
      const d = await run(['dump', '--format', 'json', '--out', out, '--json', '--database-url', src.url, '--env-file', '/nonexistent/.env'])
      expect(d.code).toBe(0)
      const file: string = JSON.parse(d.stdout).dump.path
      const r = await run(['restore', file, '--database', target, '--yes', '--database-url', src.url, '--env-file', '/nonexistent/.env'])
      expect(r.code).toBe(0)
      const t = connectTo(target, 1)
      try {
        const [row] = await t<{ d: unknown }[]>`select signals_data as d from signal_archives where archive_month = '2026-01'`
        expect(row!.d).toEqual(signals)
        expect(await tableStats(t, await tableInfo(t))).toEqual(await tableStats(src.sql, await tableInfo(src.sql)))
      } finally {
        await t.end()
      }
    } finally {
      await src.drop()
      await dropDatabases(target)
      rmrf(out)
    }
  })
})
