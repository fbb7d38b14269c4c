/**
 * Rendering for commands: tables and human lines to stdout, one JSON document
 * for --json. Everything printed is masked.
 */
import Table from 'cli-table3'
import { mask, maskDeep } from './mask.ts'

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(maskDeep(value), null, 2) + '\n')
}

export function printLine(text = ''): void {
  process.stdout.write(mask(text) + '\n')
}

export type Cell = string | number | boolean | null | undefined

export function renderTable(head: string[], rows: Cell[][], opts: { title?: string } = {}): string {
  const table = new Table({
    head,
    style: { head: process.stdout.isTTY ? ['cyan'] : [], border: process.stdout.isTTY ? ['grey'] : [] },
  })
  for (const r of rows) table.push(r.map((c) => (c === null || c === undefined ? '' : String(c))))
  return (opts.title ? `${opts.title}\n` : '') + table.toString()
}

export function printTable(head: string[], rows: Cell[][], opts: { title?: string } = {}): void {
  printLine(renderTable(head, rows, opts))
}

export const fmtMoney = (x: number | null | undefined) =>
  x === null || x === undefined ? '' : x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}
