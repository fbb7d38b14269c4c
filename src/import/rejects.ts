/**
 * The rejects file: one JSON line per record that was not loaded, saying where
 * it is (file, index, JSON path), what it was and why. Created on the first
 * reject only, so a clean import leaves nothing behind.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'

export interface Reject {
  table: string
  /** the JSON file, relative to the data dir */
  file: string
  /** the element's index in the file's top-level array (null for a top-level object) */
  index: number | null
  /** JSON path of the offending value, e.g. $[12].amount */
  path: string
  reason: string
  /** the record as it was read */
  value: unknown
}

/** `.prescient/rejects/import-2025-01-31T12-00-00-000Z.jsonl`: no colons, so it is a valid Windows name too. */
export const rejectsPath = (dataDir: string, at = new Date()) =>
  join(dataDir, '.prescient', 'rejects', `import-${at.toISOString().replace(/[:.]/g, '-')}.jsonl`)

export class RejectLog {
  count = 0
  private out: WriteStream | undefined
  private opened = false

  constructor(readonly path: string) {}

  /** Path of the file, or null while nothing was rejected. */
  get file(): string | null {
    return this.opened ? this.path : null
  }

  add(r: Reject): void | Promise<void> {
    this.count++
    if (!this.out) {
      mkdirSync(join(this.path, '..'), { recursive: true })
      this.out = createWriteStream(this.path, { flags: 'a' })
      this.opened = true
    }
    let line: string
    try {
      line = JSON.stringify(r)
    } catch {
      line = JSON.stringify({ ...r, value: String(r.value) })
    }
    if (!this.out.write(line + '\n')) return once(this.out, 'drain').then(() => {})
  }

  async close(): Promise<void> {
    if (!this.out) return
    const out = this.out
    this.out = undefined
    out.end()
    await once(out, 'finish')
  }
}
