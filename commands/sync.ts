import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, phaseArgs, yesArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { closeQuietly, connectChecked, type Sql } from '../src/db/client.ts'
import { assertSchemaCurrent } from '../src/db/migrations.ts'
import { requireDb } from '../src/db/require.ts'
import { usageError } from '../src/errors.ts'
import { acquireLock, type Lock } from '../src/lock.ts'
import { logger } from '../src/logger.ts'
import { printJson, printTable } from '../src/output.ts'
import { jsonIsTruth, phaseRow } from '../src/phase.ts'
import { syncDbToJson, syncJsonToDb } from '../src/sync.ts'

let sql: Sql | undefined
let lock: Lock | undefined

export default defineCommand({
  meta: {
    name: 'sync',
    description:
      'Bring the database level with the JSON files (phases 1-5, where JSON is the truth): upserts every row of the ' +
      "phase's groups in one transaction. Cycles do this by themselves after a failed DB write; run it by hand to check. " +
      'With --from-db, rewrite the JSON files from PostgreSQL instead: do that before rolling back from phase 6 or 7.',
  },
  args: {
    'from-db': { type: 'boolean', description: 'Copy PostgreSQL into the JSON files (for a rollback from phase 6/7)' },
    ...phaseArgs,
    ...dataDirArgs,
    ...yesArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    const db = requireDb(config, 'sync')
    const row = phaseRow(config.phase)
    if (!args['from-db'] && !jsonIsTruth(row)) {
      throw usageError(`phase ${row.phase} does not write JSON, so JSON cannot be synced into the database`, 'to refresh the JSON files from PostgreSQL use `prescient sync --from-db`')
    }
    if (!args['from-db'] && !row.dbWrites.length) throw usageError('phase 0 writes nothing to the database; pass --phase N (1-5) for the groups to sync')
    if (args['from-db'] && !args.yes) {
      throw usageError('`sync --from-db` overwrites the JSON files with the database contents', 'pass --yes to confirm (take a copy of the data dir first)')
    }
    lock = acquireLock(config.dataDir, 'sync')
    sql = await connectChecked(db)
    await assertSchemaCurrent(sql)
    const report = args['from-db'] ? await syncDbToJson(sql, config.dataDir) : await syncJsonToDb(config.dataDir, sql, row.dbWrites)
    if (args.json) printJson(report)
    else {
      printTable(['table', 'rows'], Object.entries(report.rows))
      logger.success(`${report.direction === 'json-to-db' ? 'database is level with JSON' : 'JSON files rewritten from the database'} (${report.groups.join(', ')})`)
    }
    return 0
  },
  async cleanup() {
    await closeQuietly(sql)
    lock?.release()
  },
})
