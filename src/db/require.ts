import type { Config, DbConfig } from '../config.ts'
import { usageError } from '../errors.ts'

/** Commands that only make sense with a database say so by name. */
export function requireDb(config: Config, command: string): DbConfig {
  if (!config.db) {
    throw usageError(
      `\`prescient ${command}\` needs a database, and none is configured`,
      'set DATABASE_URL (or POSTGRES_HOST/POSTGRES_DB/POSTGRES_USER/POSTGRES_PASSWORD) in .env, pass --database-url, or run `prescient setup`',
    )
  }
  return config.db
}
