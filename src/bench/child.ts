/**
 * The measured half of `bench import` and `bench dump`: run in a child process
 * (`prescient bench _child import|verify|dump`), so the peak RSS it reports is
 * the work's own and not the generator's or the parent's. Prints one JSON line
 * (ms, max_rss_mb, detail).
 */
import { takeDump } from '../backup/dump.ts'
import type { Config } from '../config.ts'
import { closeQuietly, connectChecked } from '../db/client.ts'
import { requireDb } from '../db/require.ts'
import { usageError } from '../errors.ts'
import { importData } from '../import/index.ts'
import { verify } from '../verify/index.ts'
import { childReport } from './measure.ts'

export async function runChildTask(config: Config, task: string, dataDir: string, opts: { out?: string } = {}): Promise<string> {
  const db = requireDb(config, 'bench')
  if (task === 'import') {
    const t0 = performance.now()
    const r = await importData({ url: db, dataDir, tables: ['trades'] })
    return childReport(performance.now() - t0, { loaded: r.loaded, rejected: r.rejected, ok: r.ok })
  }
  if (task === 'verify') {
    const t0 = performance.now()
    const sql = await connectChecked(db, { max: 2 })
    try {
      const r = await verify(sql, dataDir, { table: 'trades' })
      const t = r.tables[0]!
      return childReport(performance.now() - t0, { equal: r.equal, json: t.json, db: t.db, buckets: t.buckets })
    } finally {
      await closeQuietly(sql)
    }
  }
  if (task === 'dump') {
    // what `prescient dump --format json --out DIR` does
    if (!opts.out) throw usageError('bench _child dump needs --out DIR')
    const t0 = performance.now()
    const sql = await connectChecked(db, { max: 2 })
    try {
      const r = await takeDump(sql, { db, format: 'json', dir: opts.out })
      const rows = Object.values(r.manifestData.tables).reduce((a, t) => a + t.rows, 0)
      return childReport(performance.now() - t0, { file: r.file, bytes: r.manifestData.bytes, rows })
    } finally {
      await closeQuietly(sql)
    }
  }
  throw usageError(`unknown bench child task "${task}"`)
}
