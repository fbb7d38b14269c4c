/**
 * The default strategy: favourite-following with fractional Kelly sizing. Every number
 * it uses is here and in StrategyConfig, so a signal can be recomputed by hand:
 *
 *   conviction  = |yes − 0.5| × 2                                  (0 = coin flip, 1 = certain)
 *   side        = YES when yes ≥ 0.5, else NO; price = that side's price
 *   timeScore   = clamp(1 − (days − minDays) / (maxDays − minDays), 0, 1)   (sooner = surer)
 *   liqScore    = clamp(log10(liquidity / minLiquidity) / 2, 0, 1)        (100× the minimum = 1)
 *   confidence  = 0.5 × conviction + 0.25 × timeScore + 0.25 × liqScore   (in [0,1], 4 places)
 *   p (win)     = min(0.99, price + EDGE × confidence)                    (EDGE = 0.05)
 *   kelly       = (p − price) / (1 − price)                               (full Kelly for a binary share)
 *   amount      = balance × kellyFraction × kelly,
 *                 capped at maxPositionFraction × equity and maxPositionAmount
 *
 * The edge model is an assumption, stated openly: favourites are taken to be underpriced
 * by up to EDGE (5 percentage points) in proportion to confidence. A signal is made when
 * minConviction ≤ conviction ≤ maxConviction and amount ≥ minTradeAmount; at most
 * maxTradesPerCycle, highest confidence first, ties by market id. The cash reserve is
 * applied when executing (broker.ts), because it depends on the trades before it.
 */
import { money, price, round, type Action, type Signal } from '../domain.ts'
import { daysToEnd, marketEnd } from './filters.ts'
import type { NormMarket, StrategyConfig } from './types.ts'

/** Percentage points of mispricing assumed at confidence 1. */
export const EDGE = 0.05
/** Never assume a certain win: Kelly would stake everything. */
export const MAX_WIN_PROBABILITY = 0.99

const clamp01 = (x: number) => Math.min(1, Math.max(0, x))

export const conviction = (yes: number) => price(Math.abs(yes - 0.5) * 2)

export function confidenceOf(conv: number, days: number, liquidity: number, cfg: StrategyConfig): number {
  const span = cfg.maxDaysToEnd - cfg.minDaysToEnd
  const timeScore = span > 0 ? clamp01(1 - (days - cfg.minDaysToEnd) / span) : 1
  const liqScore = clamp01(Math.log10(Math.max(liquidity, 1e-9) / Math.max(cfg.minLiquidity, 1)) / 2)
  return round(0.5 * conv + 0.25 * timeScore + 0.25 * liqScore, 4)
}

export const winProbability = (sidePrice: number, confidence: number) => Math.min(MAX_WIN_PROBABILITY, sidePrice + EDGE * confidence)

/** Full-Kelly fraction of bankroll for buying a share at `sidePrice` that pays 1 with probability p. */
export const kellyFraction = (p: number, sidePrice: number) => (sidePrice >= 1 ? 0 : Math.max(0, (p - sidePrice) / (1 - sidePrice)))

export interface Sizing {
  amount: number
  kelly: number
  p: number
  /** which limit bound the amount, if any */
  cap: 'none' | 'max position fraction' | 'max position amount'
}

export function sizePosition(sidePrice: number, confidence: number, balance: number, equity: number, cfg: StrategyConfig): Sizing {
  const p = winProbability(sidePrice, confidence)
  const kelly = kellyFraction(p, sidePrice)
  const raw = Math.max(0, balance) * cfg.kellyFraction * kelly
  const byFraction = Math.max(0, equity) * cfg.maxPositionFraction
  let amount = raw
  let cap: Sizing['cap'] = 'none'
  if (byFraction < amount) {
    amount = byFraction
    cap = 'max position fraction'
  }
  if (cfg.maxPositionAmount < amount) {
    amount = cfg.maxPositionAmount
    cap = 'max position amount'
  }
  return { amount: money(amount), kelly, p, cap }
}

const fmt = (x: number, d: number) => x.toFixed(d)

/**
 * Signals for the filtered markets, sized against the portfolio at the start of the
 * step. Unexecuted until the broker runs them.
 */
export function generateSignals(markets: NormMarket[], cfg: StrategyConfig, now: Date, balance: number, equity: number): Signal[] {
  const out: Signal[] = []
  for (const m of markets) {
    if (m.yesPrice === null || m.noPrice === null) continue
    const conv = conviction(m.yesPrice)
    if (conv < cfg.minConviction || conv > cfg.maxConviction) continue
    const days = daysToEnd(marketEnd(m), now)
    if (days === null) continue
    const action: Action = m.yesPrice >= 0.5 ? 'buy_yes' : 'buy_no'
    const sidePrice = price(action === 'buy_yes' ? m.yesPrice : m.noPrice)
    const confidence = confidenceOf(conv, days, m.liquidity ?? 0, cfg)
    const size = sizePosition(sidePrice, confidence, balance, equity, cfg)
    if (size.amount < cfg.minTradeAmount || size.amount <= 0) continue
    const side = action === 'buy_yes' ? 'YES' : 'NO'
    const reason =
      `${side} favoured at ${fmt(sidePrice, 3)} (conviction ${fmt(conv, 3)}), ${fmt(days, 1)} days to end, ` +
      `liquidity ${Math.round(m.liquidity ?? 0)}; confidence ${fmt(confidence, 4)}, p ${fmt(size.p, 4)}, ` +
      `kelly ${fmt(size.kelly, 4)} × ${cfg.kellyFraction}` +
      (size.cap === 'none' ? '' : `, capped by ${size.cap}`)
    out.push({
      timestamp: now.toISOString(),
      market_id: m.id,
      market_question: m.question,
      action,
      target_price: sidePrice,
      amount: size.amount,
      confidence,
      reason,
      yes_price: price(m.yesPrice),
      no_price: price(m.noPrice),
      market_liquidity: m.liquidity === null ? null : money(m.liquidity),
      market_volume: m.volume === null ? null : money(m.volume),
      event_id: m.eventId,
      event_title: m.eventTitle,
      event_end_date: m.eventEndDate,
      executed: false,
      executed_at: null,
      trade_id: null,
    })
  }
  out.sort((a, b) => b.confidence - a.confidence || (a.market_id < b.market_id ? -1 : a.market_id > b.market_id ? 1 : 0))
  return out.slice(0, Math.max(0, cfg.maxTradesPerCycle))
}
