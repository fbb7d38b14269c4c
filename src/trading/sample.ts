/**
 * The bundled sample snapshot, embedded in the binary as text. A compiled
 * binary has no files next to it, so the text is materialised into the temp
 * folder once (keyed by content hash) and read from there like any recorded file.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import openText from '../../data/sample/markets_open.json' with { type: 'text' }
import resolvedText from '../../data/sample/markets_resolved.json' with { type: 'text' }

const SAMPLES: Record<string, string> = {
  sample: openText as unknown as string,
  'sample:open': openText as unknown as string,
  'sample:resolved': resolvedText as unknown as string,
}

export const isSampleSpec = (spec: string) => spec in SAMPLES

export function samplePath(spec = 'sample'): string {
  const text = SAMPLES[spec]
  if (text === undefined) throw new RangeError(`unknown sample ${spec}`)
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12)
  const dir = join(tmpdir(), 'prescient-sample')
  const path = join(dir, `${spec.replace(':', '-')}-${hash}.json`)
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true })
    const tmp = `${path}.${process.pid}.tmp`
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  }
  return path
}
