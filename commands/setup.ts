import { defineCommand } from 'citty'
import { debugArgs, jsonArgs, yesArgs } from './_args.ts'
import { logger } from '../src/logger.ts'
import { printJson, printLine, printTable } from '../src/output.ts'
import { checkInput, runChecks, type CheckLine } from '../src/setup-check.ts'
import { DEFAULT_ADMIN_URL, DEFAULT_DATABASE, DEFAULT_USER, planSetup, runSetup, type Step } from '../src/setup.ts'

const SYMBOL: Record<CheckLine['status'], string> = { ok: '✓', fail: '✗', warn: '!', skip: '-' }

function logStep(s: Step): void {
  const line = `${s.step}: ${s.result}${s.detail ? ` (${s.detail})` : ''}`
  if (s.result === 'warning') logger.warn(line)
  else logger.success(line)
}

export default defineCommand({
  meta: {
    name: 'setup',
    description:
      'Create the application role, the database (owned by the admin), the grants and the schema, and write the POSTGRES_* keys to .env. ' +
      'Idempotent: a second run changes nothing. --check verifies an existing setup instead.',
  },
  args: {
    'admin-url': {
      type: 'string',
      valueHint: 'URL',
      description: `A superuser connection (default: PRESCIENT_ADMIN_URL, else ${DEFAULT_ADMIN_URL}); a missing password is asked for on a terminal`,
    },
    database: { type: 'string', valueHint: 'NAME', description: `Database to create or use (default: POSTGRES_DB in .env, else ${DEFAULT_DATABASE})` },
    user: { type: 'string', valueHint: 'NAME', description: `Application role to create or use (default: POSTGRES_USER in .env, else ${DEFAULT_USER})` },
    password: {
      type: 'string',
      valueHint: 'PW',
      description: "The role's password (default: keep the one in .env for an existing role, else generate one; flags show up in process lists)",
    },
    'env-file': { type: 'string', valueHint: 'FILE', description: 'The .env file to write (default: PRESCIENT_ENV_FILE, else ./.env)' },
    ...yesArgs,
    check: { type: 'boolean', description: 'Verify the setup (server, database, role, login, schema, tables, privileges, .env, disk); change nothing; exit 1 when a required check fails' },
    ...jsonArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const input = {
      adminUrl: args['admin-url'],
      database: args.database,
      user: args.user,
      password: args.password,
      envFile: args['env-file'],
      yes: args.yes,
    }
    if (args.check) {
      const report = await runChecks(checkInput(input))
      if (args.json) printJson(report)
      else {
        printTable(
          ['', 'check', 'detail'],
          report.checks.map((c) => [SYMBOL[c.status], c.check + (c.required ? '' : ' (optional)'), c.detail]),
        )
        printLine(report.ok ? 'all required checks pass' : `${report.checks.filter((c) => c.required && c.status === 'fail').length} required check(s) failed`)
      }
      return report.ok ? 0 : 1
    }
    const plan = await planSetup(input)
    const result = await runSetup(plan, args.json ? () => {} : logStep)
    if (args.json) printJson({ ok: true, ...result })
    else {
      printTable(['step', 'result', 'detail'], result.steps.map((s) => [s.step, s.result, s.detail]))
      logger.info(`the password of ${result.user} is in ${result.envFile} (POSTGRES_PASSWORD); it is never printed`)
      logger.info('next: `prescient setup --check`, then `prescient import --all` and raise the phase (PRESCIENT_PHASE=1)')
    }
    return 0
  },
})
