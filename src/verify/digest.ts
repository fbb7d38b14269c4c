/**
 * Bucket digests and the compact record of the JSON side. A row is 16 bytes
 * here (two 32-bit words of its key's md5, two of its text's md5), so a million
 * trades cost 16 MB however wide they are; the rows themselves are re-read only
 * for the few shown as examples.
 */

/** Per bucket: row count and the sums of the rows' two hash words (order-independent). */
export class Digest {
  readonly size: number
  readonly n: Float64Array
  readonly s1: Float64Array
  readonly s2: Float64Array

  constructor(readonly bits: number) {
    this.size = 2 ** bits
    this.n = new Float64Array(this.size)
    this.s1 = new Float64Array(this.size)
    this.s2 = new Float64Array(this.size)
  }

  add(b: number, r1: number, r2: number): void {
    this.n[b]! += 1
    this.s1[b]! += r1
    this.s2[b]! += r2
  }

  set(b: number, n: number, s1: number, s2: number): void {
    this.n[b] = n
    this.s1[b] = s1
    this.s2[b] = s2
  }

  total(): number {
    let t = 0
    for (let b = 0; b < this.size; b++) t += this.n[b]!
    return t
  }

  /** Buckets whose contents differ from the other side's, ascending. */
  differing(other: Digest): number[] {
    const out: number[] = []
    for (let b = 0; b < this.size; b++) {
      if (this.n[b] !== other.n[b] || this.s1[b] !== other.s1[b] || this.s2[b] !== other.s2[b]) out.push(b)
    }
    return out
  }
}

/** Growable columns of 32-bit words: (k1, k2, r1, r2) per JSON row, in stream order. */
export class HashLog {
  length = 0
  private cap = 1024
  k1 = new Int32Array(this.cap)
  k2 = new Int32Array(this.cap)
  r1 = new Int32Array(this.cap)
  r2 = new Int32Array(this.cap)

  push(k1: number, k2: number, r1: number, r2: number): void {
    if (this.length === this.cap) this.grow()
    const i = this.length++
    this.k1[i] = k1
    this.k2[i] = k2
    this.r1[i] = r1
    this.r2[i] = r2
  }

  private grow(): void {
    this.cap *= 2
    for (const f of ['k1', 'k2', 'r1', 'r2'] as const) {
      const next = new Int32Array(this.cap)
      next.set(this[f])
      this[f] = next
    }
  }

  /** Row indexes of the wanted buckets, grouped by bucket, each group in stream order (a counting sort). */
  groupBy(bucket: (k1: number) => number, wanted: readonly number[], size: number): Map<number, Int32Array> {
    const flag = new Uint8Array(size)
    for (const b of wanted) flag[b] = 1
    const counts = new Int32Array(size)
    for (let i = 0; i < this.length; i++) {
      const b = bucket(this.k1[i]!)
      if (flag[b]) counts[b]!++
    }
    const groups = new Map<number, Int32Array>()
    for (const b of wanted) groups.set(b, new Int32Array(counts[b]!))
    const fill = new Int32Array(size)
    for (let i = 0; i < this.length; i++) {
      const b = bucket(this.k1[i]!)
      if (flag[b]) groups.get(b)![fill[b]!++] = i
    }
    return groups
  }
}
