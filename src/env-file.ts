/**
 * A small .env reader and writer. The writer updates keys in place and keeps
 * every unrelated line (comments, other apps' keys, CRLF endings) as it was.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/

export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const m = LINE.exec(raw)
    if (!m) continue
    out[m[1]!] = unquote(m[2]!)
  }
  return out
}

function unquote(v: string): string {
  const q = v[0]
  if ((q === '"' || q === "'") && v.length >= 2) {
    const end = v.lastIndexOf(q)
    if (end > 0) {
      const inner = v.slice(1, end)
      if (q === "'") return inner
      // "C:\new\data" is a Windows path, not a line break: keep its backslashes.
      if (/^[A-Za-z]:\\|^\\\\/.test(inner)) return inner.replace(/\\"/g, '"')
      return inner.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
  }
  // unquoted: a # after whitespace starts a comment (the seed writes `false  # note`)
  const hash = v.search(/\s#/)
  return (hash >= 0 ? v.slice(0, hash) : v).trim()
}

export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {}
  return parseEnv(readFileSync(path, 'utf8'))
}

function quoteValue(v: string): string {
  if (/^[A-Za-z0-9_./:@%+,-]*$/.test(v)) return v
  // single quotes are literal (backslashes, $, # and spaces survive as they are)
  if (!/['\r\n]/.test(v)) return `'${v}'`
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/** Set keys in a .env file, keeping all other lines; created or left with mode 0600. */
export function updateEnvFile(path: string, values: Record<string, string>): { added: string[]; changed: string[] } {
  const original = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const eol = original.includes('\r\n') ? '\r\n' : '\n'
  const lines = original.length ? original.replace(/(\r?\n)$/, '').split(/\r?\n/) : []
  const pending = new Map(Object.entries(values))
  const added: string[] = []
  const changed: string[] = []
  const out = lines.map((line) => {
    const m = LINE.exec(line)
    if (!m || !pending.has(m[1]!)) return line
    const key = m[1]!
    const value = pending.get(key)!
    pending.delete(key)
    if (unquote(m[2]!) !== value) changed.push(key)
    return `${key}=${quoteValue(value)}`
  })
  for (const [key, value] of pending) {
    out.push(`${key}=${quoteValue(value)}`)
    added.push(key)
  }
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, out.join(eol) + eol, { mode: 0o600 })
  renameSync(tmp, path)
  try {
    chmodSync(path, 0o600)
  } catch {
    // Windows has no POSIX modes; the file inherits the user profile's ACL.
  }
  return { added, changed }
}
