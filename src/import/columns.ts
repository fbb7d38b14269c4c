/**
 * What PostgreSQL will refuse that the valibot schemas allow: a string longer
 * than its VARCHAR, a NUL character or a lone surrogate, a number too wide for
 * its DECIMAL or INTEGER, year 0000, 2025-02-30. Checked on every record before
 * it is streamed, because a COPY that PostgreSQL rejects midway is the one
 * failure postgres.js handles badly (porsager/postgres#1173). The sizes mirror
 * sql/*.sql; test/import.test.ts checks them against information_schema.
 */
import { toIsoUtc } from '../schema/files.ts'

export type Col =
  | { name: string; kind: 'varchar'; max: number }
  | { name: string; kind: 'text' | 'int' | 'bool' | 'ts' | 'date' | 'jsonb' }
  | { name: string; kind: 'numeric'; precision: number; scale: number }

export const vc = (name: string, max: number): Col => ({ name, kind: 'varchar', max })
export const text = (name: string): Col => ({ name, kind: 'text' })
export const int = (name: string): Col => ({ name, kind: 'int' })
export const bool = (name: string): Col => ({ name, kind: 'bool' })
export const ts = (name: string): Col => ({ name, kind: 'ts' })
export const date = (name: string): Col => ({ name, kind: 'date' })
export const jsonb = (name: string): Col => ({ name, kind: 'jsonb' })
export const num = (name: string, precision: number, scale: number): Col => ({ name, kind: 'numeric', precision, scale })

const show = (x: unknown) => {
  const s = typeof x === 'string' ? x : JSON.stringify(x) ?? String(x)
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s)
}

/** Why PostgreSQL text cannot hold `s` (NUL, or a lone UTF-16 surrogate that would be mangled), else undefined. */
function textProblem(s: string): string | undefined {
  if (s.indexOf('\u0000') !== -1) return 'contains a NUL character (\\u0000), which PostgreSQL text cannot store'
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate (invalid Unicode)'
  return undefined
}

/** Walk a JSONB value: every key and string must be storable. */
function jsonProblem(x: unknown, depth = 0): string | undefined {
  if (depth > 200) return 'is nested deeper than 200 levels'
  if (typeof x === 'string') return textProblem(x)
  if (Array.isArray(x)) {
    for (const v of x) {
      const p = jsonProblem(v, depth + 1)
      if (p) return p
    }
  } else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      const p = textProblem(k) ?? jsonProblem(v, depth + 1)
      if (p) return p
    }
  }
  return undefined
}

const INT_MIN = -2147483648
const INT_MAX = 2147483647

/** The problem with `x` for column `c`, phrased for a rejects file, or undefined when PostgreSQL will take it. */
export function columnProblem(c: Col, x: unknown): string | undefined {
  if (x === null || x === undefined) return undefined
  switch (c.kind) {
    case 'varchar': {
      if (typeof x !== 'string') return `expected a string, got ${show(x)}`
      // VARCHAR(n) counts characters (code points); JS length counts UTF-16 units, never fewer.
      if (x.length > c.max && [...x].length > c.max) return `${show(x)} is longer than ${c.max} characters (VARCHAR(${c.max}))`
      return textProblem(x)
    }
    case 'text':
      return typeof x === 'string' ? textProblem(x) : `expected a string, got ${show(x)}`
    case 'numeric': {
      const limit = 10 ** (c.precision - c.scale)
      if (typeof x !== 'number' || !Number.isFinite(x)) return `expected a number, got ${show(x)}`
      const f = 10 ** c.scale
      return Math.abs(Math.round(x * f) / f) < limit ? undefined : `${x} does not fit DECIMAL(${c.precision}, ${c.scale}) (must be below ${limit} in absolute value)`
    }
    case 'int':
      return Number.isInteger(x) && (x as number) >= INT_MIN && (x as number) <= INT_MAX ? undefined : `${show(x)} is not a 32-bit integer (INTEGER)`
    case 'bool':
      return typeof x === 'boolean' ? undefined : `expected true or false, got ${show(x)}`
    case 'ts':
      if (typeof x !== 'string') return `expected a time, got ${show(x)}`
      return x.startsWith('0000-') ? `${show(x)}: PostgreSQL has no year 0` : undefined
    case 'date':
      if (typeof x !== 'string' || toIsoUtc(x) === null) return `${show(x)} is not a calendar date`
      return x.startsWith('0000-') ? `${show(x)}: PostgreSQL has no year 0` : undefined
    case 'jsonb':
      return jsonProblem(x)
  }
}
