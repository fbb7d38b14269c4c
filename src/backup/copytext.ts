/**
 * COPY TEXT rows → JSON arrays, in one pass over the bytes.
 *
 * `COPY t TO STDOUT` (text format) writes a row as its columns' text output
 * separated by tabs, NULL as `\N`, and escapes a backslash and the control
 * characters \b \f \n \r \t \v with a backslash. Five of those six escapes are
 * JSON's own, so a field becomes a JSON string by escaping `"`, rewriting `\v`
 * as `\u000b` and any other control character as `\u00XX`; everything else,
 * UTF-8 included, is copied as is. This is what lets PostgreSQL send the cheap
 * text format while the dump is still JSON: rendering JSON on the server
 * (json_build_array) costs it 2.7x the CPU of plain COPY.
 *
 * Each raw COPY line is also hashed, for the manifest's content hash (see
 * RowHashSum in catalog.ts): the server can rebuild the same line in SQL.
 */
import type { RowHashSum } from './catalog.ts'

/** Output bytes one input byte can need at most (a control character becomes \u00XX). */
export const MAX_EXPANSION = 6

const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0))

export class CopyEscapeError extends Error {}

/**
 * Convert the whole COPY lines in `b` (it must end with a newline) into JSON
 * lines at `o[j...]`, adding each raw line to `sum`. `o` needs room for
 * MAX_EXPANSION * b.length + 2 bytes past `j`. Returns the new end of `o`.
 */
export function copyRowsToJson(b: Uint8Array, o: Uint8Array, j: number, sum: RowHashSum): number {
  const n = b.length
  let i = 0
  while (i < n) {
    const lineStart = i
    o[j++] = 91 // [
    for (;;) {
      if (b[i] === 92 && b[i + 1] === 78 && (b[i + 2] === 9 || b[i + 2] === 10)) {
        // \N: NULL (a field that holds the two characters \N is written \\N)
        o[j++] = 110
        o[j++] = 117
        o[j++] = 108
        o[j++] = 108
        i += 2
      } else {
        o[j++] = 34
        for (;;) {
          const c = b[i]!
          if (c > 34 && c !== 92) {
            o[j++] = c
            i++
          } else if (c === 9 || c === 10) {
            break
          } else if (c === 92) {
            const d = b[i + 1]
            if (d === 92 || d === 98 || d === 102 || d === 110 || d === 114 || d === 116) {
              o[j++] = 92
              o[j++] = d
            } else if (d === 118) {
              o[j++] = 92
              o[j++] = 117
              o[j++] = 48
              o[j++] = 48
              o[j++] = 48
              o[j++] = 98
            } else {
              throw new CopyEscapeError(`unexpected escape \\${d === undefined ? '(end of data)' : String.fromCharCode(d)} in row ${sum.rows + 1}`)
            }
            i += 2
          } else if (c === 34) {
            o[j++] = 92
            o[j++] = 34
            i++
          } else if (c < 32) {
            o[j++] = 92
            o[j++] = 117
            o[j++] = 48
            o[j++] = 48
            o[j++] = HEX[c >> 4]!
            o[j++] = HEX[c & 15]!
            i++
          } else if (c === undefined) {
            throw new CopyEscapeError(`row ${sum.rows + 1} does not end with a newline`)
          } else {
            o[j++] = c // space or !
            i++
          }
        }
        o[j++] = 34
      }
      if (b[i] === 9) {
        o[j++] = 44
        i++
        continue
      }
      if (b[i] !== 10) throw new CopyEscapeError(`row ${sum.rows + 1} does not end with a newline`)
      break
    }
    o[j++] = 93
    o[j++] = 10
    sum.add(b.subarray(lineStart, i))
    i++
  }
  return j
}
