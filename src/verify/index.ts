/**
 * `prescient verify`: every table against its JSON twin, column by column, on
 * values normalised the way the schema stores them. Tables without a twin are
 * reported as DB-only with their row counts.
 */
import type { Q } from '../db/client.ts'
import { usageError } from '../errors.ts'
import { logger } from '../logger.ts'
import { compareTable, type CompareResult, type Difference } from './compare.ts'
import { dbCount } from './db-side.ts'
import { TABLE_NAMES, TABLES, tableSpec, type TableSpec } from './tables.ts'

export type TableStatus = 'equal' | 'different' | 'db-only'

export interface TableReport extends Partial<Omit<CompareResult, 'json' | 'db' | 'differences'>> {
  table: string
  twin: string | null
  status: TableStatus
  json: number | null
  db: number
  differences: Difference[]
  note?: string
  elapsed_ms: number
}

export interface VerifyReport {
  data_dir: string
  equal: boolean
  tables: TableReport[]
  elapsed_ms: number
}

export interface VerifyOptions {
  /** one table; all when absent */
  table?: string
  /** differences listed per table */
  limit?: number
}

export function selectTables(name?: string): readonly TableSpec[] {
  if (name === undefined) return TABLES
  const spec = tableSpec(name)
  if (!spec) throw usageError(`unknown table "${name}"`, `valid tables: ${TABLE_NAMES.join(', ')}`)
  return [spec]
}

export async function verify(sql: Q, dataDir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const specs = selectTables(opts.table)
  const limit = opts.limit ?? 10
  const t0 = performance.now()
  const tables: TableReport[] = []
  for (const spec of specs) {
    const t1 = performance.now()
    if (spec.dbOnly) {
      tables.push({ table: spec.name, twin: null, status: 'db-only', json: null, db: await dbCount(sql, spec.name), differences: [], note: spec.note, elapsed_ms: 0 })
      continue
    }
    const r = await compareTable(sql, spec, dataDir, limit)
    const equal = r.missing_in_db + r.missing_in_json + r.differing + r.duplicates_in_json + r.invalid_in_json === 0
    const report: TableReport = { table: spec.name, twin: spec.twin, status: equal ? 'equal' : 'different', ...r, elapsed_ms: Math.round(performance.now() - t1) }
    logger.debug(`verify ${spec.name}: ${r.json} JSON rows, ${r.db} DB rows, ${r.buckets_rechecked}/${r.buckets} buckets rechecked, ${report.elapsed_ms} ms`)
    tables.push(report)
  }
  return { data_dir: dataDir, equal: tables.every((t) => t.status !== 'different'), tables, elapsed_ms: Math.round(performance.now() - t0) }
}
