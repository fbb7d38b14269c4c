/** The human rendering of a VerifyReport: the summary table, then the first differences. */
import { renderTable } from '../output.ts'
import type { VerifyReport } from './index.ts'

const MARK = { equal: '✓', different: '✗', 'db-only': 'DB-only' } as const

/** Long values (JSONB) are cut for the terminal; --json carries them whole. */
const cut = (s: string | null, max = 60) => (s === null ? 'null' : s.length > max ? `${s.slice(0, max - 3)}...` : s)

export function renderVerify(r: VerifyReport): string {
  const summary = renderTable(
    ['table', 'json', 'db', 'missing in DB', 'missing in JSON', 'differing', 'status'],
    r.tables.map((t) => [
      t.table,
      t.json ?? '-',
      t.db,
      t.status === 'db-only' ? '-' : t.missing_in_db,
      t.status === 'db-only' ? '-' : t.missing_in_json,
      t.status === 'db-only'
        ? '-'
        : `${t.differing ?? 0}${t.duplicates_in_json ? ` (+${t.duplicates_in_json} duplicate keys)` : ''}${t.invalid_in_json ? ` (+${t.invalid_in_json} invalid records)` : ''}`,
      MARK[t.status],
    ]),
  )
  const rows = r.tables.flatMap((t) =>
    t.differences.map((d) =>
      d.kind !== 'differs'
        ? [t.table, d.key, `(${d.kind})`, d.json ?? '-', d.db ?? '-']
        : d.at
          ? [t.table, d.key, `${d.column} ${d.at.path}`, cut(d.at.json), cut(d.at.db)]
          : [t.table, d.key, d.column, cut(d.json), cut(d.db)],
    ),
  )
  if (!rows.length) return summary
  const shown = r.tables.filter((t) => t.differences.length).map((t) => `${t.table}: ${t.differences.length}`).join(', ')
  return `${summary}\n\n${renderTable(['table', 'key', 'column', 'JSON', 'DB'], rows, { title: `first differences (${shown}; --limit N for more, --json for full values)` })}`
}
