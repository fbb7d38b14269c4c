/** Turn parsed flags into a Config; shared by the commands. */
import { loadConfig, type Config } from '../src/config.ts'
import { enableFileLog } from '../src/logger.ts'

export interface CommonFlags {
  phase?: string
  'data-dir'?: string
  'env-file'?: string
  'database-url'?: string
}

export function configFrom(args: CommonFlags): Config {
  const config = loadConfig({ phase: args.phase, dataDir: args['data-dir'], envFile: args['env-file'], databaseUrl: args['database-url'] })
  // Scheduled runs have no terminal: keep a dated log file for the morning after.
  if (!process.stderr.isTTY && config.env.PRESCIENT_LOG_FILE !== 'off') enableFileLog(config.logDir)
  return config
}
