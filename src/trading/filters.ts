/**
 * Which events and markets the strategy may look at. Pure: the clock is passed in,
 * so a recorded snapshot filters the same way every time.
 */
import { PENDING_UMA } from '../schema/gamma.ts'
import type { NormEvent, NormMarket, SourceData, StrategyConfig } from './types.ts'

const DAY_MS = 86_400_000

/** Fractional days from `now` to `end` (negative when past); null without a date. */
export function daysToEnd(end: string | null, now: Date): number | null {
  if (!end) return null
  const t = Date.parse(end)
  return Number.isFinite(t) ? (t - now.getTime()) / DAY_MS : null
}

/** The date a market is expected to end: its own, else its event's. */
export const marketEnd = (m: NormMarket): string | null => m.endDate ?? m.eventEndDate

/**
 * Why a market is excluded, or null when it is kept. Checked in this order:
 * closed or resolved; inactive; not accepting orders; UMA resolution pending
 * (proposed/disputed: the price already reflects the proposed outcome); no yes/no
 * price; already held in an open position; liquidity below min; volume below min;
 * days to end outside [minDaysToEnd, maxDaysToEnd] (so an open market whose endDate
 * has passed, waiting for resolution, is skipped); yes price outside [minPrice, maxPrice].
 */
export function excludeReason(m: NormMarket, cfg: StrategyConfig, now: Date, held: ReadonlySet<string>): string | null {
  if (m.closed || m.resolved) return 'closed'
  if (!m.active) return 'inactive'
  if (m.raw.acceptingOrders === false) return 'not accepting orders'
  const uma = typeof m.raw.umaResolutionStatus === 'string' ? m.raw.umaResolutionStatus.toLowerCase() : null
  if (uma && PENDING_UMA.has(uma)) return `resolution ${uma}`
  if (m.yesPrice === null || m.noPrice === null) return 'no prices'
  if (held.has(m.id)) return 'already held'
  if ((m.liquidity ?? 0) < cfg.minLiquidity) return 'liquidity below minimum'
  if ((m.volume ?? 0) < cfg.minVolume) return 'volume below minimum'
  const days = daysToEnd(marketEnd(m), now)
  if (days === null) return 'no end date'
  if (days < cfg.minDaysToEnd || days > cfg.maxDaysToEnd) return 'days to end outside range'
  if (m.yesPrice < cfg.minPrice || m.yesPrice > cfg.maxPrice) return 'price outside band'
  return null
}

export interface Filtered {
  /** events with at least one kept market, in source order, with only their kept markets */
  events: { event: NormEvent; markets: NormMarket[] }[]
  markets: NormMarket[]
  /** exclusion reason -> count, for logs and reports */
  excluded: Record<string, number>
}

/** An event is kept when at least one of its markets is; synthetic events are kept for their markets only. */
export function filterSource(source: SourceData, cfg: StrategyConfig, now: Date, held: ReadonlySet<string>): Filtered {
  const events: Filtered['events'] = []
  const markets: NormMarket[] = []
  const excluded: Record<string, number> = {}
  for (const event of source.events) {
    const kept: NormMarket[] = []
    for (const m of event.markets) {
      const why = excludeReason(m, cfg, now, held)
      if (why === null) kept.push(m)
      else excluded[why] = (excluded[why] ?? 0) + 1
    }
    if (kept.length) {
      events.push({ event, markets: kept })
      markets.push(...kept)
    }
  }
  return { events, markets, excluded }
}

/** Every market in the source by id (the first occurrence wins, as in the loader). */
export function marketIndex(source: SourceData): Map<string, NormMarket> {
  const map = new Map<string, NormMarket>()
  for (const e of source.events) for (const m of e.markets) if (!map.has(m.id)) map.set(m.id, m)
  return map
}
