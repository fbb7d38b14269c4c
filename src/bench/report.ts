/** The shape every benchmark returns, the machine it ran on, and its rendering. */
import { cpus, platform, release, totalmem } from 'node:os'
import type { Sql } from '../db/client.ts'
import { renderTable, type Cell } from '../output.ts'

export interface Machine {
  cores: number
  memory_gib: number
  os: string
  bun: string
  postgres: string
}

export interface Target {
  what: string
  target: string
  measured: string
  met: boolean
}

export interface BenchReport {
  bench: 'reads' | 'import' | 'cycle' | 'dump'
  rows: number
  machine: Machine
  head: string[]
  table: Cell[][]
  /** the raw figures, for --json and for the README */
  figures: Record<string, number | string | null>
  targets: Target[]
  notes: string[]
  /** the scratch database and folder the run made (and removed) */
  scratch?: { database: string; dir: string }
}

export async function machine(sql: Sql): Promise<Machine> {
  const [r] = await sql`select current_setting('server_version') as v`
  return {
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    bun: Bun.version,
    postgres: `PostgreSQL ${String(r!.v).split(' ')[0]}`,
  }
}

export const machineLine = (m: Machine) => `${m.cores} cores, ${m.memory_gib} GiB, ${m.os}, Bun ${m.bun}, ${m.postgres}`

export function renderBench(r: BenchReport): string {
  const parts = [renderTable(r.head, r.table, { title: `prescient bench ${r.bench}${r.bench === 'cycle' ? '' : ` (${r.rows.toLocaleString('en-US')} trades)`} on ${machineLine(r.machine)}` })]
  if (r.targets.length) {
    parts.push(renderTable(['target', 'wanted', 'measured', 'met'], r.targets.map((t) => [t.what, t.target, t.measured, t.met ? '✓' : '✗ missed'])))
  }
  if (r.notes.length) parts.push(r.notes.map((n) => `- ${n}`).join('\n'))
  return parts.join('\n\n')
}
