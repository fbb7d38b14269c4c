#!/usr/bin/env bun
/**
 * Writes the bad-input corpus to test/fixtures/bad/ (committed output; run
 * `bun scripts/make-bad-corpus.ts` after changing a case). Each case is a folder:
 *
 *   data/        the data dir's files (optional)
 *   source.json  a recorded Gamma file for --source (optional)
 *   .env         an env file for --env-file (optional)
 *   expect.json  { about, args, env, exit, message, path, file, rejects, unchanged, cleanup }
 *
 * In args and env, {data} is the case's data dir, {case} its folder, {db} a throwaway
 * migrated database and {admin} the test server's admin URL. test/bad-input.test.ts runs
 * every case in-process and checks the exit code, ONE clear error line that matches
 * `message` and names `path` (a JSON path or a flag) and `file`, and that no JSON file
 * and no table changed. Cases with exit 0 and `rejects` are bad records inside a good
 * source: skipped and counted, reported in `cycle --json` with id, path and reason.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const OUT = resolve(import.meta.dir, '../test/fixtures/bad')

/** A case's expect.json: what the bad-input test checks (test/bad-input.test.ts imports this type). */
export interface Expect {
  about: string
  args: string[]
  env?: Record<string, string>
  exit: number
  /** regex the one error line must match */
  message?: string
  /** a JSON path or a flag the error line must contain */
  path?: string
  /** a file name the error line must contain */
  file?: string
  /** exit 0 cases: records skipped and reported */
  rejects?: { id: string | null; where: string; reason: string }[]
  /** false: the command is expected to write (an accepted input) */
  unchanged?: boolean
  /** databases and roles a setup case creates */
  cleanup?: { databases?: string[]; roles?: string[] }
}

interface Case {
  name: string
  data?: Record<string, string | { dir: true }>
  source?: string | { dir: true }
  env?: string
  expect: Expect
}

const j = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`

// ---- a valid state to break ---------------------------------------------------

const trade = (id: string, over: Record<string, unknown> = {}) => ({
  trade_id: id,
  timestamp: '2026-02-10T12:00:00.000Z',
  market_id: `m-${id}`,
  market_question: `Will ${id} happen?`,
  action: 'buy_yes',
  amount: 100,
  entry_price: 0.62,
  confidence: 0.7,
  reason: 'test',
  status: 'open',
  event_id: 'e1',
  event_title: 'Event 1',
  event_end_date: '2026-03-01T00:00:00.000Z',
  current_pnl: 0,
  realized_pnl: null,
  exit_price: null,
  exit_timestamp: null,
  ...over,
})
const position = (id: string, over: Record<string, unknown> = {}) => {
  const t = trade(id)
  return {
    trade_id: t.trade_id, market_id: t.market_id, market_question: t.market_question, action: t.action, amount: t.amount,
    entry_price: t.entry_price, entry_timestamp: t.timestamp, status: 'open', current_pnl: 0, realized_pnl: null, exit_price: null, exit_timestamp: null,
    ...over,
  }
}
const portfolio = (over: Record<string, unknown> = {}) => ({
  balance: 9800,
  total_invested: 200,
  total_profit_loss: 0,
  trade_count: 2,
  created_at: '2026-02-01T00:00:00.000Z',
  last_updated: '2026-02-10T12:00:00.000Z',
  positions: [position('t1'), position('t2')],
  ...over,
})
const history = (over: Record<string, unknown> = {}) => [
  { snapshot_date: '2026-02-10', timestamp: '2026-02-10T12:00:00.000Z', balance: 9800, total_invested: 200, total_profit_loss: 0, total_value: 10000, open_positions: 2, trade_count: 2, ...over },
]
const signal = (over: Record<string, unknown> = {}) => ({
  timestamp: '2026-02-10T12:00:00.000Z', market_id: 'm-t1', market_question: 'Will t1 happen?', action: 'buy_yes', target_price: 0.62, amount: 100,
  confidence: 0.7, reason: 'test', yes_price: 0.62, no_price: 0.38, market_liquidity: 50000, market_volume: 100000, event_id: 'e1',
  event_title: 'Event 1', event_end_date: '2026-03-01T00:00:00.000Z', executed: true, executed_at: '2026-02-10T12:00:00.000Z', trade_id: 't1', ...over,
})
const archive = (over: Record<string, unknown> = {}) => [{ archived_at: '2026-02-10T12:00:00.000Z', archive_month: '2026-02', signals_count: 1, signals: [signal()], ...over }]
const event = (over: Record<string, unknown> = {}) => ({
  event_id: 'e1', title: 'Event 1', slug: 'event-1', liquidity: 50000, volume: 100000, volume24hr: 1000, start_date: '2026-01-01T00:00:00.000Z',
  end_date: '2026-03-01T00:00:00.000Z', days_until_end: 19, event_data: {}, is_filtered: true, ...over,
})
const market = (over: Record<string, unknown> = {}) => ({
  market_id: 'm-t1', question: 'Will t1 happen?', event_id: 'e1', event_title: 'Event 1', event_end_date: '2026-03-01T00:00:00.000Z',
  liquidity: 50000, volume: 100000, volume24hr: 1000, yes_price: 0.62, no_price: 0.38, market_conviction: 0.24, market_data: {}, is_filtered: true, ...over,
})

/** A complete, valid data dir; `over` replaces or adds files (text as given). */
function dataDir(over: Record<string, string | { dir: true }> = {}): Record<string, string | { dir: true }> {
  return {
    'trades/portfolio.json': j(portfolio()),
    'trades/paper_trades.json': j([trade('t1'), trade('t2', { timestamp: '2026-02-10T12:00:01.000Z' })]),
    'trades/current_signals.json': j([signal()]),
    'history/portfolio_history.json': j(history()),
    'history/signals_archive_2026-02.json': j(archive()),
    'events/filtered_events.json': j([event()]),
    'markets/filtered_markets.json': j([market()]),
    ...over,
  }
}

/** A valid Gamma /markets record with its parent event in events[0]. */
const gm = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  question: `Will market ${id} resolve yes?`,
  slug: `market-${id}`,
  endDate: '2026-03-10T12:00:00Z',
  liquidity: '42000.5',
  volume: '310010.08',
  outcomes: '["Yes", "No"]',
  outcomePrices: '["0.82", "0.18"]',
  active: true,
  closed: false,
  updatedAt: '2026-02-16T15:00:00.000000Z',
  liquidityNum: 42000.5,
  volumeNum: 310010.08,
  volume24hr: 5000,
  clobTokenIds: '["1", "2"]',
  events: [{ id: `ev-${id}`, title: `Event ${id}`, slug: `event-${id}`, liquidity: 90000, volume: 500000, endDate: '2026-03-10T12:00:00Z' }],
  ...over,
})

// ---- the cases ------------------------------------------------------------------

const cycle = (...extra: string[]) => ['cycle', '--phase', '0', '--source', 'sample', '--data-dir', '{data}', ...extra]
/** sync reads and validates every group before it touches the database */
const sync = ['sync', '--phase', '4', '--data-dir', '{data}', '--database-url', '{db}']
const onSource = (...extra: string[]) => ['cycle', '--phase', '0', '--source', '{case}/source.json', '--data-dir', '{data}', '--json', ...extra]
const TRUNC = (text: string) => text.slice(0, Math.floor(text.length * 0.6))

const cases: Case[] = [
  // files that are not JSON at all
  { name: 'portfolio-truncated', data: dataDir({ 'trades/portfolio.json': TRUNC(j(portfolio())) }), expect: { about: 'portfolio.json cut off mid-write (a crash with a non-atomic editor)', args: cycle(), exit: 2, message: 'invalid JSON.*truncated', path: '$.positions', file: 'trades/portfolio.json' } },
  { name: 'trades-truncated', data: dataDir({ 'trades/paper_trades.json': TRUNC(j([trade('t1'), trade('t2')])) }), expect: { about: 'paper_trades.json cut off', args: cycle(), exit: 2, message: 'invalid JSON.*truncated', path: '$[1]', file: 'trades/paper_trades.json' } },
  { name: 'trades-empty', data: dataDir({ 'trades/paper_trades.json': '' }), expect: { about: 'an empty trades file (a full disk)', args: cycle(), exit: 2, message: 'the file is empty', path: 'paper_trades.json', file: 'trades/paper_trades.json' } },
  { name: 'portfolio-whitespace', data: dataDir({ 'trades/portfolio.json': ' \r\n\t\n' }), expect: { about: 'a portfolio file holding only whitespace', args: cycle(), exit: 2, message: 'the file is empty', path: 'portfolio.json', file: 'trades/portfolio.json' } },
  { name: 'trades-directory', data: dataDir({ 'trades/paper_trades.json': { dir: true } }), expect: { about: 'paper_trades.json is a directory', args: cycle(), exit: 2, message: 'is a directory', path: 'paper_trades.json', file: 'trades/paper_trades.json' } },
  { name: 'history-directory', data: dataDir({ 'history/portfolio_history.json': { dir: true } }), expect: { about: 'portfolio_history.json is a directory (read at commit time, before any write)', args: cycle(), exit: 2, message: 'is a directory', path: 'portfolio_history.json', file: 'history/portfolio_history.json' } },
  { name: 'trades-nan', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t2')]).replace('"amount": 100', '"amount": NaN') }), expect: { about: 'NaN, as Python json.dump writes it', args: cycle(), exit: 2, message: 'invalid JSON.*NaN', path: '$[0].amount', file: 'trades/paper_trades.json' } },
  { name: 'portfolio-infinity', data: dataDir({ 'trades/portfolio.json': j(portfolio()).replace('"balance": 9800', '"balance": Infinity') }), expect: { about: 'Infinity, as Python json.dump writes it', args: cycle(), exit: 2, message: 'invalid JSON.*Infinity', path: '$.balance', file: 'trades/portfolio.json' } },
  { name: 'trades-trailing-comma', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t2')]).replace(/}\n]\n$/, '},\n]\n') }), expect: { about: 'a trailing comma (hand-edited)', args: cycle(), exit: 2, message: 'invalid JSON', path: '$[2]', file: 'trades/paper_trades.json' } },
  { name: 'portfolio-bom', data: dataDir({ 'trades/portfolio.json': `\uFEFF${j(portfolio())}` }), expect: { about: 'a UTF-8 BOM (Windows Notepad): accepted, not an error', args: cycle(), exit: 0, unchanged: false } },
  // wrong types and values
  { name: 'trades-amount-string', data: dataDir({ 'trades/paper_trades.json': j([trade('t1', { amount: '100' }), trade('t2')]) }), expect: { about: 'a number written as a string', args: cycle(), exit: 2, message: 'expected a number', path: '$[0].amount', file: 'trades/paper_trades.json' } },
  { name: 'trades-negative-amount', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t2', { amount: -50 })]) }), expect: { about: 'a negative trade amount', args: cycle(), exit: 2, message: 'must not be negative', path: '$[1].amount', file: 'trades/paper_trades.json' } },
  { name: 'trades-price-above-one', data: dataDir({ 'trades/paper_trades.json': j([trade('t1', { entry_price: 1.5 }), trade('t2')]) }), expect: { about: 'a price above 1', args: cycle(), exit: 2, message: 'between 0 and 1', path: '$[0].entry_price', file: 'trades/paper_trades.json' } },
  { name: 'trades-price-negative', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t2', { exit_price: -0.2 })]) }), expect: { about: 'a negative exit price', args: cycle(), exit: 2, message: 'between 0 and 1', path: '$[1].exit_price', file: 'trades/paper_trades.json' } },
  { name: 'trades-duplicate-id', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t1', { timestamp: '2026-02-10T13:00:00.000Z' })]) }), expect: { about: 'the same trade_id twice', args: cycle(), exit: 2, message: 'duplicate trade_id "t1"', path: '$[1]', file: 'trades/paper_trades.json' } },
  { name: 'trades-missing-field', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), (({ market_id: _, ...t }) => t)(trade('t2'))]) }), expect: { about: 'a required field left out', args: cycle(), exit: 2, message: 'required field is missing', path: '$[1].market_id', file: 'trades/paper_trades.json' } },
  { name: 'trades-bad-status', data: dataDir({ 'trades/paper_trades.json': j([trade('t1', { status: 'pending' }), trade('t2')]) }), expect: { about: 'a status that does not exist', args: cycle(), exit: 2, message: 'open', path: '$[0].status', file: 'trades/paper_trades.json' } },
  { name: 'trades-bad-date', data: dataDir({ 'trades/paper_trades.json': j([trade('t1', { timestamp: '10/02/2026 12:00' }), trade('t2')]) }), expect: { about: 'a date in a local format', args: cycle(), exit: 2, message: 'ISO 8601', path: '$[0].timestamp', file: 'trades/paper_trades.json' } },
  { name: 'trades-impossible-date', data: dataDir({ 'trades/paper_trades.json': j([trade('t1'), trade('t2', { timestamp: '2026-02-30T12:00:00Z' })]) }), expect: { about: 'February 30th (never rolled over to March)', args: cycle(), exit: 2, message: 'ISO 8601', path: '$[1].timestamp', file: 'trades/paper_trades.json' } },
  { name: 'trades-not-array', data: dataDir({ 'trades/paper_trades.json': j({ trades: [trade('t1')] }) }), expect: { about: 'an object where an array belongs', args: cycle(), exit: 2, message: 'expected (an? )?Array, got an object', path: '$', file: 'trades/paper_trades.json' } },
  { name: 'portfolio-balance-string', data: dataDir({ 'trades/portfolio.json': j(portfolio({ balance: '9800.00' })) }), expect: { about: 'the balance as a string', args: cycle(), exit: 2, message: 'expected a number', path: '$.balance', file: 'trades/portfolio.json' } },
  { name: 'portfolio-duplicate-position', data: dataDir({ 'trades/portfolio.json': j(portfolio({ positions: [position('t1'), position('t1')] })) }), expect: { about: 'the same position twice', args: cycle(), exit: 2, message: 'duplicate trade_id', path: '$.positions[1]', file: 'trades/portfolio.json' } },
  { name: 'portfolio-trade-count-float', data: dataDir({ 'trades/portfolio.json': j(portfolio({ trade_count: 2.5 })) }), expect: { about: 'a fractional count', args: cycle(), exit: 2, message: 'integer', path: '$.trade_count', file: 'trades/portfolio.json' } },
  { name: 'history-bad-row', data: dataDir({ 'history/portfolio_history.json': j(history({ open_positions: 'two' })) }), expect: { about: 'a history row with a string count', args: cycle(), exit: 2, message: 'expected a number', path: '$[0].open_positions', file: 'history/portfolio_history.json' } },
  { name: 'archive-bad-month', data: dataDir({ 'history/signals_archive_2026-02.json': j(archive({ archive_month: 'Feb 2026' })) }), expect: { about: 'an archive month that is not YYYY-MM', args: cycle(), exit: 2, message: 'YYYY-MM', path: '$[0].archive_month', file: 'history/signals_archive_2026-02.json' } },
  { name: 'archive-truncated', data: dataDir({ 'history/signals_archive_2026-02.json': TRUNC(j(archive())) }), expect: { about: 'a monthly archive cut off', args: cycle(), exit: 2, message: 'invalid JSON', path: '$[0].signals[0]', file: 'history/signals_archive_2026-02.json' } },
  // files only some commands read: `sync` validates every group before touching the database
  { name: 'signals-bad-action', data: dataDir({ 'trades/current_signals.json': j([signal({ action: 'sell' })]) }), expect: { about: 'a signal action that does not exist', args: sync, exit: 2, message: 'buy_yes', path: '$[0].action', file: 'trades/current_signals.json' } },
  { name: 'signals-confidence-above-one', data: dataDir({ 'trades/current_signals.json': j([signal({ confidence: 7 })]) }), expect: { about: 'a confidence of 7', args: sync, exit: 2, message: 'between 0 and 1', path: '$[0].confidence', file: 'trades/current_signals.json' } },
  { name: 'events-duplicate-id', data: dataDir({ 'events/filtered_events.json': j([event(), event({ title: 'again' })]) }), expect: { about: 'the same event twice', args: sync, exit: 2, message: 'duplicate event_id', path: '$[1]', file: 'events/filtered_events.json' } },
  { name: 'markets-price-outside', data: dataDir({ 'markets/filtered_markets.json': j([market({ yes_price: 2 })]) }), expect: { about: 'a market price of 2', args: sync, exit: 2, message: 'between 0 and 1', path: '$[0].yes_price', file: 'markets/filtered_markets.json' } },
  { name: 'markets-liquidity-garbage', data: dataDir({ 'markets/filtered_markets.json': j([market({ liquidity: 'lots' })]) }), expect: { about: 'liquidity that is not a number', args: sync, exit: 2, message: 'expected a number', path: '$[0].liquidity', file: 'markets/filtered_markets.json' } },
  // recorded source files that are unusable as a whole
  { name: 'source-truncated', data: {}, source: TRUNC(j([gm('1'), gm('2')])), expect: { about: 'a recorded /markets file cut off', args: onSource(), exit: 2, message: 'invalid JSON.*truncated', path: 'end of file', file: 'source.json' } },
  { name: 'source-empty', data: {}, source: '', expect: { about: 'an empty recorded file', args: onSource(), exit: 2, message: 'is empty', path: 'source.json', file: 'source.json' } },
  { name: 'source-directory', data: {}, source: { dir: true }, expect: { about: '--source points at a directory', args: onSource(), exit: 2, message: 'is a directory', path: 'source.json', file: 'source.json' } },
  { name: 'source-not-gamma', data: {}, source: j({ hello: 'world' }), expect: { about: 'JSON, but not a Gamma response', args: onSource(), exit: 2, message: 'not a Gamma /events or /markets response', path: 'source.json', file: 'source.json' } },
  { name: 'source-bom', data: {}, source: `\uFEFF${j([gm('1')])}`, expect: { about: 'a recorded file with a BOM: accepted', args: onSource(), exit: 0, unchanged: false, rejects: [] } },
  // bad records inside a good source: skipped, counted, reported; never fatal
  { name: 'record-outcomes-not-json', data: {}, source: j([gm('1'), gm('2', { outcomes: '[Yes, No' })]), expect: { about: 'outcomes holding text that is not JSON', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '2', where: '$[1]', reason: 'outcomes.*not valid JSON' }] } },
  { name: 'record-prices-not-json', data: {}, source: j([gm('1', { outcomePrices: 'n/a' }), gm('2')]), expect: { about: 'outcomePrices that is not JSON', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '1', where: '$[0]', reason: 'outcomePrices.*not valid JSON' }] } },
  { name: 'record-prices-not-numbers', data: {}, source: j([gm('1'), gm('2', { outcomePrices: '["high", "low"]' })]), expect: { about: 'outcomePrices holding words', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '2', where: '$[1]', reason: 'outcomePrices.*decimal' }] } },
  { name: 'record-prices-not-array', data: {}, source: j([gm('1'), gm('2', { outcomePrices: '{"yes": 0.5}' })]), expect: { about: 'outcomePrices holding an object', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '2', where: '$[1]', reason: 'outcomePrices.*array' }] } },
  { name: 'record-negative-liquidity', data: {}, source: j([gm('1', { liquidity: '-5000', liquidityNum: -5000 }), gm('2')]), expect: { about: 'negative liquidity', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '1', where: '$[0]', reason: 'liquidity.*negative' }] } },
  { name: 'record-liquidity-nan', data: {}, source: j([gm('1'), gm('2', { volume: 'NaN' })]), expect: { about: 'volume "NaN"', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '2', where: '$[1]', reason: 'volume.*decimal' }] } },
  { name: 'record-bad-end-date', data: {}, source: j([gm('1'), gm('2', { endDate: '10/03/2026' })]), expect: { about: 'an endDate in a local format', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: '2', where: '$[1]', reason: 'endDate.*unrecognised date' }] } },
  { name: 'record-missing-id', data: {}, source: j([gm('1'), (({ id: _, ...m }) => m)(gm('2'))]), expect: { about: 'a market without an id', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: null, where: '$[1]', reason: 'id' }] } },
  { name: 'record-not-an-object', data: {}, source: j([gm('1'), 'junk', 42]), expect: { about: 'junk items in the array', args: onSource(), exit: 0, unchanged: false, rejects: [{ id: null, where: '$[1]', reason: '.' }, { id: null, where: '$[2]', reason: '.' }] } },
  { name: 'record-dates-every-format', data: {}, source: j([
    gm('1', { endDate: '2026-03-10T12:00:00Z' }),
    gm('2', { endDate: '2026-03-10T12:00:00.123456Z', updatedAt: '2026-02-16T15:00:00+00:00' }),
    gm('3', { endDate: '2026-03-10 12:00:00+00', updatedAt: '2026-02-16 14:40:02.064+00' }),
    gm('4', { endDate: '2026-03-10', startDate: '2026-01-15T16:00:00.000351Z' }),
    gm('5', { endDate: '2026-03-10T14:00:00+0200' }),
  ]), expect: { about: 'the date formats the Gamma API sends: all accepted', args: onSource(), exit: 0, unchanged: false, rejects: [] } },
  // flags, environment and .env
  { name: 'flag-phase-9', data: dataDir(), expect: { about: '--phase 9', args: ['cycle', '--phase', '9', '--source', 'sample', '--data-dir', '{data}'], exit: 2, message: 'whole number from 0 to 7', path: '--phase' } },
  { name: 'flag-phase-fraction', data: dataDir(), expect: { about: '--phase 2.5', args: ['cycle', '--phase', '2.5', '--source', 'sample', '--data-dir', '{data}'], exit: 2, message: 'whole number', path: '--phase' } },
  { name: 'env-phase-x', data: dataDir(), expect: { about: 'PRESCIENT_PHASE=x', args: ['cycle', '--source', 'sample', '--data-dir', '{data}'], env: { PRESCIENT_PHASE: 'x' }, exit: 2, message: 'whole number', path: 'PRESCIENT_PHASE' } },
  { name: 'flag-now-not-a-date', data: dataDir(), expect: { about: '--now yesterday', args: cycle('--now', 'yesterday'), exit: 2, message: 'not a date', path: '--now' } },
  { name: 'env-database-url-malformed', data: dataDir(), expect: { about: 'DATABASE_URL that is not a URL', args: cycle(), env: { DATABASE_URL: 'host=localhost user=prescient' }, exit: 2, message: 'not a valid URL', path: 'DATABASE_URL' } },
  { name: 'env-database-url-scheme', data: dataDir(), expect: { about: 'DATABASE_URL for another database', args: cycle(), env: { DATABASE_URL: 'mysql://root@localhost/prescient' }, exit: 2, message: 'postgres://', path: 'DATABASE_URL' } },
  { name: 'flag-database-url-malformed', data: dataDir(), expect: { about: '--database-url with a bad port', args: ['cycle', '--phase', '1', '--source', 'sample', '--data-dir', '{data}', '--database-url', 'postgres://u@localhost:99999/db'], exit: 2, message: 'not a valid URL', path: '--database-url' } },
  { name: 'envfile-use-read-without-write', data: dataDir(), env: 'POSTGRES_HOST=localhost\nPOSTGRES_DB=prescient_os\nUSE_DATABASE_WRITE=false\nUSE_DATABASE_READ=true\n', expect: { about: 'the seed flags asking to read a database nothing writes', args: ['cycle', '--source', 'sample', '--data-dir', '{data}', '--env-file', '{case}/.env'], exit: 2, message: 'USE_DATABASE_READ=true needs USE_DATABASE_WRITE=true', path: 'USE_DATABASE_READ' } },
  { name: 'envfile-bad-boolean', data: dataDir(), env: 'POSTGRES_HOST=localhost\nPOSTGRES_DB=prescient_os\nUSE_DATABASE_WRITE=maybe\n', expect: { about: 'USE_DATABASE_WRITE=maybe in .env', args: ['cycle', '--source', 'sample', '--data-dir', '{data}', '--env-file', '{case}/.env'], exit: 2, message: 'true or false', path: 'USE_DATABASE_WRITE' } },
  { name: 'envfile-phase-seven-words', data: dataDir(), env: '# written by hand\nPRESCIENT_PHASE=seven\n', expect: { about: 'PRESCIENT_PHASE=seven in .env', args: ['cycle', '--source', 'sample', '--data-dir', '{data}', '--env-file', '{case}/.env'], exit: 2, message: 'whole number', path: 'PRESCIENT_PHASE' } },
  { name: 'env-gamma-timeout-garbage', data: dataDir(), expect: { about: 'PRESCIENT_GAMMA_TIMEOUT_MS=soon', args: ['cycle', '--phase', '0', '--source', 'api', '--data-dir', '{data}'], env: { PRESCIENT_GAMMA_TIMEOUT_MS: 'soon' }, exit: 2, message: 'whole number', path: 'PRESCIENT_GAMMA_TIMEOUT_MS' } },
  // setup: names with quotes and spaces are quoted, never spliced
  {
    name: 'setup-names-with-quotes',
    expect: {
      about: 'database and role names with quotes, spaces and a semicolon are created exactly as given',
      args: ['setup', '--yes', '--admin-url', '{admin}', '--database', 'bad "db"; drop table x', '--user', "o'brien user", '--env-file', '{case}/out.env'],
      exit: 0,
      unchanged: false,
      cleanup: { databases: ['bad "db"; drop table x'], roles: ["o'brien user"] },
    },
  },
  { name: 'setup-name-too-long', expect: { about: 'a database name over 63 bytes', args: ['setup', '--yes', '--admin-url', '{admin}', '--database', 'x'.repeat(64), '--env-file', '{case}/out.env'], exit: 2, message: "longer than PostgreSQL's 63 bytes", path: '--database' } },
  { name: 'setup-empty-user', expect: { about: 'an empty role name', args: ['setup', '--yes', '--admin-url', '{admin}', '--user', '', '--env-file', '{case}/out.env'], exit: 2, message: 'cannot be empty', path: '--user' } },
  { name: 'setup-admin-url-malformed', expect: { about: '--admin-url that is not a URL', args: ['setup', '--yes', '--admin-url', 'localhost:5432', '--env-file', '{case}/out.env'], exit: 2, message: 'postgres://', path: '--admin-url' } },
]

// ---- write -----------------------------------------------------------------------

function put(path: string, content: string | { dir: true }) {
  if (typeof content === 'string') {
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, content)
  } else {
    // git keeps no empty directories
    mkdirSync(path, { recursive: true })
    writeFileSync(join(path, '.keep'), '')
  }
}

rmSync(OUT, { recursive: true, force: true })
const names = new Set<string>()
for (const c of cases) {
  if (names.has(c.name)) throw new Error(`duplicate case ${c.name}`)
  names.add(c.name)
  const dir = join(OUT, c.name)
  mkdirSync(join(dir, 'data'), { recursive: true })
  writeFileSync(join(dir, 'data', '.keep'), '')
  for (const [rel, content] of Object.entries(c.data ?? {})) put(join(dir, 'data', rel), content)
  if (c.source !== undefined) put(join(dir, 'source.json'), c.source)
  if (c.env !== undefined) put(join(dir, '.env'), c.env)
  writeFileSync(join(dir, 'expect.json'), j(c.expect))
}
writeFileSync(
  join(OUT, 'README.md'),
  `# Bad-input corpus\n\nGenerated by \`bun scripts/make-bad-corpus.ts\`; do not edit by hand. ${cases.length} cases, each a folder\nwith \`expect.json\` (see the script's header). Run by \`test/bad-input.test.ts\`.\n`,
)
console.log(`wrote ${cases.length} cases to ${OUT}`)
