/** Exit codes are part of the CLI contract: schedulers and scripts branch on them. */
export const Exit = {
  ok: 0,
  runtime: 1,
  usage: 2,
  differences: 3,
  locked: 4,
  dbUnreachable: 5,
} as const
export type ExitCode = (typeof Exit)[keyof typeof Exit]

/**
 * The one error class the CLI renders. `message` is what the user reads; `hint`
 * says what to do next. Stack traces are shown only with --debug.
 */
export class PrescientError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = Exit.runtime,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'PrescientError'
  }
}

export const usageError = (message: string, hint?: string) => new PrescientError(message, Exit.usage, hint)

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
