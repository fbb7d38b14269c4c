/**
 * "Have I seen this key?" for a million keys without a million strings: keys
 * are kept as 52-bit hashes in typed arrays (8 bytes a slot, no GC work). A hit
 * is only a *suspected* duplicate (two keys may share a hash); the scan holds
 * suspects back and settles them exactly with a second pass over the file.
 * A JS Map of 1M trade_ids cost ~250 MB of RSS and doubled the scan time.
 */

/** cyrb53-style: two 32-bit multiplicative hashes of the UTF-16 code units. */
function hash(s: string): [number, number] {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  // h2's low bit is forced on so that an all-zero slot can mean "empty"
  return [h1 | 0, h2 | 1]
}

export class KeySet {
  size = 0
  private a: Int32Array
  private b: Int32Array
  private mask: number

  constructor(capacity = 1 << 12) {
    this.a = new Int32Array(capacity)
    this.b = new Int32Array(capacity)
    this.mask = capacity - 1
  }

  /** Add `key`; false when its hash was already there (a suspected duplicate). */
  add(key: string): boolean {
    const [h1, h2] = hash(key)
    let i = h1 & this.mask
    for (;;) {
      if (this.b[i] === 0) break
      if (this.a[i] === h1 && this.b[i] === h2) return false
      i = (i + 1) & this.mask
    }
    this.a[i] = h1
    this.b[i] = h2
    if (++this.size * 2 > this.mask) this.grow()
    return true
  }

  private grow(): void {
    const { a, b } = this
    const cap = a.length * 2
    this.a = new Int32Array(cap)
    this.b = new Int32Array(cap)
    this.mask = cap - 1
    for (let j = 0; j < a.length; j++) {
      if (b[j] === 0) continue
      let i = a[j]! & this.mask
      while (this.b[i] !== 0) i = (i + 1) & this.mask
      this.a[i] = a[j]!
      this.b[i] = b[j]!
    }
  }
}
