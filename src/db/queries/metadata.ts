/** system_metadata: the last run of each step, as in the seed, plus internal markers. */
import type { Q } from '../client.ts'

export async function setMetadata(sql: Q, values: Readonly<Record<string, string>>): Promise<void> {
  const rows = Object.entries(values).map(([key, value]) => ({ key, value }))
  if (!rows.length) return
  await sql`
    insert into system_metadata ${sql(rows, 'key', 'value')}
    on conflict (key) do update set value = excluded.value, updated_at = now()`
}

export async function getMetadata(sql: Q): Promise<Record<string, string>> {
  const rows = await sql`select key, value from system_metadata order by key collate "C"`
  return Object.fromEntries(rows.map((r) => [String(r.key), String(r.value)]))
}

export async function getMetadataValue(sql: Q, key: string): Promise<string | null> {
  const [r] = await sql`select value from system_metadata where key = ${key}`
  return r ? String(r.value) : null
}
