/**
 * The "database is behind" marker. While JSON is the source of truth, a cycle
 * sets it before writing JSON and clears it after the DB commit; a failed or
 * interrupted DB write therefore leaves it set, and the next cycle (or
 * `prescient sync`) brings the database level before trading.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface BehindInfo {
  since: string
  reason: string
  phase: number
}

const path = (dataDir: string) => join(dataDir, '.prescient', 'db-behind.json')

export function readBehind(dataDir: string): BehindInfo | null {
  const p = path(dataDir)
  if (!existsSync(p)) return null
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as BehindInfo
  } catch {
    return { since: 'unknown', reason: 'unreadable marker', phase: -1 }
  }
}

export function markBehind(dataDir: string, reason: string, phase: number): void {
  const existing = readBehind(dataDir)
  const info: BehindInfo = existing ?? { since: new Date().toISOString(), reason, phase }
  if (existing) info.reason = reason
  const p = path(dataDir)
  mkdirSync(join(dataDir, '.prescient'), { recursive: true })
  writeFileSync(`${p}.tmp`, JSON.stringify(info))
  renameSync(`${p}.tmp`, p)
}

export function clearBehind(dataDir: string): void {
  try {
    unlinkSync(path(dataDir))
  } catch {
    // already clear
  }
}
