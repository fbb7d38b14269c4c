/**
 * Bun's JSON.parse says only "Unexpected EOF", with no position. When a data
 * file fails to parse, this scanner walks it again to say where (line, column,
 * and the JSON path being read) and why: truncation, NaN/Infinity as Python's
 * json module writes them, a trailing comma.
 */

export interface JsonErrorAt {
  offset: number
  line: number
  column: number
  /** e.g. $[12].amount */
  path: string
  reason: string
}

const IDENT = /^[A-Za-z_$][\w$]*$/

/** `$[12].amount` style, as in the validation messages. */
export function formatPath(keys: readonly (string | number)[]): string {
  let out = '$'
  for (const k of keys) out += typeof k === 'number' ? `[${k}]` : IDENT.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`
  return out
}

class Stop {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const EOF = 'unexpected end of file (the file looks truncated)'

/** Find the first syntax error of text that JSON.parse rejected. */
export function locateJsonError(text: string): JsonErrorAt {
  const path: (string | number)[] = []
  let i = 0
  const n = text.length
  const fail = (reason: string, at = i): never => {
    throw new Stop(at, at >= n ? EOF : reason)
  }
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  }
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length
    else fail(`unexpected ${JSON.stringify(text.slice(i, i + 8))}`)
  }
  const string = (): string => {
    const start = i++
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 0x22) return JSON.parse(text.slice(start, ++i)) as string
      if (c === 0x5c) {
        const e = text[i + 1]
        if (e === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)) : !e || !'"\\/bfnrt'.includes(e)) fail('invalid escape in a string')
        i += e === 'u' ? 6 : 2
      } else if (c < 0x20) fail('control character (such as a raw newline) inside a string')
      else i++
    }
    return fail(EOF)
  }
  const value = (): void => {
    ws()
    if (i >= n) fail(EOF)
    const c = text[i]!
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') return void i++
      for (;;) {
        ws()
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before }' : 'expected a "quoted" key')
        path.push(string())
        ws()
        if (text[i] !== ':') fail('expected : after the key')
        i++
        value()
        path.pop()
        ws()
        if (text[i] === ',') i++
        else if (text[i] === '}') return void i++
        else fail('expected , or } after a value')
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') return void i++
      for (let k = 0; ; k++) {
        path.push(k)
        ws()
        if (text[i] === ']') fail('trailing comma before ]')
        value()
        path.pop()
        ws()
        if (text[i] === ',') i++
        else if (text[i] === ']') return void i++
        else fail('expected , or ] after a value')
      }
    }
    if (c === '"') return void string()
    for (const bad of ['NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(bad, i)) fail(`${bad} is not valid JSON (a number must be finite; write null instead)`)
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i
      if (!NUMBER.test(text)) fail('invalid number')
      i = NUMBER.lastIndex
      return
    }
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    fail(`unexpected character ${JSON.stringify(c)}`)
  }

  let stop: Stop
  try {
    value()
    ws()
    if (i < n) fail('unexpected text after the end of the JSON value')
    stop = new Stop(0, 'invalid JSON')
  } catch (e) {
    if (!(e instanceof Stop)) throw e
    stop = e
  }
  const before = text.slice(0, stop.offset)
  const line = before.split('\n').length
  const column = stop.offset - before.lastIndexOf('\n')
  return { offset: stop.offset, line, column, path: formatPath(path), reason: stop.reason }
}
