import { defineCommand } from 'citty'
import { join } from 'node:path'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, phaseArgs, yesArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { resolvePath } from '../src/config.ts'
import { usageError } from '../src/errors.ts'
import { logger } from '../src/logger.ts'
import { printJson, printLine } from '../src/output.ts'
import { ACTIONS, runSchedule, type Action, type ScheduleResult } from '../src/schedule/index.ts'
import { systemRunner } from '../src/schedule/runner.ts'
import { missingEnvFileWarning, parseEvery, parsePlatform, parseTimeOfDay, selfProgram, type ScheduleSpec } from '../src/schedule/spec.ts'
import { userUnitDir } from '../src/schedule/systemd.ts'

export default defineCommand({
  meta: {
    name: 'schedule',
    description:
      'Schedule two jobs: a trading cycle every --every, and a daily `dump --prune` at --backup-at (local time). ' +
      'Windows: Task Scheduler tasks \\Prescient\\Cycle and \\Prescient\\Backup (schtasks, XML in UTF-16). Elsewhere: a block in ' +
      'your crontab, or systemd user timers. The jobs run in the current folder with its .env (absolute paths), with this ' +
      'binary (or, from a checkout, this bun and src/cli.ts). `print` writes and shows everything and runs nothing.',
  },
  args: {
    action: { type: 'positional', required: false, valueHint: 'install|remove|print', description: 'install, remove, or print (write the files, show the commands, run nothing)' },
    every: { type: 'string', valueHint: '15m', default: '15m', description: 'How often the cycle runs: 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h or 12h' },
    'backup-at': { type: 'string', valueHint: 'HH:MM', default: '02:00', description: 'When the daily `dump --prune` runs, local time' },
    platform: { type: 'string', valueHint: 'windows|cron|systemd', description: 'The scheduler (default: windows on Windows, cron elsewhere)' },
    out: { type: 'string', valueHint: 'DIR', description: 'print: where to write the files (default ./schedule for the Windows XML; cron and systemd print to stdout)' },
    ...phaseArgs,
    ...dataDirArgs,
    'env-file': envArgs['env-file'],
    ...yesArgs,
    ...jsonArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const action = (args.action ?? '') as Action
    if (!ACTIONS.includes(action)) throw usageError(`schedule: expected install, remove or print, got ${JSON.stringify(args.action ?? '')}`, 'e.g. `prescient schedule print`')
    // flags first: a typo is reported as such even when the .env is broken
    const every = parseEvery(args.every)
    const backupAt = parseTimeOfDay(args['backup-at'])
    const platform = parsePlatform(args.platform)
    const config = configFrom(args)
    const spec: ScheduleSpec = {
      platform,
      every,
      backupAt,
      program: selfProgram(),
      cwd: config.cwd,
      envFile: config.envFile,
      dataDir: args['data-dir'] ? config.dataDir : undefined,
      phase: args.phase !== undefined && args.phase !== '' ? config.phase : undefined,
      logDir: config.logDir,
    }
    const missing = action === 'remove' ? undefined : missingEnvFileWarning(config.envFile)
    if (missing) logger.warn(missing)
    if (action === 'remove' && !args.yes) {
      const { askConfirm } = await import('../src/prompts.ts')
      if (!(await askConfirm({ message: 'Remove the scheduled prescient jobs?', what: '`schedule remove` deletes the scheduled jobs' }))) return 2
    }
    const result = await runSchedule(action, spec, {
      runner: systemRunner,
      outDir: args.out ? resolvePath(config.cwd, args.out) : platform === 'windows' ? join(config.cwd, 'schedule') : undefined,
      unitDir: userUnitDir(),
      yes: !!args.yes,
    })
    if (args.json) printJson({ ...result, program: spec.program, cwd: spec.cwd, envFile: spec.envFile, logDir: spec.logDir })
    else render(result)
    return 0
  },
})

function render(r: ScheduleResult): void {
  for (const j of r.jobs) {
    printLine(`${j.id.padEnd(6)}  ${j.name}  (${j.when})`)
    printLine(`        ${j.command}`)
  }
  for (const c of r.contents) printLine(`\n# ---- ${c.name}\n${c.text.trimEnd()}`)
  if (r.files.length) printLine(`\n${r.action === 'remove' ? 'deleted' : 'wrote'}:\n${r.files.map((f) => `  ${f}`).join('\n')}`)
  if (r.commands.length) printLine(`\n${r.ran ? 'ran' : r.action === 'print' ? 'to install or remove, run' : 'checked with'}:\n${r.commands.map((c) => `  ${c}`).join('\n')}`)
  for (const n of r.notes) logger.info(n)
  if (r.action !== 'print') logger.success(`${r.platform} schedule ${r.outcome}`)
}
