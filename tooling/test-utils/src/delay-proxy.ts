// A userspace TCP proxy on loopback that adds a fixed one-way delay to every chunk in each
// direction, so benches see a WAN round trip against the local sshd (this machine has no netem).
// Each direction is a lane: a FIFO of chunks stamped with the time they are due, drained by one
// timer, so byte order holds and nothing polls. Half-close and resets travel through the same lane,
// after the bytes before them. Faults for the reliability tests are further options and controls:
// jitter, chunks split into 1-byte or random-size segments, a stall of every lane, an injected
// reset, a half-close towards the client.
//
// What it cannot model: TCP itself ends at the proxy, so the handshake, slow start and Nagle's
// wait for an ACK happen on loopback, not across the delay. Only application round trips pay it.
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { seeded } from './random';

export type DelayDirection = 'up' | 'down';

/** One chunk (or end, or reset) as it leaves the proxy, for round-trip analysis. */
export interface DelayProxyEvent {
  /** Accepted connections are numbered from 1. */
  readonly connection: number;
  /** `up`: client → target; `down`: target → client. */
  readonly direction: DelayDirection;
  readonly kind: 'data' | 'end' | 'reset';
  readonly bytes: number;
  /** `performance.now()` when the chunk reached the proxy. */
  readonly receivedMs: number;
  /** `performance.now()` when the proxy passed it on. */
  readonly forwardedMs: number;
}

export interface DelayProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** Added to every chunk in each direction: a round trip through the proxy gains twice this. */
  readonly oneWayMs: number;
  /** Listen address. Default `127.0.0.1`; the port is always chosen by the system. */
  readonly host?: string;
  /** Called for every chunk, end and reset as it is forwarded (tracing; keep it cheap). */
  readonly onForward?: (event: DelayProxyEvent) => void;
  /** Up to this much more delay per chunk, drawn from `seed` (order is still kept). */
  readonly jitterMs?: number;
  /** Forward each chunk as 1-byte writes, or as writes of random sizes (1–64 bytes, from `seed`). */
  readonly segments?: 'one-byte' | 'random';
  /** Seed of the jitter and segment sizes (replayable). Default 1. */
  readonly seed?: number;
}

export interface DelayProxy {
  readonly host: string;
  readonly port: number;
  /** Holds every chunk of every open connection, both directions, for `ms` (a frozen link). */
  stall(ms: number): void;
  /** Resets every open connection on both sides (RST, as a middlebox dropping the flow). */
  reset(): void;
  /** Ends the direction towards the client of every open connection (a half-close), the other left open. */
  halfClose(): void;
  /** Stops listening, destroys every connection in both directions and drops what is in flight. */
  close(): Promise<void>;
}

type Item = { readonly kind: 'data'; readonly chunk: Buffer; readonly receivedMs: number; readonly dueMs: number } | { readonly kind: 'end' | 'reset'; readonly receivedMs: number; readonly dueMs: number };

/** One direction of one connection: what `from` sent, handed to `to` once due, in order. */
class Lane {
  readonly #queue: Item[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #stopped = false;
  /** Nothing leaves before this (a stall). */
  #heldUntil = 0;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly direction: DelayDirection,
    readonly connection: number,
    readonly options: DelayProxyOptions,
    readonly random: () => number,
  ) {
    from.on('data', (chunk: Buffer) => this.#push({ kind: 'data', chunk, ...this.#stamp() }));
    from.on('end', () => {
      this.#ended = true;
      this.#push({ kind: 'end', ...this.#stamp() });
    });
    // A close without a clean end is a reset (or a failed connect to the target): pass it on
    // after the bytes already queued, as the peer would see the RST arrive after them.
    from.on('close', () => {
      if (!this.#ended) this.#push({ kind: 'reset', ...this.#stamp() });
    });
    // Errors show as the close above; the listener keeps them from being thrown.
    from.on('error', () => undefined);
    to.on('drain', () => from.resume());
  }

  /** Holds what is queued and what comes for `ms`. */
  stall(ms: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, performance.now() + ms);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#schedule();
  }

  /** Stops the timer; what is still queued is dropped. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }

  #stamp(): { receivedMs: number; dueMs: number } {
    const receivedMs = performance.now();
    // Never before the item ahead of it, so a later per-chunk delay cannot reorder bytes.
    const last = this.#queue.at(-1)?.dueMs ?? 0;
    const jitter = this.options.jitterMs ? this.random() * this.options.jitterMs : 0;
    return { receivedMs, dueMs: Math.max(receivedMs + this.options.oneWayMs + jitter, last) };
  }

  #push(item: Item): void {
    // After close(), the sockets' own close events must not start new timers.
    if (this.#stopped) return;
    this.#queue.push(item);
    if (this.#timer === undefined) this.#schedule();
  }

  #schedule(): void {
    const head = this.#queue[0];
    if (head === undefined) return;
    // Timers count from the event loop's cached time and may fire a little early: #drain checks
    // the clock and comes back for the rest, so no chunk ever leaves before it is due.
    this.#timer = setTimeout(() => this.#drain(), Math.max(0, Math.ceil(Math.max(head.dueMs, this.#heldUntil) - performance.now())));
  }

  #drain(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#heldUntil <= now && this.#queue.length > 0 && (this.#queue[0] as Item).dueMs <= now) this.#forward(this.#queue.shift() as Item);
    this.#schedule();
  }

  /** The writes a chunk leaves as: whole, one byte each, or random sizes. */
  #pieces(chunk: Buffer): Buffer[] {
    if (this.options.segments === undefined) return [chunk];
    const pieces: Buffer[] = [];
    for (let at = 0; at < chunk.length; ) {
      const size = this.options.segments === 'one-byte' ? 1 : 1 + Math.floor(this.random() * 64);
      pieces.push(chunk.subarray(at, at + size));
      at += size;
    }
    return pieces;
  }

  #forward(item: Item): void {
    const { to } = this;
    if (to.destroyed) return;
    if (item.kind === 'data') {
      // The target's own buffer is full: stop reading so the queue does not grow without bound.
      let full = false;
      for (const piece of this.#pieces(item.chunk)) full = !to.write(piece) || full;
      if (full) this.from.pause();
    } else if (item.kind === 'end') {
      to.end();
    } else {
      to.resetAndDestroy();
    }
    this.options.onForward?.({
      connection: this.connection,
      direction: this.direction,
      kind: item.kind,
      bytes: item.kind === 'data' ? item.chunk.length : 0,
      receivedMs: item.receivedMs,
      forwardedMs: performance.now(),
    });
  }
}

/**
 * Listens on loopback and forwards each accepted connection to `target`, every chunk delayed by
 * `oneWayMs` in each direction (so a round trip gains `2 × oneWayMs`), order kept, Nagle off on
 * both sockets, half-close and resets passed on after the same delay.
 * @throws RangeError when `oneWayMs` is negative or not finite.
 */
export function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  if (!Number.isFinite(options.oneWayMs) || options.oneWayMs < 0) throw new RangeError(`oneWayMs must be a finite number ≥ 0, got ${options.oneWayMs}`);
  const host = options.host ?? '127.0.0.1';
  const open = new Set<{ client: Socket; upstream: Socket; lanes: Lane[] }>();
  let accepted = 0;
  const random = seeded(options.seed ?? 1);
  // allowHalfOpen: an end from one side must not end the other direction too.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true, noDelay: true });
    const connection = ++accepted;
    const entry = {
      client,
      upstream,
      lanes: [new Lane(client, upstream, 'up', connection, options, random), new Lane(upstream, client, 'down', connection, options, random)],
    };
    open.add(entry);
    let closed = 0;
    const onClose = (): void => {
      if (++closed < 2) return;
      for (const lane of entry.lanes) lane.stop();
      open.delete(entry);
    };
    client.once('close', onClose);
    upstream.once('close', onClose);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('delay proxy: no TCP address'));
      resolve({
        host,
        port: address.port,
        stall: (ms) => {
          for (const entry of open) for (const lane of entry.lanes) lane.stall(ms);
        },
        reset: () => {
          for (const entry of open) {
            for (const lane of entry.lanes) lane.stop();
            entry.client.resetAndDestroy();
            entry.upstream.resetAndDestroy();
          }
        },
        halfClose: () => {
          for (const entry of open) entry.client.end();
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const entry of open) {
              for (const lane of entry.lanes) lane.stop();
              entry.client.destroy();
              entry.upstream.destroy();
            }
          }),
      });
    });
  });
}

