import { defineCommand } from 'citty'
import { debugArgs, dryRunArgs, envArgs, jsonArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { requireDb } from '../src/db/require.ts'
import { closeQuietly, connectChecked, type Sql } from '../src/db/client.ts'
import { migrate, migrationStatus } from '../src/db/migrations.ts'
import { logger } from '../src/logger.ts'
import { printJson, printTable } from '../src/output.ts'

let sql: Sql | undefined

export default defineCommand({
  meta: {
    name: 'migrate',
    description:
      'Apply the schema migrations embedded in this binary, in order, in one transaction, under an advisory lock. ' +
      'Applied files are recorded with a checksum; an edited applied file is refused.',
  },
  args: {
    status: { type: 'boolean', description: 'List each migration as applied, pending or edited; change nothing' },
    ...dryRunArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const config = configFrom(args)
    const db = requireDb(config, 'migrate')
    sql = await connectChecked(db, { max: 1 })
    if (args.status) {
      const status = await migrationStatus(sql)
      if (args.json) printJson({ database: db.database, migrations: status })
      else printTable(['version', 'file', 'state', 'applied at'], status.map((s) => [s.version, s.name, s.state, s.applied_at]))
      return status.some((s) => s.state === 'edited') ? 2 : 0
    }
    const applied = await migrate(sql, { dryRun: args['dry-run'] })
    if (args.json) printJson({ database: db.database, dryRun: !!args['dry-run'], applied })
    else if (!applied.length) logger.success(`schema of ${db.database} is up to date`)
    else logger.success(`${args['dry-run'] ? 'would apply' : 'applied'}: ${applied.join(', ')}`)
    return 0
  },
  async cleanup() {
    await closeQuietly(sql)
  },
})
