#!/usr/bin/env bun
/**
 * The entry point and compile target. Parses the command name, loads only that
 * command, runs it, and maps errors to the documented exit codes (citty's own
 * runMain would exit 1 for everything).
 */
import { renderUsage, runCommand, type CommandDef } from 'citty'
import { commands, summaries } from '../commands/index.ts'
import { Exit, PrescientError, errorMessage } from './errors.ts'
import { logger } from './logger.ts'
import { mask } from './mask.ts'
import { versionLine } from './version.ts'

function rootHelp(): string {
  const width = Math.max(...Object.keys(summaries).map((k) => k.length))
  const lines = Object.entries(summaries).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
  return [
    `${versionLine()}: paper trading for Polymarket, and its JSON -> PostgreSQL migration toolkit`,
    '',
    'USAGE  prescient <command> [options]',
    '',
    'COMMANDS',
    ...lines,
    '',
    'Run `prescient <command> --help` for the options of one command.',
    'Exit codes: 0 ok, 1 runtime error, 2 usage or configuration, 3 verify found differences,',
    '            4 another cycle holds the lock, 5 database required but unreachable.',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(rootHelp() + '\n')
    return Exit.ok
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(versionLine() + '\n')
    return Exit.ok
  }
  const debug = argv.includes('--debug')
  try {
    const load = commands[name]
    if (!load) throw new PrescientError(`unknown command "${name}"`, Exit.usage, `commands: ${Object.keys(commands).join(', ')}`)
    const cmd: CommandDef<any> = await load()
    if (rest.includes('--help') || rest.includes('-h')) {
      const usage = await renderUsage(cmd)
      // citty colours unconditionally; a pipe or a log file gets plain text
      process.stdout.write((process.stdout.isTTY ? usage : usage.replace(/\x1b\[[0-9;]*m/g, '')) + '\n')
      return Exit.ok
    }
    const { result } = await runCommand(cmd, { rawArgs: rest })
    return typeof result === 'number' ? result : Exit.ok
  } catch (err) {
    return reportError(err, debug)
  }
}

export function reportError(err: unknown, debug = false): number {
  if (err instanceof PrescientError) {
    logger.error(mask(err.message))
    if (err.hint) logger.info(mask(err.hint))
    if (debug && err.cause instanceof Error && err.cause.stack) logger.debug(mask(err.cause.stack))
    return err.exitCode
  }
  const e = err as { name?: string; code?: string }
  if (e?.name === 'CLIError' || e?.code === 'EARG') {
    logger.error(mask(errorMessage(err)))
    logger.info('run with --help to see the options')
    return Exit.usage
  }
  logger.error(mask(errorMessage(err)))
  if (debug && err instanceof Error && err.stack) logger.log(mask(err.stack))
  else logger.info('run again with --debug for the stack trace')
  return Exit.runtime
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2))
  process.exit(code)
}
