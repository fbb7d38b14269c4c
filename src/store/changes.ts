/**
 * Both stores validate a cycle's changes with the file schemas before writing
 * anything and then write the normalised result. So a bug upstream (a NaN, a
 * naive time) fails the commit cleanly instead of leaving a file that no longer
 * loads, and JSON and PostgreSQL receive byte-identical values.
 */
import * as v from 'valibot'
import type { Group } from '../phase.ts'
import { Exit } from '../errors.ts'
import type { CycleChanges } from './types.ts'
import {
  EventsFileSchema,
  HistoryRowSchema,
  MarketSnapshotsSchema,
  MarketsFileSchema,
  MetadataFileSchema,
  PortfolioFileSchema,
  RawEventsFileSchema,
  SignalArchiveSchema,
  SignalsFileSchema,
  TradesFileSchema,
  validate,
} from '../schema/files.ts'

const check = <S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> =>
  validate(schema, value, `refusing to commit invalid ${what}`, Exit.runtime)

/** Results of checkChanges and the groups they were checked for (RoutedStore checks once for both stores). */
const checked = new WeakMap<CycleChanges, readonly Group[]>()

/** The changes with the given groups' parts validated and normalised; other parts pass through. */
export function checkChanges(c: CycleChanges, groups: readonly Group[]): CycleChanges {
  // a result of this function is already normalised (checking it again changes nothing)
  const done = checked.get(c)
  if (done && groups.every((g) => done.includes(g))) return c
  const out: CycleChanges = { ...c, at: check(PortfolioFileSchema.entries.last_updated, c.at, 'changes.at') }
  if (groups.includes('portfolio')) {
    out.portfolio = check(PortfolioFileSchema, c.portfolio, 'changes.portfolio')
    out.trades = check(TradesFileSchema, c.trades, 'changes.trades')
  }
  if (groups.includes('history')) {
    out.history = check(HistoryRowSchema, c.history, 'changes.history')
    out.archive = c.archive === null ? null : check(SignalArchiveSchema, c.archive, 'changes.archive')
  }
  if (groups.includes('signals')) out.signals = check(SignalsFileSchema, c.signals, 'changes.signals')
  if (groups.includes('markets')) {
    out.rawEvents = c.rawEvents === null ? null : check(RawEventsFileSchema, c.rawEvents, 'changes.rawEvents')
    out.events = check(EventsFileSchema, c.events, 'changes.events')
    out.markets = check(MarketsFileSchema, c.markets, 'changes.markets')
    out.marketSnapshots = check(MarketSnapshotsSchema, c.marketSnapshots, 'changes.marketSnapshots')
  }
  out.metadata = check(MetadataFileSchema, c.metadata, 'changes.metadata')
  checked.set(out, [...groups])
  return out
}
