/** Turn parsed flags into a Config; shared by the commands. */
import { join } from 'node:path'
import { loadConfig, resolvePath, type Config } from '../src/config.ts'
import { enableFileLog } from '../src/logger.ts'

export interface CommonFlags {
  phase?: string
  'data-dir'?: string
  'env-file'?: string
  'database-url'?: string
  'log-file'?: boolean
}

/** Scheduled runs have no terminal (or pass --log-file under conhost): keep a dated log file. */
const wantsFileLog = (args: CommonFlags, env: Record<string, string | undefined>) =>
  env.PRESCIENT_LOG_FILE !== 'off' && (args['log-file'] === true || !process.stderr.isTTY)

export function configFrom(args: CommonFlags): Config {
  let config: Config
  try {
    config = loadConfig({ phase: args.phase, dataDir: args['data-dir'], envFile: args['env-file'], databaseUrl: args['database-url'] })
  } catch (err) {
    // A broken .env in a scheduled run must still leave a line in the log file.
    if (wantsFileLog(args, process.env)) {
      const dataDir = args['data-dir'] ?? process.env.PRESCIENT_DATA_DIR ?? 'data'
      enableFileLog(resolvePath(process.cwd(), process.env.PRESCIENT_LOG_DIR ?? join(dataDir, 'logs')))
    }
    throw err
  }
  if (wantsFileLog(args, config.env)) enableFileLog(config.logDir)
  return config
}
