import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { closeQuietly, connectChecked, type Sql } from '../src/db/client.ts'
import { assertSchemaCurrent } from '../src/db/migrations.ts'
import { requireDb } from '../src/db/require.ts'
import { Exit, usageError } from '../src/errors.ts'
import { lockIfPresent, type Lock } from '../src/lock.ts'
import { logger } from '../src/logger.ts'
import { printJson, printLine } from '../src/output.ts'
import { selectTables, verify } from '../src/verify/index.ts'
import { renderVerify } from '../src/verify/render.ts'
import { TABLE_NAMES } from '../src/verify/tables.ts'

let sql: Sql | undefined
let lock: Lock | undefined

export default defineCommand({
  meta: {
    name: 'verify',
    description:
      'Compare every table with its JSON twin, row by row and column by column, on values normalised as the schema stores them. ' +
      'Exit 0 when equal, 3 on any difference, 5 when the database is unreachable. Tables without a JSON twin are reported as DB-only.',
  },
  args: {
    table: { type: 'string', valueHint: 'NAME', description: `One table: ${TABLE_NAMES.join(', ')}` },
    limit: { type: 'string', valueHint: 'N', description: 'Differences shown per table (default 10)' },
    ...dataDirArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    selectTables(args.table) // an unknown name is a usage error before anything connects
    const limit = args.limit === undefined ? 10 : Number(args.limit)
    if (!Number.isInteger(limit) || limit < 0) throw usageError(`--limit must be a whole number, got ${JSON.stringify(args.limit)}`)
    const config = configFrom(args)
    const db = requireDb(config, 'verify')
    sql = await connectChecked(db)
    await assertSchemaCurrent(sql)
    // A cycle committing mid-verify would show up as phantom differences.
    lock = lockIfPresent(config.dataDir, 'verify')
    const report = await verify(sql, config.dataDir, { table: args.table, limit })
    if (args.json) printJson({ database: db.database, ...report })
    else {
      printLine(renderVerify(report))
      if (report.equal) logger.success(`JSON and ${db.database} hold the same rows (${(report.elapsed_ms / 1000).toFixed(1)} s)`)
      else logger.warn(`JSON and ${db.database} differ; \`prescient sync\` brings the database level with JSON (phases 1-5)`)
    }
    return report.equal ? Exit.ok : Exit.differences
  },
  async cleanup() {
    await closeQuietly(sql)
    lock?.release()
  },
})
