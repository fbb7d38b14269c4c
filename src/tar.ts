/**
 * A minimal ustar writer and reader, enough for `prescient archive`: regular
 * files only, 512-byte blocks, read back by GNU tar, bsdtar and Windows'
 * tar.exe. Written here instead of pulling in a dependency because the format
 * needed is about a hundred lines, and the reader doubles as the check that
 * an archive holds exactly what its manifest says.
 */
import { createHash } from 'node:crypto'

export const BLOCK = 512
/** GNU tar's default record (20 blocks); archives are padded to it. */
const RECORD = BLOCK * 20

function splitName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' }
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i)
    const rest = name.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest) return { name: rest, prefix }
  }
  throw new Error(`path too long for a ustar archive: ${name}`)
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  const text = Math.floor(value).toString(8)
  if (text.length > length - 1) throw new Error(`value ${value} does not fit a ${length}-byte tar field`)
  buf.write(text.padStart(length - 1, '0') + '\0', offset, length, 'ascii')
}

/** The 512-byte header of one regular file. */
export function tarHeader(entry: { name: string; size: number; mtime: Date; mode?: number }): Buffer {
  const h = Buffer.alloc(BLOCK)
  const { name, prefix } = splitName(entry.name)
  h.write(name, 0, 100, 'utf8')
  octal(h, 100, 8, entry.mode ?? 0o644)
  octal(h, 108, 8, 0) // uid
  octal(h, 116, 8, 0) // gid
  octal(h, 124, 12, entry.size)
  octal(h, 136, 12, entry.mtime.getTime() / 1000)
  h.write('        ', 148, 8, 'ascii') // checksum is computed with its own field as spaces
  h.write('0', 156, 1, 'ascii') // regular file
  h.write('ustar\0', 257, 6, 'ascii')
  h.write('00', 263, 2, 'ascii')
  h.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
  return h
}

export const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)

/** Two zero blocks, then zeros up to a whole record. */
export function tarTrailer(written: number): Buffer {
  const end = written + 2 * BLOCK
  return Buffer.alloc(2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD))
}

export interface ScannedEntry {
  name: string
  size: number
  type: string
  sha256: string
}

const field = (h: Buffer, offset: number, length: number) => {
  const raw = h.subarray(offset, offset + length)
  const nul = raw.indexOf(0)
  return (nul < 0 ? raw : raw.subarray(0, nul)).toString('utf8')
}

function parseHeader(h: Buffer): { name: string; size: number; type: string } {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!
  const stored = parseInt(field(h, 148, 8).trim(), 8)
  if (stored !== sum) throw new Error('tar header checksum mismatch: the archive is damaged')
  const prefix = field(h, 345, 155)
  const name = field(h, 0, 100)
  const size = parseInt(field(h, 124, 12).trim() || '0', 8)
  if (!Number.isFinite(size)) throw new Error(`bad size field in the tar header of ${name}`)
  return { name: prefix ? `${prefix}/${name}` : name, size, type: field(h, 156, 1) || '0' }
}

/** Streams tar bytes in (any chunking) and records each entry's name, size and sha256. */
export class TarScanner {
  readonly entries: ScannedEntry[] = []
  private pending = Buffer.alloc(0)
  private current: { name: string; size: number; type: string; left: number; pad: number; hash: ReturnType<typeof createHash> } | null = null
  private ended = false

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    for (;;) {
      if (this.ended) return
      const cur = this.current
      if (cur && cur.left > 0) {
        if (!buf.length) break
        const take = Math.min(cur.left, buf.length)
        cur.hash.update(buf.subarray(0, take))
        cur.left -= take
        buf = buf.subarray(take)
        continue
      }
      if (cur) {
        if (buf.length < cur.pad) break
        buf = buf.subarray(cur.pad)
        this.entries.push({ name: cur.name, size: cur.size, type: cur.type, sha256: cur.hash.digest('hex') })
        this.current = null
        continue
      }
      if (buf.length < BLOCK) break
      const h = buf.subarray(0, BLOCK)
      buf = buf.subarray(BLOCK)
      if (h.every((b) => b === 0)) {
        this.ended = true
        return
      }
      const e = parseHeader(h)
      this.current = { ...e, left: e.size, pad: (BLOCK - (e.size % BLOCK)) % BLOCK, hash: createHash('sha256') }
    }
    this.pending = Buffer.from(buf)
  }

  /** Throws when the stream stopped mid-entry or without the end-of-archive blocks. */
  finish(): ScannedEntry[] {
    if (!this.ended) throw new Error('the tar stream ends early: the archive is truncated')
    return this.entries
  }
}
