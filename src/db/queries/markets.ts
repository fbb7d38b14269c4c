/**
 * events and markets mirror the current filtered set exactly: upsert the set,
 * then delete every row outside it. So the tables equal filtered_events.json /
 * filtered_markets.json row for row (verify compares them 1:1), while the price
 * history of every market seen stays in market_snapshots, which only grows.
 */
import type { Q } from '../client.ts'
import type { EventRecord, MarketRecord, MarketSnapshot } from '../../domain.ts'
import { batches, dedupeBy, iso, isoN, jsonb, jsonRows, numN, obj, strN, type Fragment, type Row } from './_util.ts'

const EVENT_COLS = ['event_id', 'title', 'slug', 'liquidity', 'volume', 'volume24hr', 'start_date', 'end_date', 'days_until_end', 'event_data', 'is_filtered'] as const
const MARKET_COLS = [
  'market_id', 'question', 'event_id', 'event_title', 'event_end_date', 'liquidity', 'volume', 'volume24hr',
  'yes_price', 'no_price', 'market_conviction', 'market_data', 'is_filtered',
] as const
const SNAPSHOT_COLS = ['market_id', 'timestamp', 'yes_price', 'no_price', 'liquidity', 'volume', 'volume24hr', 'market_conviction'] as const

const eventsOnConflict = (sql: Q) => sql`
  on conflict (event_id) do update set
    title = excluded.title, slug = excluded.slug, liquidity = excluded.liquidity, volume = excluded.volume,
    volume24hr = excluded.volume24hr, start_date = excluded.start_date, end_date = excluded.end_date,
    days_until_end = excluded.days_until_end, event_data = excluded.event_data,
    is_filtered = excluded.is_filtered, updated_at = now()`

const deleteOtherEvents = (sql: Q, rows: readonly EventRecord[]) =>
  sql`delete from events where event_id not in (select jsonb_array_elements_text(${jsonb(sql, rows.map((e) => e.event_id))}))`

export async function replaceEvents(sql: Q, events: readonly EventRecord[]): Promise<void> {
  const rows = dedupeBy(events, (e) => e.event_id)
  for (const chunk of batches(rows, 500)) {
    await sql`insert into events ${sql(chunk.map((e) => ({ ...e, event_data: jsonb(sql, e.event_data) })), ...EVENT_COLS)} ${eventsOnConflict(sql)}`
  }
  await deleteOtherEvents(sql, rows)
}

/** replaceEvents as parts of a single-statement commit (allInOne): the upsert and the delete touch disjoint rows. */
export function replaceEventsParts(sql: Q, events: readonly EventRecord[]): Fragment[] {
  const rows = dedupeBy(events, (e) => e.event_id)
  const upsert = sql`insert into events (${sql(EVENT_COLS)}) ${jsonRows(sql, 'events', EVENT_COLS, rows)} ${eventsOnConflict(sql)}`
  return [...(rows.length ? [upsert] : []), deleteOtherEvents(sql, rows)]
}

export function eventFromRow(r: Row): EventRecord {
  return {
    event_id: String(r.event_id),
    title: String(r.title),
    slug: strN(r.slug),
    liquidity: numN(r.liquidity),
    volume: numN(r.volume),
    volume24hr: numN(r.volume24hr),
    start_date: isoN(r.start_date),
    end_date: isoN(r.end_date),
    days_until_end: numN(r.days_until_end),
    event_data: obj(r.event_data),
    is_filtered: r.is_filtered !== false,
  }
}

/** Ordered by event_id in byte order (JsonStore sorts the same way). */
export async function selectEvents(sql: Q): Promise<EventRecord[]> {
  const rows = await sql`select ${sql(EVENT_COLS)} from events order by event_id collate "C"`
  return rows.map(eventFromRow)
}

const marketsOnConflict = (sql: Q) => sql`
  on conflict (market_id) do update set
    question = excluded.question, event_id = excluded.event_id, event_title = excluded.event_title,
    event_end_date = excluded.event_end_date, liquidity = excluded.liquidity, volume = excluded.volume,
    volume24hr = excluded.volume24hr, yes_price = excluded.yes_price, no_price = excluded.no_price,
    market_conviction = excluded.market_conviction, market_data = excluded.market_data,
    is_filtered = excluded.is_filtered, updated_at = now()`

const deleteOtherMarkets = (sql: Q, rows: readonly MarketRecord[]) =>
  sql`delete from markets where market_id not in (select jsonb_array_elements_text(${jsonb(sql, rows.map((m) => m.market_id))}))`

export async function replaceMarkets(sql: Q, markets: readonly MarketRecord[]): Promise<void> {
  const rows = dedupeBy(markets, (m) => m.market_id)
  for (const chunk of batches(rows, 500)) {
    await sql`insert into markets ${sql(chunk.map((m) => ({ ...m, market_data: jsonb(sql, m.market_data) })), ...MARKET_COLS)} ${marketsOnConflict(sql)}`
  }
  await deleteOtherMarkets(sql, rows)
}

/** replaceMarkets as parts of a single-statement commit (allInOne): the upsert and the delete touch disjoint rows. */
export function replaceMarketsParts(sql: Q, markets: readonly MarketRecord[]): Fragment[] {
  const rows = dedupeBy(markets, (m) => m.market_id)
  const upsert = sql`insert into markets (${sql(MARKET_COLS)}) ${jsonRows(sql, 'markets', MARKET_COLS, rows)} ${marketsOnConflict(sql)}`
  return [...(rows.length ? [upsert] : []), deleteOtherMarkets(sql, rows)]
}

export function marketFromRow(r: Row): MarketRecord {
  return {
    market_id: String(r.market_id),
    question: String(r.question),
    event_id: strN(r.event_id),
    event_title: strN(r.event_title),
    event_end_date: isoN(r.event_end_date),
    liquidity: numN(r.liquidity),
    volume: numN(r.volume),
    volume24hr: numN(r.volume24hr),
    yes_price: numN(r.yes_price),
    no_price: numN(r.no_price),
    market_conviction: numN(r.market_conviction),
    market_data: obj(r.market_data),
    is_filtered: r.is_filtered !== false,
  }
}

export async function selectMarkets(sql: Q): Promise<MarketRecord[]> {
  const rows = await sql`select ${sql(MARKET_COLS)} from markets order by market_id collate "C"`
  return rows.map(marketFromRow)
}

/** A time series: a (market_id, timestamp) already stored is kept as it is. */
export async function insertMarketSnapshots(sql: Q, snapshots: readonly MarketSnapshot[]): Promise<void> {
  const rows = dedupeBy(snapshots, (s) => `${s.market_id}\u0000${s.timestamp}`)
  for (const chunk of batches(rows)) {
    await sql`insert into market_snapshots ${sql(chunk, ...SNAPSHOT_COLS)} on conflict (market_id, timestamp) do nothing`
  }
}

/** insertMarketSnapshots as one part of a single-statement commit (allInOne). */
export function insertMarketSnapshotsParts(sql: Q, snapshots: readonly MarketSnapshot[]): Fragment[] {
  const rows = dedupeBy(snapshots, (s) => `${s.market_id}\u0000${s.timestamp}`)
  return rows.length ? [sql`insert into market_snapshots (${sql(SNAPSHOT_COLS)}) ${jsonRows(sql, 'market_snapshots', SNAPSHOT_COLS, rows)} on conflict (market_id, timestamp) do nothing`] : []
}

export async function selectMarketSnapshots(sql: Q, marketId?: string): Promise<MarketSnapshot[]> {
  const rows = await sql`
    select ${sql(SNAPSHOT_COLS)} from market_snapshots
    where ${marketId === undefined ? sql`true` : sql`market_id = ${marketId}`}
    order by timestamp, market_id collate "C"`
  return rows.map((r) => ({
    market_id: String(r.market_id),
    timestamp: iso(r.timestamp),
    yes_price: numN(r.yes_price),
    no_price: numN(r.no_price),
    liquidity: numN(r.liquidity),
    volume: numN(r.volume),
    volume24hr: numN(r.volume24hr),
    market_conviction: numN(r.market_conviction),
  }))
}
