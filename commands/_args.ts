/** Argument fragments shared by commands; spread them into `args`. */
import type { ArgDef } from 'citty'

export const jsonArgs = {
  json: { type: 'boolean', description: 'Print one JSON document to stdout instead of tables (logs stay on stderr)' },
} as const satisfies Record<string, ArgDef>

export const dataDirArgs = {
  'data-dir': {
    type: 'string',
    valueHint: 'DIR',
    description: 'Folder holding the JSON files (default: PRESCIENT_DATA_DIR, else ./data)',
  },
} as const satisfies Record<string, ArgDef>

export const phaseArgs = {
  phase: {
    type: 'string',
    valueHint: '0-7',
    description: 'Migration phase (default: PRESCIENT_PHASE, else derived from USE_DATABASE_WRITE/READ; 0 without a database)',
  },
} as const satisfies Record<string, ArgDef>

export const yesArgs = {
  yes: { type: 'boolean', alias: 'y', description: 'Answer yes to every question (required when not on a terminal)' },
} as const satisfies Record<string, ArgDef>

export const dryRunArgs = {
  'dry-run': { type: 'boolean', description: 'Show what would happen; write nothing' },
} as const satisfies Record<string, ArgDef>

export const envArgs = {
  'env-file': { type: 'string', valueHint: 'FILE', description: 'The .env file to read (default: ./.env)' },
  'database-url': { type: 'string', valueHint: 'URL', description: 'PostgreSQL URL; overrides DATABASE_URL and POSTGRES_* (prefer .env: flags show up in process lists)' },
} as const satisfies Record<string, ArgDef>

export const debugArgs = {
  debug: { type: 'boolean', description: 'Show stack traces on errors' },
  'log-file': { type: 'boolean', description: 'Append to the dated log file even on a terminal (scheduled jobs pass it)' },
} as const satisfies Record<string, ArgDef>
