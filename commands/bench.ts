import { defineCommand } from 'citty'
import { debugArgs, envArgs, jsonArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { usageError } from '../src/errors.ts'
import { printJson, printLine } from '../src/output.ts'

const BENCHES = ['reads', 'import', 'cycle', 'dump'] as const

export default defineCommand({
  meta: {
    name: 'bench',
    description:
      'Measure JSON against PostgreSQL on a synthetic history of N trades, built in a temporary folder and a temporary database ' +
      '(created on the server of PRESCIENT_BENCH_ADMIN_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres) ' +
      'and removed afterwards, even on failure or Ctrl-C. reads: four reads, JSON store vs indexed queries; ' +
      'import: `prescient import` vs `psql \\copy` of the same rows, peak RSS, and `verify` of them; cycle: phase 4 vs phase 0 on one snapshot; ' +
      'dump: `prescient dump --format json` vs `pg_dump --format plain` of the same trades, with peak RSS.',
  },
  args: {
    what: { type: 'positional', required: true, valueHint: 'reads|import|cycle|dump', description: 'The benchmark to run' },
    task: { type: 'positional', required: false, description: '(internal)' },
    rows: { type: 'string', valueHint: 'N', description: 'Synthetic trades for reads, import and dump (default 1,000,000)' },
    source: { type: 'string', valueHint: 'FILE', description: 'Recorded snapshot for cycle (default: the bundled sample)' },
    reps: { type: 'string', valueHint: 'N', description: 'Repetitions per phase for cycle (default 7), per dump for dump (default 5)' },
    'data-dir': { type: 'string', description: '(internal, for the measured child process)' },
    out: { type: 'string', description: '(internal, for the measured child process)' },
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    const what = String(args.what)
    if (what === '_child') {
      // The measured half of `bench import` and `bench dump`, in its own process so its peak RSS is its own.
      const { runChildTask } = await import('../src/bench/child.ts')
      printLine(await runChildTask(configFrom(args), String(args.task), args['data-dir']!, { out: args.out }))
      return 0
    }
    if (!(BENCHES as readonly string[]).includes(what)) throw usageError(`unknown benchmark "${what}"`, `choose one of: ${BENCHES.join(', ')}`)
    const rows = whole(args.rows, 1_000_000, '--rows', 1)
    const reps = whole(args.reps, what === 'dump' ? 5 : 7, '--reps', 1)
    const config = configFrom(args)
    const { withBenchEnv } = await import('../src/bench/env.ts')
    const { renderBench } = await import('../src/bench/report.ts')
    let scratch = { database: '', dir: '' }
    const report = await withBenchEnv(config, what, async (env) => {
      scratch = { database: env.db.database, dir: env.dir }
      if (what === 'reads') return (await import('../src/bench/reads.ts')).benchReads(env, { rows })
      if (what === 'import') return (await import('../src/bench/import.ts')).benchImport(env, { rows })
      if (what === 'dump') return (await import('../src/bench/dump.ts')).benchDump(env, { rows, reps })
      return (await import('../src/bench/cycle.ts')).benchCycle(env, { source: args.source ?? 'sample', reps })
    })
    report.scratch = scratch
    report.notes.push(`scratch database ${scratch.database} and folder ${scratch.dir}: removed`)
    if (args.json) printJson(report)
    else printLine(renderBench(report))
    return 0
  },
})

function whole(raw: string | undefined, fallback: number, flag: string, min: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw.replace(/[_,]/g, ''))
  if (!Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number >= ${min}, got ${JSON.stringify(raw)}`)
  return n
}
