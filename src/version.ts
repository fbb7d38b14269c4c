import pkg from '../package.json' with { type: 'json' }
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

declare const PRESCIENT_COMMIT: string | undefined

/** The commit is baked in by the build; from source it is read from .git. */
function commit(): string {
  if (typeof PRESCIENT_COMMIT === 'string') return PRESCIENT_COMMIT
  try {
    const git = resolve(import.meta.dir, '..', '.git')
    const head = readFileSync(resolve(git, 'HEAD'), 'utf8').trim()
    if (!head.startsWith('ref: ')) return head.slice(0, 12)
    return readFileSync(resolve(git, head.slice(5)), 'utf8').trim().slice(0, 12)
  } catch {
    return 'unknown'
  }
}

export const VERSION = pkg.version
export const versionLine = () => `prescient ${VERSION} (${commit()})`
