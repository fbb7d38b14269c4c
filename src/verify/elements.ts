/** TEMPORARY: replaced by the adapter to src/import/stream.ts once it lands. */
import { readFile } from 'node:fs/promises'

export async function* streamElements(path: string): AsyncGenerator<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  yield* JSON.parse(text) as unknown[]
}
