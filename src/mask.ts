/**
 * Password masking. Every string that reaches stdout, stderr, a log file or a
 * --json document goes through `mask`, so a password never leaks, even inside
 * an error message that quotes a connection URL.
 */
const secrets = new Set<string>()

/** Register a secret value (a password) so it is masked wherever it appears. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 1) secrets.add(value)
}

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]+)(@)/gi
const KEY_VALUE = /\b((?:POSTGRES_|PG)?PASSWORD\s*[=:]\s*["']?)([^"'\s,;&]+)/gi
const URL_QUERY = /([?&]password=)([^&\s]+)/gi

export function mask(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1****$3').replace(KEY_VALUE, '$1****').replace(URL_QUERY, '$1****')
  for (const s of secrets) {
    if (!s) continue
    out = out.split(s).join('****')
    const enc = encodeURIComponent(s)
    if (enc !== s) out = out.split(enc).join('****')
  }
  return out
}

/** Mask every string inside a JSON-able value (for --json output). */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return mask(value) as T
  if (Array.isArray(value)) return value.map(maskDeep) as T
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v)
    return out as T
  }
  return value
}
