#!/usr/bin/env bun
/**
 * Start-up benchmark of the compiled binary (a benchmark, not a timed test):
 * the median wall time of `prescient --version` and `prescient --help` over N
 * runs each, next to a compiled Bun hello-world built in the same run, so the
 * figure separates "Bun runtime start" from "prescient's own start-up".
 *
 *   bun scripts/bench-startup.ts [--runs 20] [--binary dist/prescient-linux-x64] [--json] [--variants]
 *
 * Without --binary the host binary is built first into a temp folder. --variants also
 * builds and times the binary without chunk splitting and/or without bytecode. Run heavy
 * benchmarks one at a time machine-wide: `flock /tmp/prescient-bench.lock bun scripts/bench-startup.ts`.
 * Targets: --version <= 50 ms, --help <= 80 ms (median).
 */
import { cpus, tmpdir, totalmem } from 'node:os'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { buildBinaries, hostTarget } from './build.ts'

export const TARGET_MS = { version: 50, help: 80 } as const

export interface Stats {
  runs: number
  median_ms: number
  min_ms: number
  p90_ms: number
  max_ms: number
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
  const r = (x: number) => Math.round(x * 10) / 10
  return { runs: s.length, median_ms: r(median), min_ms: r(s[0]!), p90_ms: r(at(0.9)), max_ms: r(s[s.length - 1]!) }
}

/** Wall time of one spawn, from fork to exit; stdout is drained so a pipe never blocks. */
function timeOnce(cmd: string[], cwd: string): number {
  const t0 = performance.now()
  const r = Bun.spawnSync(cmd, { cwd, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1' } })
  const ms = performance.now() - t0
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${r.stderr.toString()}`)
  return ms
}

export function measure(cmd: string[], runs: number, cwd: string): Stats {
  for (let i = 0; i < 3; i++) timeOnce(cmd, cwd) // warm the page cache
  return stats(Array.from({ length: runs }, () => timeOnce(cmd, cwd)))
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const runs = Number(flag(argv, '--runs') ?? 20)
  const work = mkdtempSync(join(tmpdir(), 'prescient-bench-startup-'))
  try {
    let binary = flag(argv, '--binary')
    if (binary) binary = resolve(binary)
    else {
      const [b] = await buildBinaries({ targets: [hostTarget()], outdir: work, log: () => {} })
      binary = b!.path
    }
    // The baseline: the same runtime, compiled the same way, doing nothing.
    const hello = join(work, 'hello.ts')
    writeFileSync(hello, "console.log('hello')\n")
    const helloBin = join(work, process.platform === 'win32' ? 'hello.exe' : 'hello')
    const r = await Bun.build({ entrypoints: [hello], target: 'bun', minify: true, compile: { outfile: helloBin, autoloadDotenv: false, autoloadBunfig: false } })
    if (!r.success) throw new Error('building the hello-world baseline failed')

    if (argv.includes('--variants')) {
      // Why the build splits chunks and compiles to bytecode: the same binary built four ways.
      const variants = { plain: { splitting: false, bytecode: false }, splitting: { splitting: true, bytecode: false }, bytecode: { splitting: false, bytecode: true }, 'splitting+bytecode': { splitting: true, bytecode: true } }
      console.log(`${runs} runs each, median (min / p90 / max) ms`)
      for (const [name, opts] of Object.entries(variants)) {
        const [b] = await buildBinaries({ targets: [hostTarget()], outdir: join(work, name), log: () => {}, ...opts })
        for (const args of [['--version'], ['--help']]) {
          const s = measure([b!.path, ...args], runs, work)
          console.log(`${name.padEnd(20)} ${args[0]!.padEnd(10)} ${String(s.median_ms).padStart(6)}  (${s.min_ms} / ${s.p90_ms} / ${s.max_ms})`)
        }
      }
    }
    const result = {
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), platform: `${process.platform}-${process.arch}`, bun: Bun.version },
      runs,
      hello_world: measure([helloBin], runs, work),
      version: measure([binary, '--version'], runs, work),
      help: measure([binary, '--help'], runs, work),
      targets_ms: TARGET_MS,
    }
    const ok = result.version.median_ms <= TARGET_MS.version && result.help.median_ms <= TARGET_MS.help
    if (argv.includes('--json')) console.log(JSON.stringify({ ...result, ok }, null, 2))
    else {
      const m = result.machine
      console.log(`machine: ${m.cpus} cores (${m.cpu_model}), ${m.memory_gib} GiB, ${m.platform}, Bun ${m.bun}; ${runs} runs each, median (min / p90 / max) ms`)
      const row = (name: string, s: Stats, target?: number) =>
        console.log(`${name.padEnd(22)} ${String(s.median_ms).padStart(7)}  (${s.min_ms} / ${s.p90_ms} / ${s.max_ms})${target ? `  target <= ${target} ms: ${s.median_ms <= target ? 'ok' : 'MISSED'}` : ''}`)
      row('hello world (compiled)', result.hello_world)
      row('prescient --version', result.version, TARGET_MS.version)
      row('prescient --help', result.help, TARGET_MS.help)
    }
    process.exitCode = ok ? 0 : 1
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
