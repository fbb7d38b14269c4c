#!/usr/bin/env bun
/**
 * Build the self-contained `prescient` binaries from one script:
 *
 *   bun scripts/build.ts                    linux-x64, windows-x64 and darwin-arm64 into dist/
 *   bun scripts/build.ts --target host      only this machine's binary (what the e2e tests run)
 *   bun scripts/build.ts --target windows-x64,linux-x64 --outdir /tmp/out
 *
 * Cross-compiling fetches the target's Bun runtime (@oven/bun-<target>) from the
 * npm registry once and caches it under $BUN_INSTALL/install/cache (~/.bun).
 * Everything is bundled: the lazily imported commands, the SQL migrations and the
 * sample snapshot (text imports). The binary reads no file next to the source, and
 * does not let Bun auto-load .env or bunfig.toml from the working directory:
 * src/config.ts reads .env itself (CRLF, BOM, --env-file, the documented precedence).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')
const ENTRY = join(ROOT, 'src', 'cli.ts')

export const TARGETS = {
  'linux-x64': { bun: 'bun-linux-x64', file: 'prescient-linux-x64' },
  'windows-x64': { bun: 'bun-windows-x64', file: 'prescient-windows-x64.exe' },
  'darwin-arm64': { bun: 'bun-darwin-arm64', file: 'prescient-darwin-arm64' },
  'linux-arm64': { bun: 'bun-linux-arm64', file: 'prescient-linux-arm64' },
  'darwin-x64': { bun: 'bun-darwin-x64', file: 'prescient-darwin-x64' },
} as const
export type TargetName = keyof typeof TARGETS
/** What `npm run build` ships. */
export const RELEASE: readonly TargetName[] = ['linux-x64', 'windows-x64', 'darwin-arm64']

export function hostTarget(): TargetName {
  const name = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  if (!(name in TARGETS)) throw new Error(`no prescient build target for this machine (${name})`)
  return name as TargetName
}

/** The commit baked into `--version`; "unknown" outside a git checkout. */
export function gitCommit(cwd = ROOT): string {
  try {
    const r = Bun.spawnSync(['git', 'rev-parse', '--short=12', 'HEAD'], { cwd, stdout: 'pipe', stderr: 'ignore' })
    const sha = r.stdout.toString().trim()
    return r.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(sha) ? sha : 'unknown'
  } catch {
    return 'unknown'
  }
}

export interface BuildOptions {
  targets: readonly TargetName[]
  outdir: string
  commit?: string
  minify?: boolean
  bytecode?: boolean
  splitting?: boolean
  log?: (line: string) => void
}

export interface Built {
  target: TargetName
  path: string
  bytes: number
  sha256: string
  ms: number
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

export async function buildBinaries(o: BuildOptions): Promise<Built[]> {
  const log = o.log ?? ((l: string) => console.error(l))
  const commit = o.commit ?? gitCommit()
  mkdirSync(o.outdir, { recursive: true })
  const out: Built[] = []
  const host = hostTarget()
  for (const target of o.targets) {
    const t = TARGETS[target]
    const outfile = join(o.outdir, t.file)
    rmSync(outfile, { force: true })
    const started = performance.now()
    const result = await Bun.build({
      entrypoints: [ENTRY],
      target: 'bun',
      format: 'esm',
      minify: o.minify ?? true,
      // Start-up: split chunks keep the lazily imported commands (postgres.js, prompts)
      // out of what `--version`/`--help` load, and bytecode skips parsing at run time.
      // Bytecode only for the machine's own target: JSC bytecode made by a cross-compile
      // has crashed executables at launch on the target OS (oven-sh/bun#18416, #24178).
      splitting: o.splitting ?? true,
      bytecode: o.bytecode ?? target === host,
      define: { PRESCIENT_COMMIT: JSON.stringify(commit) },
      compile: { target: t.bun, outfile, autoloadDotenv: false, autoloadBunfig: false },
      throw: false,
    })
    if (!result.success) {
      for (const m of result.logs) log(String(m))
      throw new Error(`build for ${target} failed`)
    }
    const built = { target, path: outfile, bytes: statSync(outfile).size, sha256: sha256(outfile), ms: Math.round(performance.now() - started) }
    const bc = (o.bytecode ?? target === host) ? ', bytecode' : ''
    log(`built ${basename(outfile)} (${(built.bytes / 2 ** 20).toFixed(1)} MiB, ${built.ms} ms, commit ${commit}${bc})`)
    out.push(built)
  }
  // sha256sum format: "<hex>  <name>", checkable with `sha256sum -c sha256sums.txt` in the folder.
  writeFileSync(join(o.outdir, 'sha256sums.txt'), out.map((b) => `${b.sha256}  ${basename(b.path)}\n`).join(''))
  return out
}

export function parseTargets(spec: string | undefined): TargetName[] {
  if (!spec || spec === 'all') return [...RELEASE]
  return spec.split(',').map((s) => {
    const name = s.trim() === 'host' ? hostTarget() : s.trim()
    if (!(name in TARGETS)) throw new Error(`unknown --target ${s}; use host, all or one of ${Object.keys(TARGETS).join(', ')}`)
    return name as TargetName
  })
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`))
  if (i < 0) return undefined
  const a = argv[i]!
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1]
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  if (argv.includes('--help')) {
    console.log('usage: bun scripts/build.ts [--target host|all|linux-x64,windows-x64,darwin-arm64] [--outdir dist] [--no-minify] [--bytecode|--no-bytecode] [--no-splitting]')
    process.exit(0)
  }
  try {
    await buildBinaries({
      targets: parseTargets(flag(argv, '--target')),
      outdir: resolve(flag(argv, '--outdir') ?? join(ROOT, 'dist')),
      minify: !argv.includes('--no-minify'),
      bytecode: argv.includes('--no-bytecode') ? false : argv.includes('--bytecode') ? true : undefined,
      splitting: !argv.includes('--no-splitting'),
    })
  } catch (err) {
    console.error(`build failed: ${(err as Error).message}`)
    process.exit(1)
  }
}
