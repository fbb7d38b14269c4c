/**
 * Open the database the way a phase needs it: required (exit 5 when down) or
 * optional (phases 1-5: null plus the reason, and the cycle goes on with JSON).
 */
import type { Config } from '../config.ts'
import { errorMessage, Exit, PrescientError } from '../errors.ts'
import { mask } from '../mask.ts'
import { connect, closeQuietly, unreachableError, type Sql } from './client.ts'
import { assertSchemaCurrent } from './migrations.ts'

export type DbHandle = { sql: Sql; error?: undefined } | { sql: null; error: unknown }

export async function openDb(config: Config, required: boolean): Promise<DbHandle> {
  if (!config.db) {
    if (required) throw new PrescientError('no database is configured', Exit.usage, 'run `prescient setup` or set DATABASE_URL in .env')
    return { sql: null, error: new Error('no database configured') }
  }
  // No array types (see ConnectOptions.arrayTypes): the cycle's and the report's queries pass lists as jsonb.
  const sql = connect(config.db, { arrayTypes: false })
  try {
    await sql`select 1`
  } catch (err) {
    await closeQuietly(sql)
    const e = unreachableError(config.db, err)
    if (required) throw e
    return { sql: null, error: e }
  }
  try {
    await assertSchemaCurrent(sql)
  } catch (err) {
    await closeQuietly(sql)
    if (required) throw err
    return { sql: null, error: new Error(mask(errorMessage(err))) }
  }
  return { sql }
}
