/**
 * Load one table in ONE transaction: COPY the scanned rows into a temp staging
 * table, then merge with INSERT ... ON CONFLICT (natural key) DO UPDATE ...
 * WHERE the row differs, so a re-run changes nothing. Mirror tables then lose
 * the rows the file no longer has. Into an EMPTY table (a first backfill) the
 * rows are COPYed straight in: the merge would insert them all anyway, and
 * skipping the staging copy halves the time. Either way it is all or nothing.
 */
import type { PendingQuery, Row } from 'postgres'
import type { Tx } from '../db/client.ts'
import { setMetadata } from '../db/queries/metadata.ts'
import { CURRENT_SIGNALS_KEY } from '../db/queries/signals.ts'
import { CopyWriter } from './copy.ts'
import type { RejectLog } from './rejects.ts'
import { scan, type ScanCtx, type ScanResult, type TableCounts } from './scan.ts'
import type { Source, TableSpec } from './tables.ts'

export interface MergeCounts {
  inserted: number
  updated: number
  unchanged: number
  deleted: number | null
  /** trading_signals: records whose key a later file also has (the later one wins) */
  superseded: number
  mode: 'direct' | 'merge'
}

export interface LoadOptions extends ScanCtx {
  stallMs: number
  onStall?: () => unknown
}

type Frag = PendingQuery<Row[]>
const commaList = (tx: Tx, parts: Frag[]): Frag => parts.reduce((a, b) => tx`${a}, ${b}`)

async function createStaging(tx: Tx, spec: TableSpec, name: string, extra: boolean) {
  const cols = spec.columns.map((c) => c.name)
  // Same column types as the target (so PostgreSQL checks the same limits), no constraints, no defaults.
  await tx`
    create temp table ${tx(name)} on commit drop as
    select ${tx(cols)} ${extra ? tx`, null::bigint as _ord, null::text as _at` : tx``}
    from ${tx(spec.table)} with no data`
}

async function merge(tx: Tx, spec: TableSpec, staging: string) {
  const cols = spec.columns.map((c) => c.name)
  const rest = cols.filter((c) => !spec.key.includes(c))
  const set = commaList(tx, [...rest.map((c) => tx`${tx(c)} = excluded.${tx(c)}`), ...(spec.touch ?? []).map((c) => tx`${tx(c)} = now()`)])
  const differs = tx`(${commaList(tx, rest.map((c) => tx`t.${tx(c)}`))}) is distinct from (${commaList(tx, rest.map((c) => tx`excluded.${tx(c)}`))})`
  const [r] = await tx`
    with m as (
      insert into ${tx(spec.table)} as t (${tx(cols)})
      select ${tx(cols)} from ${tx(staging)}
      on conflict (${tx(spec.key)}) do update set ${set} where ${differs}
      returning (t.xmax = 0) as inserted
    )
    select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated,
           (select count(*)::int from ${tx(staging)}) as staged
    from m`
  return r as { inserted: number; updated: number; staged: number }
}

/** Mirror tables: delete what the file no longer has, except keys whose record was rejected. */
async function deleteMissing(tx: Tx, spec: TableSpec, staging: string, keep: string[]): Promise<number> {
  const k = spec.key[0]!
  const r = await tx`
    delete from ${tx(spec.table)} t
    where not exists (select 1 from ${tx(staging)} s where s.${tx(k)} = t.${tx(k)})
      and not (t.${tx(k)} = any(${keep}::text[]))`
  return r.count
}

/** trading_signals: later sources win a key clash; a signal naming a trade that does not exist is a reject. */
async function resolveSignals(tx: Tx, staging: string, rejects: RejectLog, counts: TableCounts): Promise<number> {
  const dup = await tx`
    delete from ${tx(staging)} a using ${tx(staging)} b
    where a.market_id = b.market_id and a.timestamp = b.timestamp and a._ord < b._ord`
  const orphans = await tx`
    delete from ${tx(staging)} s
    where s.trade_id is not null and not exists (select 1 from trades t where t.trade_id = s.trade_id)
    returning s._at, s.trade_id, to_jsonb(s) - '_ord' - '_at' as value`
  for (const o of orphans) {
    const [file, path] = String(o._at).split('\t') as [string, string]
    counts.rejected++
    counts.valid--
    const index = Number(/^\$\[(\d+)\]/.exec(path)?.[1] ?? NaN)
    const p = rejects.add({
      table: 'trading_signals', file, index: Number.isNaN(index) ? null : index, path: `${path}.trade_id`,
      reason: `trade_id ${JSON.stringify(o.trade_id)} is not in trades (import trades first, or fix the signal)`, value: o.value,
    })
    if (p) await p
  }
  return dup.count
}

/** Scan and load one table inside `tx` (the caller owns the transaction and the connection). */
export async function loadTable(tx: Tx, spec: TableSpec, sources: Source[], opts: LoadOptions, counts: TableCounts): Promise<MergeCounts> {
  await tx`select set_config('lock_timeout', '10s', true), set_config('statement_timeout', '0', true),
                  set_config('idle_in_transaction_session_timeout', '60s', true)`
  // Writers wait (a cycle holds the data-dir lock anyway); readers do not.
  await tx`lock table ${tx(spec.table)} in share row exclusive mode`
  const [{ empty }] = (await tx`select not exists (select 1 from ${tx(spec.table)}) as empty`) as unknown as [{ empty: boolean }]
  const direct = empty && !spec.alwaysStage
  const staging = `import_${spec.table}`
  const extra = !!spec.alwaysStage
  if (!direct) await createStaging(tx, spec, staging, extra)
  const cols = spec.columns.map((c) => c.name)
  const copy = await CopyWriter.open(tx, direct ? spec.table : staging, extra ? [...cols, '_ord', '_at'] : cols, opts)
  let scanned: ScanResult
  try {
    scanned = await scan(opts, spec, sources, counts, (line) => copy.push(line), extra)
    await copy.end()
  } catch (err) {
    // End the COPY before the transaction's ROLLBACK is sent, or the connection stays in COPY mode.
    const failure = copy.failure
    copy.close()
    throw failure ?? err
  }
  let result: MergeCounts
  if (direct) {
    result = { inserted: copy.rows, updated: 0, unchanged: 0, deleted: spec.mirror ? 0 : null, superseded: 0, mode: 'direct' }
  } else {
    const superseded = extra ? await resolveSignals(tx, staging, opts.rejects, counts) : 0
    const m = await merge(tx, spec, staging)
    const deleted = spec.mirror ? await deleteMissing(tx, spec, staging, scanned.protectedKeys) : null
    result = { inserted: m.inserted, updated: m.updated, unchanged: m.staged - m.inserted - m.updated, deleted, superseded, mode: 'merge' }
  }
  // PgStore.loadSignals reads the current set from here, as saveCurrentSignals records it.
  if (spec.table === 'trading_signals') await setMetadata(tx, { [CURRENT_SIGNALS_KEY]: JSON.stringify(scanned.currentKeys) })
  return result
}
