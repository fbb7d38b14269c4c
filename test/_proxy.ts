/**
 * A tiny TCP proxy on 127.0.0.1 for network-failure tests: put it between the
 * cycle and PostgreSQL, then cut it (every connection reset, new ones refused),
 * stall it (sockets stay open, nothing flows: a partition without a RST), or
 * arm it to cut when the client sends a given statement (it never reaches the
 * server) or when the server answers one (the answer is lost, e.g. a COMMIT that
 * happened but was never acknowledged). No mocks: the server is real.
 */
import type { Socket, TCPSocketListener } from 'bun'

type Mode = 'open' | 'cut' | 'stall'

interface Trigger {
  /** 'up': bytes from the client (never sent on); 'down': the server's answer (dropped) */
  dir: 'up' | 'down'
  match: RegExp
  then: 'cut' | 'stall'
  fired: boolean
  resolve: () => void
}

interface Pair {
  client: Socket<Side>
  server?: Socket<Side>
  /** client bytes waiting for the upstream connection to open */
  early: Uint8Array[]
  closed: boolean
}

interface Side {
  pair: Pair
  pending: Uint8Array[]
}

/** Buffered write with backpressure: Bun's socket.write may take only part of a chunk. */
function send(s: Socket<Side>, chunk: Uint8Array) {
  const q = s.data.pending
  if (q.length) return void q.push(chunk)
  const n = s.write(chunk)
  if (n < chunk.byteLength) q.push(chunk.subarray(Math.max(n, 0)))
}
function flush(s: Socket<Side>) {
  const q = s.data.pending
  while (q.length) {
    const c = q[0]!
    const n = s.write(c)
    if (n < c.byteLength) {
      q[0] = c.subarray(Math.max(n, 0))
      return
    }
    q.shift()
  }
}

export class TcpProxy {
  private mode: Mode = 'open'
  private pairs = new Set<Pair>()
  private triggers: Trigger[] = []
  private observers: { match: RegExp; cb: () => void }[] = []
  private listener: TCPSocketListener<Side>
  /** connections accepted since start, and bytes forwarded client -> server */
  accepted = 0
  bytesUp = 0

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    const self = this
    this.listener = Bun.listen<Side>({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(client) {
          self.accepted++
          const pair: Pair = { client, early: [], closed: false }
          client.data = { pair, pending: [] }
          if (self.mode === 'cut') return void client.terminate()
          self.pairs.add(pair)
          Bun.connect<Side>({
            hostname: targetHost,
            port: targetPort,
            socket: {
              open(server) {
                server.data = { pair, pending: [] }
                if (pair.closed) return void server.terminate()
                pair.server = server
                for (const c of pair.early.splice(0)) send(server, c)
              },
              data(server, chunk) {
                if (self.mode !== 'open' || pair.closed) return
                const bytes = new Uint8Array(chunk)
                const text = Buffer.from(bytes).toString('latin1')
                const t = self.triggers.find((x) => !x.fired && x.dir === 'down' && x.match.test(text))
                if (t) {
                  // the server did it; the client never hears
                  t.fired = true
                  if (t.then === 'cut') self.cut()
                  else self.stall()
                  return t.resolve()
                }
                send(pair.client, bytes)
              },
              drain: flush,
              close() {
                self.drop(pair, 'end')
              },
              error() {
                self.drop(pair, 'terminate')
              },
            },
          }).catch(() => self.drop(pair, 'terminate'))
        },
        data(client, chunk) {
          const pair = client.data.pair
          if (self.mode !== 'open' || pair.closed) return
          const bytes = new Uint8Array(chunk)
          const text = Buffer.from(bytes).toString('latin1')
          for (const o of self.observers) if (o.match.test(text)) o.cb()
          const t = self.triggers.find((x) => !x.fired && x.dir === 'up' && x.match.test(text))
          if (t) {
            t.fired = true
            if (t.then === 'cut') self.cut()
            else self.stall()
            return t.resolve()
          }
          self.up(pair, bytes)
        },
        drain: flush,
        close(client) {
          self.drop(client.data.pair, 'end')
        },
        error(client) {
          self.drop(client.data.pair, 'terminate')
        },
      },
    })
  }

  get port(): number {
    return this.listener.port
  }

  /** The same database URL, through the proxy. */
  url(dbUrl: string): string {
    const u = new URL(dbUrl)
    u.hostname = '127.0.0.1'
    u.port = String(this.port)
    return u.toString()
  }

  private up(pair: Pair, bytes: Uint8Array) {
    this.bytesUp += bytes.byteLength
    if (pair.server) send(pair.server, bytes)
    else pair.early.push(bytes)
  }

  private drop(pair: Pair, how: 'end' | 'terminate') {
    if (pair.closed) return
    pair.closed = true
    this.pairs.delete(pair)
    for (const s of [pair.client, pair.server]) {
      try {
        if (how === 'end') s?.end()
        else s?.terminate()
      } catch {
        // already gone
      }
    }
  }

  /** Reset every connection and refuse new ones, as a dropped link or a dead server would. */
  cut(): void {
    this.mode = 'cut'
    for (const p of [...this.pairs]) this.drop(p, 'terminate')
  }

  /** Keep every socket open and forward nothing: a partition with no RST. */
  stall(): void {
    this.mode = 'stall'
  }

  /** Accept and forward again (stalled sockets are reset: they are out of sync). */
  restore(): void {
    if (this.mode === 'stall') for (const p of [...this.pairs]) this.drop(p, 'terminate')
    this.mode = 'open'
  }

  /**
   * Cut (or stall) when the client sends bytes matching `match` (e.g. /lock_timeout/): they
   * never reach the server. Resolves when it fired.
   */
  arm(match: RegExp, opts: { then?: 'cut' | 'stall' } = {}): Promise<void> {
    return new Promise((resolve) => {
      this.triggers.push({ dir: 'up', match, then: opts.then ?? 'cut', fired: false, resolve })
    })
  }

  /**
   * Cut (or stall) when the SERVER answers with bytes matching `match`, dropping that answer:
   * e.g. /COMMIT\x00/ (CommandComplete) loses the reply of a commit that happened.
   */
  armReply(match: RegExp, opts: { then?: 'cut' | 'stall' } = {}): Promise<void> {
    return new Promise((resolve) => {
      this.triggers.push({ dir: 'down', match, then: opts.then ?? 'cut', fired: false, resolve })
    })
  }

  /** Call `cb` whenever the client sends bytes matching `match`; the traffic is untouched. Returns the undo. */
  observe(match: RegExp, cb: () => void): () => void {
    const o = { match, cb }
    this.observers.push(o)
    return () => void (this.observers = this.observers.filter((x) => x !== o))
  }

  /** Forget triggers that did not fire. */
  disarm(): void {
    this.triggers = []
  }

  get connections(): number {
    return this.pairs.size
  }

  close(): void {
    this.cut()
    this.listener.stop(true)
  }
}

export function startProxy(targetUrl: string): TcpProxy {
  const u = new URL(targetUrl)
  return new TcpProxy(u.hostname || '127.0.0.1', u.port ? Number(u.port) : 5432)
}
