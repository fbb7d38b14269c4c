/** system_metadata: the last run of each step, as in the seed, plus internal markers. */
import type { Q } from '../client.ts'
import type { Fragment } from './_util.ts'

/** setMetadata as one part of a single-statement commit (allInOne); [] when there is nothing to set. */
export function setMetadataParts(sql: Q, values: Readonly<Record<string, string>>): Fragment[] {
  const rows = Object.entries(values).map(([key, value]) => ({ key, value }))
  if (!rows.length) return []
  return [sql`
    insert into system_metadata ${sql(rows, 'key', 'value')}
    on conflict (key) do update set value = excluded.value, updated_at = now()`]
}

export async function setMetadata(sql: Q, values: Readonly<Record<string, string>>): Promise<void> {
  for (const part of setMetadataParts(sql, values)) await part
}

export async function getMetadata(sql: Q): Promise<Record<string, string>> {
  const rows = await sql`select key, value from system_metadata order by key collate "C"`
  return Object.fromEntries(rows.map((r) => [String(r.key), String(r.value)]))
}

export async function getMetadataValue(sql: Q, key: string): Promise<string | null> {
  const [r] = await sql`select value from system_metadata where key = ${key}`
  return r ? String(r.value) : null
}
