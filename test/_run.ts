/** Run the CLI in-process, as a user would, with its output captured. */
import { main } from '../src/cli.ts'

export interface MainRun {
  code: number
  stdout: string
  stderr: string
}

/** `main(argv)` with stdout and stderr captured; CI is set so nothing prompts. */
export async function runMain(argv: string[], env: Record<string, string | undefined> = {}): Promise<MainRun> {
  const out: string[] = []
  const err: string[] = []
  const w1 = process.stdout.write
  const w2 = process.stderr.write
  const saved: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries({ CI: process.env.CI ?? '1', ...env })) {
    saved[k] = process.env[k]
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  process.stdout.write = ((c: unknown) => (out.push(typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString()), true)) as typeof process.stdout.write
  process.stderr.write = ((c: unknown) => (err.push(typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString()), true)) as typeof process.stderr.write
  try {
    const code = await main(argv)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = w1
    process.stderr.write = w2
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
