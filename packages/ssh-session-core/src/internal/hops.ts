import type { Client } from 'ssh2';
import { SshSessionError } from '../errors';

type Ssh2Client = InstanceType<typeof Client>;

/**
 * Which hop of a ProxyJump chain failed. Every byte to the target crosses each hop, so when the
 * target's connection dies (or its handshake fails) the cause may be a hop: killed (its
 * connection closes) or frozen (it stops answering, and the target's keepalive fires first about
 * half the time). {@link watchHop} records what each hop saw; {@link findDeadHop} asks the hops
 * that still look open for a reply.
 */
interface HopState {
  closed: boolean;
  error: Error | undefined;
}

const states = new WeakMap<Ssh2Client, HopState>();

/** Starts recording a hop's own close and first error. Call as soon as the hop is connected. */
export function watchHop(hop: Ssh2Client): void {
  const state: HopState = { closed: false, error: undefined };
  states.set(hop, state);
  hop.on('error', (error: Error) => {
    state.error ??= error;
  });
  hop.once('close', () => {
    state.closed = true;
  });
}

/**
 * Resolves true when `hop` answers a global request within `deadlineMs`. The request is
 * `cancel-tcpip-forward` for a forward never made: RFC 4254 has every server reply to a request
 * that wants one (here with a failure), and it changes nothing on the hop.
 */
function answers(hop: Ssh2Client, deadlineMs: number): Promise<boolean> {
  if (states.get(hop)?.closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      hop.off('close', onClose);
      resolve(ok);
    };
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), deadlineMs);
    hop.once('close', onClose);
    try {
      hop.unforwardIn('127.0.0.1', 0, () => done(true));
    } catch {
      done(false); // not writable any more
    }
  });
}

export interface DeadHop {
  /** 0-based index in the chain. */
  readonly index: number;
  /** What the hop's own connection reported, or that it stopped answering. */
  readonly reason: string;
}

/**
 * The first hop of the chain that is closed or does not answer within `deadlineMs`, or undefined
 * when all answer (the fault is the target's). The hops are asked at once: a hop behind a frozen
 * one cannot answer either, so the first silent one is the culprit.
 */
export async function findDeadHop(hops: readonly Ssh2Client[], deadlineMs: number): Promise<DeadHop | undefined> {
  if (hops.length === 0) return undefined;
  const replies = await Promise.all(hops.map((hop) => answers(hop, deadlineMs)));
  const index = replies.indexOf(false);
  if (index < 0) return undefined;
  const state = states.get(hops[index] as Ssh2Client);
  const error = state?.error;
  const reason =
    error === undefined
      ? state?.closed
        ? 'its connection closed'
        : `it stopped answering (no reply within ${deadlineMs} ms)`
      : /keepalive/i.test(error.message)
        ? 'it stopped answering keepalives'
        : `its connection failed: ${error.message}`;
  return { index, reason };
}

/** How long a hop may take to answer the probe: a round trip, capped by the connect timeout. */
export function probeDeadline(connectTimeoutMs: number): number {
  return Math.min(2_000, connectTimeoutMs);
}

/** `jump host user@host:port (hop 2 of 3)`. */
export function hopName(keys: readonly string[], index: number): string {
  return `jump host ${keys[index] ?? '?'} (hop ${index + 1} of ${keys.length})`;
}

/** The established connection's loss, blamed on the hop that caused it. */
export function lostAtHop(target: string, keys: readonly string[], dead: DeadHop, cause: unknown): SshSessionError {
  return new SshSessionError(
    'CONNECTION_CLOSED',
    `connection to ${target} lost at ${hopName(keys, dead.index)}: ${dead.reason}; the command was not re-run`,
    { cause, details: { target, jumpHost: keys[dead.index], hop: dead.index + 1 } },
  );
}

/**
 * A connect failure through hops, said of the hop it belongs to: the first dead hop when one
 * is, else the hop whose own connect failed (`failedHop`), else the error as it was (the target's).
 */
export function connectErrorAtHop(
  error: SshSessionError,
  target: string,
  keys: readonly string[],
  dead: DeadHop | undefined,
  failedHop: number | undefined,
): SshSessionError {
  if (dead !== undefined) {
    return new SshSessionError(
      error.code === 'CONNECT_TIMEOUT' ? 'CONNECT_TIMEOUT' : 'CONNECT_FAILED',
      `cannot connect to ${target}: ${hopName(keys, dead.index)} failed while connecting: ${dead.reason} (${error.message})`,
      { cause: error, details: { ...error.details, target, jumpHost: keys[dead.index], hop: dead.index + 1 } },
    );
  }
  if (failedHop !== undefined) {
    return new SshSessionError(error.code, `${hopName(keys, failedHop)}: ${error.message}`, {
      cause: error,
      details: { ...error.details, jumpHost: keys[failedHop], hop: failedHop + 1 },
    });
  }
  return error;
}
