/**
 * The JSON-file store: the seed's files under one data dir. Every read is
 * validated (src/schema/files.ts); every commit writes only its groups' files,
 * each with one atomic write (temp file, fsync, rename).
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { EventRecord, HistoryRow, MarketRecord, Portfolio, Position, Signal, SignalArchive, Trade } from '../domain.ts'
import type { Group } from '../phase.ts'
import { recoverJournal, writeJsonAtomicMany, type JsonWrite } from '../atomic.ts'
import { logger } from '../logger.ts'
import { ARCHIVE_DIR, ARCHIVE_FILE_RE, ArchiveFileSchema, FILES, archiveRel, readJsonFile } from '../schema/files.ts'
import { checkChanges } from './changes.ts'
import type { CommitOptions, CycleChanges, Store, TradeQuery } from './types.ts'

/** Byte-order string compare, the same order as PostgreSQL's COLLATE "C". */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
export const newestFirst = (a: Trade, b: Trade) => cmp(b.timestamp, a.timestamp) || cmp(b.trade_id, a.trade_id)
export const byEntry = (a: Position, b: Position) => cmp(a.entry_timestamp, b.entry_timestamp) || cmp(a.trade_id, b.trade_id)

/** Replace items with the same key in place, append new ones in their order. */
function upsertInto<T>(existing: readonly T[], changes: readonly T[], key: (x: T) => string): T[] {
  const out = [...existing]
  const at = new Map(out.map((x, i) => [key(x), i] as const))
  for (const x of changes) {
    const i = at.get(key(x))
    if (i === undefined) at.set(key(x), out.push(x) - 1)
    else out[i] = x
  }
  return out
}

/** The roll-forward journal of a multi-file commit (src/atomic.ts). */
export const journalPath = (dataDir: string) => join(dataDir, '.prescient', 'commit.journal')

export class JsonStore implements Store {
  readonly kind = 'json'

  constructor(readonly dataDir: string) {
    // a commit a crash cut short between its renames is finished before anything is read
    const n = recoverJournal(journalPath(dataDir))
    if (n) logger.warn(`finished an interrupted JSON commit in ${dataDir} (${n} file${n === 1 ? '' : 's'})`)
  }

  path(rel: string): string {
    return join(this.dataDir, rel)
  }

  async loadPortfolio(): Promise<Portfolio | null> {
    const p = await readJsonFile(this.path(FILES.portfolio.rel), FILES.portfolio.schema, { kind: 'object' })
    return p && { ...p, positions: [...p.positions].sort(byEntry) }
  }

  /** All trades in file order (the order the file keeps). */
  private readTrades(): Promise<Trade[]> {
    return readJsonFile(this.path(FILES.trades.rel), FILES.trades.schema, { kind: 'array' })
  }

  async loadTrades(query: TradeQuery = {}): Promise<Trade[]> {
    const rows = (await this.readTrades())
      .filter((t) => (query.marketId === undefined || t.market_id === query.marketId) && (query.status === undefined || t.status === query.status))
      .sort(newestFirst)
    return query.limit === undefined ? rows : rows.slice(0, Math.max(0, query.limit))
  }

  loadSignals(): Promise<Signal[]> {
    return readJsonFile(this.path(FILES.signals.rel), FILES.signals.schema, { kind: 'array' })
  }

  async loadHistory(): Promise<HistoryRow[]> {
    const rows = await readJsonFile(this.path(FILES.history.rel), FILES.history.schema, { kind: 'array' })
    return rows.sort((a, b) => cmp(a.snapshot_date, b.snapshot_date))
  }

  /** The archive months present, oldest first. */
  async archiveMonths(): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.path(ARCHIVE_DIR))
    } catch {
      return []
    }
    return names.flatMap((n) => ARCHIVE_FILE_RE.exec(n)?.[1] ?? []).sort()
  }

  async loadArchives(): Promise<SignalArchive[]> {
    const all: SignalArchive[] = []
    for (const m of await this.archiveMonths()) all.push(...(await this.readArchive(m)))
    return all.sort((a, b) => cmp(a.archived_at, b.archived_at))
  }

  private readArchive(month: string): Promise<SignalArchive[]> {
    return readJsonFile(this.path(archiveRel(month)), ArchiveFileSchema, { kind: 'array' })
  }

  async loadEvents(): Promise<EventRecord[]> {
    const rows = await readJsonFile(this.path(FILES.events.rel), FILES.events.schema, { kind: 'array' })
    return rows.sort((a, b) => cmp(a.event_id, b.event_id))
  }

  async loadMarkets(): Promise<MarketRecord[]> {
    const rows = await readJsonFile(this.path(FILES.markets.rel), FILES.markets.schema, { kind: 'array' })
    return rows.sort((a, b) => cmp(a.market_id, b.market_id))
  }

  /** The JSON twin of system_metadata; an unreadable one starts afresh (it is never compared). */
  async loadMetadata(): Promise<Record<string, string>> {
    try {
      return (await readJsonFile(this.path(FILES.metadata.rel), FILES.metadata.schema, { kind: 'object' })) ?? {}
    } catch (err) {
      logger.warn(`ignoring unreadable ${FILES.metadata.rel}: ${(err as Error).message}`)
      return {}
    }
  }

  async commit(changes: CycleChanges, groups: readonly Group[], opts: CommitOptions = {}): Promise<void> {
    if (!groups.length) return
    opts.gate?.catch(() => {}) // awaited before the renames; it may close before that
    const c = checkChanges(changes, groups)
    // Everything is read and computed before the first byte is written.
    const writes: JsonWrite[] = []
    const put = (rel: string, value: unknown) => writes.push({ path: this.path(rel), value })

    if (groups.includes('portfolio')) {
      put(FILES.trades.rel, upsertInto(await this.readTrades(), c.trades, (t) => t.trade_id))
      put(FILES.portfolio.rel, c.portfolio)
    }
    if (groups.includes('history')) {
      const history = upsertInto(await this.loadHistory(), [c.history], (h) => h.snapshot_date)
      put(FILES.history.rel, history.sort((a, b) => cmp(a.snapshot_date, b.snapshot_date)))
      if (c.archive) {
        const month = c.archive.archive_month
        put(archiveRel(month), upsertInto(await this.readArchive(month), [c.archive], (a) => a.archived_at))
      }
    }
    if (groups.includes('signals')) put(FILES.signals.rel, c.signals)
    if (groups.includes('markets')) {
      if (c.rawEvents) put(FILES.rawEvents.rel, c.rawEvents)
      put(FILES.events.rel, c.events)
      put(FILES.markets.rel, c.markets)
    }
    put(FILES.metadata.rel, { ...(await this.loadMetadata()), ...c.metadata })
    // with a gate, the temp files are written and synced meanwhile; only the renames wait
    await writeJsonAtomicMany(writes, { journal: journalPath(this.dataDir), gate: opts.gate })
  }

  async close(): Promise<void> {}
}
