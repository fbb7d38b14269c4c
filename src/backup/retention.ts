/**
 * The retention policy, as a pure function over dated items (no files here).
 *
 * Calendar semantics as in restic's `forget --keep-daily/--keep-weekly/--keep-monthly`:
 * walking from the newest dump to the oldest, each rule keeps the newest dump of
 * each of the last N calendar days (ISO weeks, months) *that have dumps*. A dump
 * kept by any rule stays, and the newest dump always stays, whatever the policy.
 * Days, weeks and months are UTC, like the timestamps in the file names.
 */

export interface Policy {
  daily: number
  weekly: number
  monthly: number
}

/** The seed's policy: daily dumps for 30 days, weekly for 6 months (26 weeks). */
export const DEFAULT_POLICY: Policy = { daily: 30, weekly: 26, monthly: 0 }

export interface Dated {
  name: string
  time: Date
}

export interface Decision<T extends Dated> {
  item: T
  keep: boolean
  /** why it stays: "newest", "daily 2026-01-31", "weekly 2026-W05", "monthly 2026-01"; empty when it goes */
  reasons: string[]
}

const pad = (n: number) => String(n).padStart(2, '0')

export const dayOf = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
export const monthOf = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`

/** ISO 8601 week: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeekOf(d: Date): string {
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
  const weekday = (new Date(day).getUTCDay() + 6) % 7 // Monday = 0
  const thursday = new Date(day + (3 - weekday) * 86_400_000)
  const year = thursday.getUTCFullYear()
  const jan4 = Date.UTC(year, 0, 4)
  const week1Monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000
  const week = 1 + Math.round((thursday.getTime() - week1Monday) / (7 * 86_400_000))
  return `${year}-W${pad(week)}`
}

const RULES = [
  { key: 'daily', bucket: dayOf },
  { key: 'weekly', bucket: isoWeekOf },
  { key: 'monthly', bucket: monthOf },
] as const

/** Decide, for every item, whether it stays and which rules keep it. Returned newest first. */
export function applyRetention<T extends Dated>(items: readonly T[], policy: Policy): Decision<T>[] {
  for (const r of RULES) {
    const n = policy[r.key]
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`keep-${r.key} must be a whole number >= 0, got ${n}`)
  }
  const sorted = [...items].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
  const left = { daily: policy.daily, weekly: policy.weekly, monthly: policy.monthly }
  const last: Record<string, string | undefined> = {}
  return sorted.map((item, i) => {
    const reasons: string[] = i === 0 ? ['newest'] : []
    for (const r of RULES) {
      if (left[r.key] <= 0) continue
      const bucket = r.bucket(item.time)
      if (bucket !== last[r.key]) {
        last[r.key] = bucket
        left[r.key]--
        reasons.push(`${r.key} ${bucket}`)
      }
    }
    return { item, keep: reasons.length > 0, reasons }
  })
}
