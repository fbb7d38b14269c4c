/**
 * The only module that imports @clack/prompts. Questions are asked only on a
 * terminal (stdin and stdout are TTYs, CI unset); anywhere else a missing
 * answer is a usage error that names the flag to pass instead, so a scheduled
 * run never hangs waiting for input. Every answer is checked with isCancel:
 * Ctrl-C or Esc ends the command with exit 2 "cancelled".
 */
import { confirm, isCancel, password, text } from '@clack/prompts'
import { Exit, PrescientError, usageError } from './errors.ts'
import { registerSecret } from './mask.ts'

export function isInteractive(): boolean {
  return !!process.stdin.isTTY && !!process.stdout.isTTY && !process.env.CI
}

function cancelled(): never {
  throw new PrescientError('cancelled', Exit.usage)
}

function needFlag(what: string, flag: string): never {
  throw usageError(`${what}: there is no terminal to ask on, pass ${flag}`)
}

export interface AskText {
  message: string
  /** the flag that answers this question without a terminal, e.g. "--database NAME" */
  flag: string
  defaultValue?: string
  validate?: (value: string) => string | undefined
}

/** A line of text; an empty answer takes the default. */
export async function askText(q: AskText): Promise<string> {
  if (!isInteractive()) {
    if (q.defaultValue !== undefined) return q.defaultValue
    needFlag(q.message, q.flag)
  }
  const answer = await text({
    message: q.message,
    placeholder: q.defaultValue,
    defaultValue: q.defaultValue,
    validate: q.validate ? (v) => q.validate!(v ?? q.defaultValue ?? '') : undefined,
  })
  if (isCancel(answer)) cancelled()
  return (answer ?? '') || q.defaultValue || ''
}

/** A secret; registered for masking before anything else sees it. Empty means "none". */
export async function askPassword(q: { message: string; flag: string; optional?: boolean }): Promise<string> {
  if (!isInteractive()) {
    if (q.optional) return ''
    needFlag(q.message, q.flag)
  }
  const answer = await password({ message: q.message })
  if (isCancel(answer)) cancelled()
  const value = answer ?? ''
  registerSecret(value)
  if (!value && !q.optional) needFlag(q.message, q.flag)
  return value
}

/** Yes or no. Without a terminal the caller must have been given --yes, else this names it. */
export async function askConfirm(q: { message: string; flag?: string; initialValue?: boolean; what?: string }): Promise<boolean> {
  if (!isInteractive()) needFlag(q.what ?? 'a confirmation is needed', q.flag ?? '--yes')
  const answer = await confirm({ message: q.message, initialValue: q.initialValue ?? true })
  if (isCancel(answer)) cancelled()
  return answer
}
