import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { SshSessionError } from './errors';
import {
  Client,
  destroyTransport,
  hostKeyAlgorithmsPreferring,
  isTransportAlive,
  utils,
  type ClientChannel,
  type ConnectConfig,
  type SFTPWrapper,
} from './internal/ssh2';
import { connectErrorAtHop, findDeadHop, hopName, lostAtHop, probeDeadline, watchHop } from './internal/hops';
import { guardIdentLine } from './internal/ident-guard';
import { fromSsh2Error } from './internal/ssh2-errors';
import { fingerprintSha256 } from './keys';
import { appendKnownHost, checkKnownHosts, knownHostKeyTypes, knownHostsName } from './known-hosts';
import { noopLogger, type Logger } from './logger';

/**
 * How host keys are verified. Required: there is no silent default.
 * - `strict`: the key must be in a known_hosts file (StrictHostKeyChecking yes).
 * - `accept-new`: an unknown host's key is appended to `appendTo` and accepted; a changed or
 *   revoked key is still refused (StrictHostKeyChecking accept-new, OpenSSH's safe default).
 * - `insecureAcceptAnyHostKey`: accepts anything, including a changed key. Named loudly on purpose.
 */
export type HostKeyPolicy =
  | { readonly mode: 'strict'; readonly knownHostsFiles: readonly string[] }
  | { readonly mode: 'accept-new'; readonly knownHostsFiles: readonly string[]; readonly appendTo?: string }
  | { readonly mode: 'insecureAcceptAnyHostKey' };

/**
 * A private key given by path (read at connect, before anything is sent) or by content.
 *
 * A path that cannot be read (missing, unreadable, not a regular file) or that holds no private
 * key fails the connect at once with `INVALID_ARGUMENT` naming the path and the reason, with no
 * network round trip — unless `optional` is set: then it is skipped (and named in an
 * `AUTH_FAILED` message), as ssh does for ssh_config's IdentityFile and its default keys.
 */
export type PrivateKeySource =
  | { readonly path: string; readonly passphrase?: string; readonly optional?: boolean }
  | { readonly key: string | Buffer; readonly passphrase?: string; readonly label?: string };

/** Credentials to try, in this order: agent, keys, password, keyboard-interactive. */
export interface AuthOptions {
  /** ssh-agent socket path (the caller reads SSH_AUTH_SOCK; core never reads the environment). */
  readonly agent?: string;
  /** Keys to offer, in order. Encrypted keys need their passphrase (or `passphrase` below). */
  readonly privateKeys?: readonly PrivateKeySource[];
  /** Passphrase for any encrypted key without its own. */
  readonly passphrase?: string;
  /** Password, also answered to keyboard-interactive password prompts (network gear uses those). */
  readonly password?: string;
}

/** One SSH endpoint: where, who, and which credentials. */
export interface SshEndpoint {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  readonly username: string;
  readonly auth: AuthOptions;
}

export interface ConnectOptions extends SshEndpoint {
  readonly hostKeys: HostKeyPolicy;
  /** ProxyJump chain, first hop first; each hop is verified with the same host key policy. */
  readonly jumps?: readonly SshEndpoint[];
  /** TCP connect + handshake + auth, per hop. Default 15000. */
  readonly connectTimeoutMs?: number;
  /** Keepalive request interval (ServerAliveInterval); 0 disables. Default 15000. */
  readonly keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection is declared dead (ServerAliveCountMax). Default 3. */
  readonly keepaliveCountMax?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** What the host key check saw, shown in session info. */
export interface HostKeyInfo {
  readonly type: string;
  readonly fingerprint: string;
  /** `known` (matched a known_hosts line), `added` (accept-new appended it), `unchecked` (insecure opt-out). */
  readonly status: 'known' | 'added' | 'unchecked';
  /** The known_hosts file it was appended to, when `added`. */
  readonly file?: string;
}

/** A host key that accept-new recorded while connecting (OpenSSH: "Permanently added …"). */
export interface AddedHostKey {
  /** The host as known_hosts names it: `host`, or `[host]:port` off port 22. */
  readonly host: string;
  readonly type: string;
  /** `SHA256:…`. */
  readonly fingerprint: string;
  /** The known_hosts file it was appended to. */
  readonly file: string;
}

/** Result of {@link SshConnection.exec}. */
export interface ExecResult {
  readonly stdout: string;
  /** stdout as received, for binary content. */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
  /** Exit status, or null when the command was killed by a signal or the server sent none. */
  readonly exitCode: number | null;
  readonly exitSignal?: string;
}

export interface ExecOptions {
  /** Written to the command's stdin; stdin is closed either way (a reader gets EOF, never hangs). */
  readonly stdin?: string | Buffer;
  readonly signal?: AbortSignal;
}

/** How a channel's command ended: the exit status, or the signal that killed it. */
export interface ChannelExit {
  /** Null when killed by a signal, or when the channel closed without an exit status. */
  readonly code: number | null;
  readonly signal?: string;
}

/** A raw channel (exec or shell): a Duplex for stdout/stdin plus stderr. */
export interface SshChannel extends Duplex {
  readonly stderr: NodeJS.ReadableStream;
  /**
   * Settles when the remote command ends. Recorded from the moment the channel opens, so a fast
   * command's exit status (often in the same packet burst as the open confirmation) is never lost.
   */
  readonly exit: Promise<ChannelExit>;
  setWindow(rows: number, cols: number, height: number, width: number): void;
  signal(name: string): void;
}

export interface PtyOptions {
  readonly term?: string;
  readonly cols?: number;
  readonly rows?: number;
}

/** How long a polite SSH close may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/** Ends a client; destroys its socket after `graceMs` (at once for 0) if it has not closed by then. */
function shutdown(client: Ssh2Client, graceMs: number): void {
  client.end();
  if (graceMs === 0) {
    destroyTransport(client);
    return;
  }
  const timer = setTimeout(() => destroyTransport(client), graceMs);
  timer.unref();
  client.once('close', () => clearTimeout(timer));
}

const DEFAULTS = Object.freeze({
  port: 22,
  connectTimeoutMs: 15_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
});

type Ssh2Client = InstanceType<typeof Client>;

/**
 * One authenticated SSH connection (through any ProxyJump hops), with keepalive. Channels opened
 * on it fail with `CONNECTION_CLOSED` when it dies; it never reconnects by itself (the pool does,
 * on next use), so a command is never silently re-run.
 */
export class SshConnection {
  /** `user@host:port` of the target. */
  readonly key: string;
  readonly hostKey: HostKeyInfo;
  /**
   * The host keys accept-new recorded to open this connection (jump hosts first, then the
   * target); empty when every key was known. Worth telling the user, as ssh does.
   */
  readonly hostKeysAdded: readonly AddedHostKey[];
  readonly #client: Ssh2Client;
  readonly #hops: readonly Ssh2Client[];
  readonly #hopKeys: readonly string[];
  readonly #probeMs: number;
  #closing = false;
  /** The close has been told (after a lost chain's hops were asked which one failed). */
  #reported = false;
  readonly #events = new EventEmitter();
  readonly #inFlight = new Set<(error: SshSessionError) => void>();
  #sftp: Promise<SFTPWrapper> | undefined;
  #closedError: SshSessionError | undefined;
  #closed = false;

  private constructor(
    key: string,
    client: Ssh2Client,
    hops: readonly Ssh2Client[],
    hopKeys: readonly string[],
    options: ConnectOptions,
    hostKey: HostKeyInfo,
    hostKeysAdded: readonly AddedHostKey[],
  ) {
    this.key = key;
    this.#client = client;
    this.#hops = hops;
    this.#hopKeys = hopKeys;
    this.#probeMs = probeDeadline(options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs);
    this.hostKey = hostKey;
    this.hostKeysAdded = Object.freeze(hostKeysAdded);
    client.on('error', (error: Error) => {
      this.#closedError ??= fromSsh2Error(error, 'established', key);
    });
    client.once('close', () => this.#onClose());
    // A hop that dies does not end the channels it carried: the target's transport would stay
    // open, unwritable, with its keepalive stopped (ssh2 skips it on an unwritable socket), and
    // a command in flight would wait forever. End it, so the close (and its blame) follows.
    for (const hop of hops) {
      hop.once('close', () => {
        if (!this.#closing) destroyTransport(client);
      });
    }
  }

  /**
   * Connects, verifies host keys (every hop), authenticates.
   *
   * @throws TypeError / RangeError for misuse, before any I/O: a bad host, port or username, a
   *   missing or malformed `auth` (the message names what to pass), no `hostKeys` policy.
   * @throws SshSessionError `INVALID_ARGUMENT` (a key file that cannot be read, before anything
   *   connects), `CONNECT_FAILED`, `CONNECT_TIMEOUT`, `AUTH_FAILED`, `HOST_KEY_UNKNOWN`,
   *   `HOST_KEY_CHANGED`, `HOST_KEY_REVOKED`, `ABORTED`.
   */
  static async connect(options: ConnectOptions): Promise<SshConnection> {
    validate(options);
    const jumps = options.jumps ?? [];
    // Every hop's key files first: a missing one fails here, locally, before any hop connects.
    const keys = await Promise.all([...jumps, options].map((endpoint) => loadKeys(endpoint.auth)));
    const hops: Ssh2Client[] = [];
    const added: AddedHostKey[] = [];
    const noteAdded = (endpoint: SshEndpoint, hostKey: HostKeyInfo): void => {
      if (hostKey.status !== 'added' || hostKey.file === undefined) return;
      added.push({ host: knownHostsName(endpoint.host, endpoint.port ?? DEFAULTS.port), type: hostKey.type, fingerprint: hostKey.fingerprint, file: hostKey.file });
    };
    const hopKeys = jumps.map(sessionKeyOf);
    // The hop whose own handshake is under way, while it is.
    let connectingHop: number | undefined;
    try {
      let sock: Duplex | undefined;
      for (const [index, hop] of jumps.entries()) {
        connectingHop = index;
        const opened = await openClient(hop, options, sock, keys[index] as LoadedKeys);
        connectingHop = undefined;
        watchHop(opened.client);
        hops.push(opened.client);
        noteAdded(hop, opened.hostKey);
        sock = await forwardOut(opened.client, nextOf(options, hop), {
          via: hopKeys[index] as string,
          viaName: hopName(hopKeys, index),
          ...(index + 1 < jumps.length ? { nextName: hopName(hopKeys, index + 1) } : {}),
        }, options);
      }
      const target = await openClient(options, options, sock, keys[jumps.length] as LoadedKeys);
      noteAdded(options, target.hostKey);
      return new SshConnection(sessionKeyOf(options), target.client, hops, hopKeys, options, target.hostKey, added);
    } catch (error) {
      const blamed = await blameConnectError(error, sessionKeyOf(options), hops, hopKeys, connectingHop, options);
      for (const hop of hops.reverse()) shutdown(hop, 0);
      throw blamed;
    }
  }

  /** False once the connection closed (peer gone, keepalive failure, or {@link close}). */
  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Why the connection closed, if it did with an error. */
  get closedError(): SshSessionError | undefined {
    return this.#closedError;
  }

  /** Called once when the connection closes, with the reason when it was not {@link close}. */
  onClose(listener: (error: SshSessionError | undefined) => void): () => void {
    if (this.#reported) {
      queueMicrotask(() => listener(this.#closedError));
      return () => undefined;
    }
    this.#events.once('close', listener);
    return () => this.#events.off('close', listener);
  }

  /**
   * Runs one command on an exec channel (no PTY) and collects its output.
   *
   * @throws SshSessionError `CONNECTION_CLOSED` when the connection dies meanwhile (not re-run),
   *   `ABORTED` when `signal` fires (the remote command gets SIGTERM and the channel is closed).
   */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (options.signal?.aborted) throw abortedError(this.key, options.signal);
    // The signal covers the exec request too (a peer may never answer it); a channel that still
    // arrives after the abort is closed.
    const channel = await untilAborted(this.execChannel(command), options.signal, () => abortedError(this.key, options.signal), (late) => late.destroy());
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let done = false;
      const fail = (error: SshSessionError): void => {
        if (done) return;
        done = true;
        cleanup();
        channel.destroy();
        reject(error);
      };
      const onAbort = (): void => {
        try {
          channel.signal('TERM');
        } catch {
          // channel already gone
        }
        fail(abortedError(this.key, options.signal));
      };
      const cleanup = (): void => {
        this.#inFlight.delete(fail);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.#inFlight.add(fail);
      // The signal may have fired while the channel was opening: its listener would never run.
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      channel.on('data', (data: Buffer) => stdout.push(data));
      channel.stderr.on('data', (data: Buffer) => stderr.push(data));
      channel.once('close', () => {
        void channel.exit.then((exit) => {
          if (done) return;
          // A channel that closed without an exit status because the link died is not a result.
          if (exit.code === null && exit.signal === undefined && (this.#closed || !isTransportAlive(this.#client))) {
            // Failed once the close is told: behind jump hosts, with the hop that failed.
            this.onClose(() => fail(this.#lostError()));
            return;
          }
          done = true;
          cleanup();
          const stdoutBytes = Buffer.concat(stdout);
          resolve({
            stdout: stdoutBytes.toString('utf8'),
            stdoutBytes,
            stderr: Buffer.concat(stderr).toString('utf8'),
            exitCode: exit.code,
            ...(exit.signal === undefined ? {} : { exitSignal: exit.signal }),
          });
        });
      });
      // Always close stdin: a command that reads it (cat, read) must see EOF, not wait forever.
      channel.end(options.stdin);
    });
  }

  /**
   * The SFTP session of this connection (the `sftp` subsystem on one channel), opened on first
   * use and shared by later calls; reopened after it ends.
   *
   * @throws SshSessionError `CHANNEL_OPEN_FAILED` (no SFTP subsystem, MaxSessions),
   *   `CONNECTION_CLOSED`.
   */
  sftp(): Promise<SFTPWrapper> {
    if (this.#closed) return Promise.reject(this.#lostError());
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      const fail = (error: SshSessionError): void => reject(error);
      this.#inFlight.add(fail);
      this.#client.sftp((error, sftp) => {
        this.#inFlight.delete(fail);
        if (error) {
          reject(
            this.#closed
              ? this.#lostError()
              : new SshSessionError('CHANNEL_OPEN_FAILED', `${this.key} refused an SFTP session: ${error.message} (Subsystem sftp in sshd_config?)`, {
                  cause: error,
                }),
          );
          return;
        }
        sftp.on('error', () => undefined);
        sftp.once('close', () => {
          this.#sftp = undefined;
        });
        resolve(sftp);
      });
    }).catch((error: unknown) => {
      this.#sftp = undefined;
      throw error;
    });
    return this.#sftp;
  }

  /**
   * A new SFTP session of its own (not the shared one of {@link sftp}): for a transfer that may be
   * cancelled by ending it. The caller ends it.
   *
   * @throws SshSessionError `CHANNEL_OPEN_FAILED`, `CONNECTION_CLOSED`.
   */
  openSftp(): Promise<SFTPWrapper> {
    if (this.#closed) return Promise.reject(this.#lostError());
    return new Promise<SFTPWrapper>((resolve, reject) => {
      const fail = (error: SshSessionError): void => reject(error);
      this.#inFlight.add(fail);
      this.#client.sftp((error, sftp) => {
        this.#inFlight.delete(fail);
        if (error) {
          reject(this.#closed ? this.#lostError() : new SshSessionError('CHANNEL_OPEN_FAILED', `${this.key} refused an SFTP session: ${error.message}`, { cause: error }));
          return;
        }
        sftp.on('error', () => undefined);
        resolve(sftp);
      });
    });
  }

  /** Opens an exec channel (no PTY) for streaming use. */
  execChannel(command: string, options: { readonly pty?: PtyOptions } = {}): Promise<SshChannel> {
    return this.#open((callback) =>
      options.pty ? this.#client.exec(command, { pty: toPty(options.pty) }, callback) : this.#client.exec(command, callback),
    );
  }

  /** Opens an interactive shell channel with a PTY. */
  shellChannel(pty: PtyOptions = {}): Promise<SshChannel> {
    return this.#open((callback) => this.#client.shell(toPty(pty), callback));
  }

  /**
   * Closes the connection and every hop. Idempotent. A peer that does not answer the polite close
   * within a second has its socket destroyed, so 'close' always follows.
   */
  close(): void {
    this.#closing = true;
    shutdown(this.#client, CLOSE_GRACE_MS);
    for (const hop of this.#hops) shutdown(hop, CLOSE_GRACE_MS);
  }

  #open(start: (callback: (error: Error | undefined, channel: ClientChannel) => void) => void): Promise<SshChannel> {
    if (this.#closed) return Promise.reject(this.#lostError());
    return new Promise((resolve, reject) => {
      const fail = (error: SshSessionError): void => reject(error);
      this.#inFlight.add(fail);
      try {
        start((error, channel) => {
          this.#inFlight.delete(fail);
          if (error) {
            reject(this.#closed ? this.#lostError() : channelError(this.key, error));
            return;
          }
          // Synchronously, before any later packet of this burst is parsed: see SshChannel.exit.
          const exit = new Promise<ChannelExit>((settle) => {
            channel.once('exit', (code: number | null, signalName?: string) =>
              settle({ code: code ?? null, ...(signalName ? { signal: signalName } : {}) }),
            );
            channel.once('close', () => settle({ code: null }));
          });
          // Errors on a channel (a write after its end) are followed by 'close', which callers
          // handle; unlistened, they would crash the process.
          channel.on('error', () => undefined);
          resolve(Object.assign(channel, { exit }) as unknown as SshChannel);
        });
      } catch (error) {
        this.#inFlight.delete(fail);
        reject(fromSsh2Error(error, 'established', this.key));
      }
    });
  }

  #lostError(): SshSessionError {
    return (
      this.#closedError ??
      new SshSessionError('CONNECTION_CLOSED', `connection to ${this.key} is closed; the command was not re-run`, {
        details: { target: this.key },
      })
    );
  }

  #onClose(): void {
    this.#closed = true;
    if (this.#closing || this.#hops.length === 0) {
      this.#finishClose();
      return;
    }
    // Lost behind jump hosts: say which hop failed (a killed hop has closed by now; a frozen one
    // does not answer), before anyone is told. A healthy chain answers in one round trip.
    void findDeadHop(this.#hops, this.#probeMs).then((dead) => {
      if (dead !== undefined && !this.#closing) this.#closedError = lostAtHop(this.key, this.#hopKeys, dead, this.#closedError);
      this.#finishClose();
    });
  }

  #finishClose(): void {
    this.#reported = true;
    for (const hop of this.#hops) shutdown(hop, CLOSE_GRACE_MS);
    const error = this.#lostError();
    for (const fail of [...this.#inFlight]) fail(error);
    this.#inFlight.clear();
    this.#events.emit('close', this.#closedError);
  }
}

function validate(options: ConnectOptions): void {
  for (const endpoint of [options, ...(options.jumps ?? [])]) {
    if (typeof endpoint.host !== 'string' || endpoint.host.length === 0 || /[\s\0]/.test(endpoint.host)) {
      throw new TypeError(`invalid host ${JSON.stringify(endpoint.host)}`);
    }
    const port = endpoint.port ?? DEFAULTS.port;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`invalid port ${String(port)}`);
    if (typeof endpoint.username !== 'string' || endpoint.username.length === 0 || /[\s\0]/.test(endpoint.username)) {
      throw new TypeError(`invalid username ${JSON.stringify(endpoint.username)}`);
    }
    validateAuth(endpoint, endpoint === options ? 'connect' : `jump host ${sessionKeyOf(endpoint)}`);
  }
  if (!options.hostKeys) throw new TypeError('hostKeys policy is required');
  const positive = (name: string, value: number | undefined, min: number): void => {
    if (value !== undefined && (!Number.isFinite(value) || value < min)) {
      throw new RangeError(`${name} must be a number ≥ ${min} (got ${String(value)})`);
    }
  };
  positive('connectTimeoutMs', options.connectTimeoutMs, 1);
  positive('keepaliveIntervalMs', options.keepaliveIntervalMs, 0);
  positive('keepaliveCountMax', options.keepaliveCountMax, 1);
}

const AUTH_SHAPE = 'auth: { agent?: string, privateKeys?: [{ path } | { key }], passphrase?: string, password?: string }';

/**
 * Credentials are misuse-checked here, before any I/O: a missing `auth` (or `agent` passed next
 * to `host` instead of inside it) must not surface later as a crash inside key loading.
 */
function validateAuth(endpoint: SshEndpoint, where: string): void {
  const auth = (endpoint as { readonly auth?: unknown }).auth;
  if (auth === undefined || auth === null || typeof auth !== 'object' || Array.isArray(auth)) {
    const misplaced = ['agent', 'privateKeys', 'passphrase', 'password'].filter((name) => name in endpoint);
    const hint = misplaced.length > 0 ? `; ${misplaced.join(', ')} belong${misplaced.length === 1 ? 's' : ''} inside auth` : '';
    throw new TypeError(`${where}: auth is required, got ${auth === null ? 'null' : Array.isArray(auth) ? 'an array' : typeof auth}: pass ${AUTH_SHAPE}${hint}`);
  }
  const { agent, privateKeys, passphrase, password } = auth as Record<string, unknown>;
  const optionalString = (name: string, value: unknown): void => {
    if (value !== undefined && typeof value !== 'string') throw new TypeError(`${where}: auth.${name} must be a string, got ${typeof value}`);
  };
  optionalString('agent', agent);
  optionalString('passphrase', passphrase);
  optionalString('password', password);
  if (privateKeys === undefined) return;
  if (!Array.isArray(privateKeys)) {
    throw new TypeError(`${where}: auth.privateKeys must be an array of { path } or { key }, got ${typeof privateKeys}`);
  }
  privateKeys.forEach((source: unknown, index) => {
    const entry = source as { path?: unknown; key?: unknown; passphrase?: unknown } | null;
    const byPath = typeof entry?.path === 'string' && entry.path.length > 0;
    const byKey = typeof entry?.key === 'string' || Buffer.isBuffer(entry?.key);
    if (!byPath && !byKey) {
      // Name the fields, never their values: a passphrase may sit next to a bad path.
      const got = entry !== null && typeof entry === 'object' ? `an object with ${Object.keys(entry).join(', ') || 'no fields'}` : typeof source;
      throw new TypeError(`${where}: auth.privateKeys[${index}] must be { path: string } or { key: string | Buffer }, got ${got}`);
    }
    optionalString(`privateKeys[${index}].passphrase`, entry?.passphrase);
  });
}

/** `user@host:port`: the key connections are pooled and shown under. */
export function sessionKeyOf(target: { readonly username: string; readonly host: string; readonly port?: number }): string {
  return `${target.username}@${target.host}:${target.port ?? DEFAULTS.port}`;
}

/** The endpoint that follows `hop` in the chain (the next hop, or the target). */
function nextOf(options: ConnectOptions, hop: SshEndpoint): SshEndpoint {
  const jumps = options.jumps ?? [];
  const index = jumps.indexOf(hop);
  return jumps[index + 1] ?? options;
}

function toPty(pty: PtyOptions): { term: string; cols: number; rows: number } {
  return { term: pty.term ?? 'dumb', cols: pty.cols ?? 200, rows: pty.rows ?? 50 };
}

/**
 * A direct-tcpip channel from a hop to the next hop or the target. `via` is the hop's key;
 * `viaName` and `nextName` are how messages call the hop and the next hop (the target: host:port).
 */
function forwardOut(
  client: Ssh2Client,
  next: SshEndpoint,
  names: { readonly via: string; readonly viaName: string; readonly nextName?: string },
  options: ConnectOptions,
): Promise<Duplex> {
  const { via, viaName } = names;
  const target = `${next.host}:${next.port ?? DEFAULTS.port}`;
  const nextName = names.nextName ?? target;
  const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: SshSessionError | undefined, channel?: Duplex): void => {
      if (settled) {
        channel?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(channel as Duplex);
    };
    // The jump host confirms the forward only once its own TCP connect is done: bound the wait.
    const timer = setTimeout(
      () =>
        settle(
          new SshSessionError('CONNECT_TIMEOUT', `${viaName} did not reach ${nextName} within ${timeoutMs} ms`, {
            details: { via, target },
          }),
        ),
      timeoutMs,
    );
    const onAbort = (): void => settle(abortedError(via, options.signal));
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      client.forwardOut('127.0.0.1', 0, next.host, next.port ?? DEFAULTS.port, (error, channel) => {
        if (!error) {
          settle(undefined, channel);
          return;
        }
        settle(
          new SshSessionError(
            'CONNECT_FAILED',
            `${viaName} could not open a forward to ${nextName}: ${error.message}` +
              ` (is AllowTcpForwarding enabled there, and is ${target} reachable from it?)`,
            { cause: error, details: { via, target } },
          ),
        );
      });
    } catch (error) {
      settle(fromSsh2Error(error, 'connect', via));
    }
  });
}

/** Errors a dead hop can explain: not a refused key, a wrong password or an abort. */
const HOP_EXPLAINS = new Set(['CONNECT_FAILED', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CHANNEL_OPEN_FAILED']);

/** A connect failure through jump hosts, said of the hop it belongs to (see internal/hops). */
async function blameConnectError(
  error: unknown,
  target: string,
  opened: readonly Ssh2Client[],
  hopKeys: readonly string[],
  connectingHop: number | undefined,
  options: ConnectOptions,
): Promise<unknown> {
  if (hopKeys.length === 0 || !(error instanceof SshSessionError) || !HOP_EXPLAINS.has(error.code)) return error;
  const dead = await findDeadHop(opened, probeDeadline(options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs));
  return connectErrorAtHop(error, target, hopKeys, dead, connectingHop);
}

interface Opened {
  readonly client: Ssh2Client;
  readonly hostKey: HostKeyInfo;
}

async function openClient(endpoint: SshEndpoint, options: ConnectOptions, sock: Duplex | undefined, loaded: LoadedKeys): Promise<Opened> {
  const key = sessionKeyOf(endpoint);
  const port = endpoint.port ?? DEFAULTS.port;
  const logger = options.logger ?? noopLogger;
  const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  // Skipped keys are noted per attempt (ssh2 reports unusable ones as it goes).
  const keys = { usable: loaded.usable, skipped: [...loaded.skipped] };
  const knownTypes =
    options.hostKeys.mode === 'insecureAcceptAnyHostKey'
      ? []
      : await knownHostKeyTypes({ host: endpoint.host, port, files: options.hostKeys.knownHostsFiles });
  const { handler, tried } = authHandler(endpoint, keys.usable);
  let hostKeyInfo: HostKeyInfo | undefined;
  let hostKeyError: SshSessionError | undefined;

  if (options.signal?.aborted) throw abortedError(key, options.signal);
  const client = new Client();
  // Behind a jump host the transport is a forwarded channel: when the next host's TCP ends, the
  // hop sends EOF but keeps the channel open (it waits for ours), so ssh2 emits 'end' and never
  // 'close'. A transport whose peer ended is done: destroy it, so 'close' follows.
  client.once('end', () => destroyTransport(client));
  return new Promise<Opened>((resolve, reject) => {
    let settled = false;
    const finish = (error: SshSessionError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        shutdown(client, 0);
        reject(error);
        return;
      }
      resolve({ client, hostKey: hostKeyInfo ?? { type: 'unknown', fingerprint: '', status: 'unchecked' } });
    };
    const onAbort = (): void => finish(abortedError(key, options.signal));
    // One deadline for TCP connect + handshake + auth (ssh2's readyTimeout excludes the TCP part).
    const timer = setTimeout(
      () => finish(fromSsh2Error(Object.assign(new Error('timed out'), { level: 'client-timeout' }), 'connect', key, { timeoutMs })),
      timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error: Error & { level?: string }) => {
      // ssh2 reports an unusable agent (stale SSH_AUTH_SOCK) or a key it cannot sign with, then
      // goes on with the next method: note it, do not fail the connect.
      if (!settled && (error.level === 'agent' || (error.level === 'client-authentication' && !/All configured authentication methods failed/i.test(error.message)))) {
        keys.skipped.push(`${error.level === 'agent' ? 'agent' : 'a key'} (${error.message})`);
        return;
      }
      if (hostKeyError) {
        finish(hostKeyError);
        return;
      }
      const authTried = describeTried(tried, keys.skipped);
      // "Too many authentication failures" arrives as a server disconnect, not as an auth error.
      const authDisconnect = tried.length > 0 && !error.level && /authentication/i.test(error.message);
      finish(
        fromSsh2Error(authDisconnect ? Object.assign(error, { level: 'client-authentication' }) : error, 'connect', key, {
          authTried,
          timeoutMs,
        }),
      );
    });
    client.once('close', () =>
      finish(hostKeyError ?? new SshSessionError('CONNECT_FAILED', `connection to ${key} closed during the handshake`)),
    );
    client.once('ready', () => {
      // Commands are small request/response exchanges: Nagle + delayed ACK would add ~40 ms each.
      client.setNoDelay(true);
      logger.log('debug', 'ssh connected', { target: key, hostKey: hostKeyInfo?.fingerprint });
      finish(undefined);
    });
    const transport = transportTo(endpoint.host, port, sock);
    const config: ConnectConfig = {
      host: endpoint.host,
      port,
      username: endpoint.username,
      readyTimeout: timeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
      tryKeyboard: endpoint.auth.password !== undefined,
      // Ask first for a key type known_hosts can verify, as OpenSSH does.
      algorithms: { serverHostKey: hostKeyAlgorithmsPreferring(knownTypes) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      authHandler: handler as unknown as ConnectConfig['authHandler'],
      sock: transport as unknown as ConnectConfig['sock'],
      hostVerifier: ((blob: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey(endpoint.host, port, blob, options.hostKeys).then(
          (info) => {
            hostKeyInfo = info;
            if (info.status === 'added') logger.log('info', `added host key for ${knownHostsName(endpoint.host, port)} to ${info.file ?? 'known_hosts'}`, { fingerprint: info.fingerprint });
            verify(true);
          },
          (error: unknown) => {
            hostKeyError =
              error instanceof SshSessionError
                ? error
                : new SshSessionError('HOST_KEY_REJECTED', `host key check for ${key} failed: ${String(error)}`, { cause: error });
            verify(false);
          },
        );
      }) as unknown as ConnectConfig['hostVerifier'],
    };
    try {
      client.connect(config);
    } catch (error) {
      // ssh2 refused the config before taking the transport: a socket made here is ours to close.
      if (!sock) transport.destroy();
      throw error;
    }
  });
}

/**
 * The transport ssh2 reads: the jump host's forwarded channel, or a TCP socket made here as ssh2
 * would make it (still connecting, so ssh2 waits for its 'connect' and sees its errors as its
 * own), each with the ident guard (internal/ident-guard: unpatched ssh2 loses a split ident).
 */
function transportTo(host: string, port: number, sock: Duplex | undefined): Duplex {
  if (sock) return guardIdentLine(sock);
  const socket = connectTcp({ host, port });
  // As ssh2 does for the socket it makes itself.
  socket.setMaxListeners(0);
  return guardIdentLine(socket);
}

/** The `ABORTED` error for an operation on `key` whose signal fired (internal; the pool uses it too). */
export function abortedError(key: string, signal: AbortSignal | undefined, what = 'operation on'): SshSessionError {
  return new SshSessionError('ABORTED', `${what} ${key} was aborted`, { cause: signal?.reason });
}

/**
 * `promise`, unless `signal` fires first: then it rejects at once with `aborted()`, and a value
 * that still arrives goes to `late` (to close it). The work itself is not stopped.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error, late?: (value: T) => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    if (late) void promise.then(late, () => undefined);
    return Promise.reject(aborted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(aborted());
      if (late) void promise.then(late, () => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function verifyHostKey(host: string, port: number, blob: Buffer, policy: HostKeyPolicy): Promise<HostKeyInfo> {
  const parsed = utils.parseKey(blob);
  const type = parsed instanceof Error || Array.isArray(parsed) ? 'unknown' : parsed.type;
  const fingerprint = fingerprintSha256(blob);
  if (policy.mode === 'insecureAcceptAnyHostKey') return { type, fingerprint, status: 'unchecked' };
  const name = knownHostsName(host, port);
  const check = await checkKnownHosts({ host, port, key: blob, files: policy.knownHostsFiles });
  // The offered key (public) goes with the error: a caller that has a person confirm it can record it.
  const details = { host: name, hostname: host, port, offeredType: type, offeredFingerprint: fingerprint, offeredKey: blob.toString('base64') };
  switch (check.status) {
    case 'match':
      return { type, fingerprint, status: 'known' };
    case 'revoked':
      throw new SshSessionError(
        'HOST_KEY_REVOKED',
        `host key for ${name} (${type} ${fingerprint}) is marked @revoked in ${check.file}:${check.line}; refusing to connect`,
        { details: { ...details, file: check.file, line: check.line } },
      );
    case 'changed':
      throw new SshSessionError(
        'HOST_KEY_CHANGED',
        `HOST KEY CHANGED for ${name}: offered ${type} ${fingerprint}, but ${check.file}:${check.line} has ` +
          `${check.knownType} ${check.knownFingerprint}. This may be an attack (or the host was reinstalled). ` +
          `If the change is expected, remove the old entry: ssh-keygen -R '${name}' -f ${check.file}`,
        { details: { ...details, file: check.file, line: check.line, knownFingerprint: check.knownFingerprint } },
      );
    case 'unknown': {
      const appendTo = policy.mode === 'accept-new' ? (policy.appendTo ?? policy.knownHostsFiles[0]) : undefined;
      if (policy.mode === 'strict' || appendTo === undefined) {
        throw new SshSessionError(
          'HOST_KEY_UNKNOWN',
          `host ${name} is not in known_hosts (${policy.knownHostsFiles.join(', ') || 'no files'}) and host key checking ` +
            `is strict; offered ${type} ${fingerprint}. Verify the fingerprint, then add it (ssh-keyscan -p ${port} ${host}) or use accept-new.`,
          { details },
        );
      }
      await appendKnownHost({ file: appendTo, host, port, key: blob });
      return { type, fingerprint, status: 'added', file: appendTo };
    }
  }
}

interface LoadedKey {
  readonly key: Buffer | string;
  readonly passphrase?: string;
  readonly label: string;
}

interface LoadedKeys {
  readonly usable: readonly LoadedKey[];
  /** Keys that cannot be offered, each with why (shown in an `AUTH_FAILED` message). */
  readonly skipped: readonly string[];
}

/** A key file is a small regular file: a FIFO or a device (`/dev/stdin`) would block the read forever. */
async function readKeyFile(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (stats.size > 1_048_576) throw Object.assign(new Error('too large for a key'), { code: 'ETOOBIG' });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Why a key file could not be read, as a person says it. */
function unreadableReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'no such file (a parent is not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'a directory, not a key file';
    case 'ENOTREG':
      return 'not a regular file';
    case 'ETOOBIG':
      return 'over 1 MiB, too large for a key';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

/**
 * Reads and parses the private keys of one endpoint. A key file that cannot be read or holds no
 * private key fails at once (`INVALID_ARGUMENT`) unless it is `optional`; an encrypted key without
 * its passphrase is skipped either way (the agent may hold it).
 */
async function loadKeys(auth: AuthOptions): Promise<LoadedKeys> {
  const usable: LoadedKey[] = [];
  const skipped: string[] = [];
  const unusable = (path: string, reason: string): SshSessionError =>
    new SshSessionError('INVALID_ARGUMENT', `key file ${path}: ${reason}; nothing was sent to the host`, { details: { keyFile: path, reason } });
  for (const source of auth.privateKeys ?? []) {
    const label = 'path' in source ? source.path : (source.label ?? 'inline key');
    const required = 'path' in source && source.optional !== true;
    let key: Buffer | string;
    try {
      key = 'path' in source ? await readKeyFile(source.path) : source.key;
    } catch (error) {
      if (required) throw unusable(label, unreadableReason(error));
      skipped.push(`${label} (unreadable: ${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    const passphrase = source.passphrase ?? auth.passphrase;
    const result = utils.parseKey(key, passphrase) as ReturnType<typeof utils.parseKey> | ReturnType<typeof utils.parseKey>[];
    // An OpenSSH private key file parses to a list (of one).
    const parsed = Array.isArray(result) ? (result[0] ?? new Error('no key in the file')) : result;
    // ssh2 parses public keys too (`id_ed25519.pub` named by mistake): they cannot sign.
    if (!(parsed instanceof Error) && !parsed.isPrivateKey()) {
      if (required) throw unusable(label, 'a public key, not a private key (name the file without .pub)');
      skipped.push(`${label} (a public key)`);
      continue;
    }
    if (parsed instanceof Error) {
      const encrypted = /encrypted|passphrase/i.test(parsed.message);
      if (required && !encrypted) throw unusable(label, 'not a private key');
      skipped.push(
        encrypted
          ? `${label} (${passphrase === undefined ? 'encrypted, no passphrase given' : 'wrong passphrase'})`
          : `${label} (not a private key)`,
      );
      continue;
    }
    usable.push({ key, label, ...(passphrase === undefined ? {} : { passphrase }) });
  }
  return { usable, skipped };
}

type AuthMethod =
  | { type: 'agent'; username: string; agent: string }
  | { type: 'publickey'; username: string; key: Buffer | string; passphrase?: string }
  | { type: 'password'; username: string; password: string }
  | {
      type: 'keyboard-interactive';
      username: string;
      prompt: (name: string, instructions: string, lang: string, prompts: { prompt: string }[], finish: (answers: string[]) => void) => void;
    };

/** Builds ssh2's authHandler: offers our methods in order, skipping those the server does not allow. */
function authHandler(endpoint: SshEndpoint, keys: readonly LoadedKey[]): {
  handler: (methodsLeft: string[] | null, partial: boolean | null, next: (method: AuthMethod | false) => void) => void;
  tried: string[];
} {
  const { username, auth } = endpoint;
  const candidates: { method: AuthMethod; serverName: string; label: string }[] = [];
  if (auth.agent) candidates.push({ method: { type: 'agent', username, agent: auth.agent }, serverName: 'publickey', label: 'agent' });
  for (const key of keys) {
    candidates.push({
      method: { type: 'publickey', username, key: key.key, ...(key.passphrase === undefined ? {} : { passphrase: key.passphrase }) },
      serverName: 'publickey',
      label: `publickey ${key.label}`,
    });
  }
  const password = auth.password;
  if (password !== undefined) {
    candidates.push({ method: { type: 'password', username, password }, serverName: 'password', label: 'password' });
    candidates.push({
      method: {
        type: 'keyboard-interactive',
        username,
        // Answer password prompts only: a one-time passcode or PIN prompt must not get (and burn)
        // the account password; anything else gets an empty answer.
        prompt: (_name, _instructions, _lang, prompts, finish) =>
          finish(prompts.map((p) => (/password/i.test(p.prompt) && !/one[- ]time|otp|passcode/i.test(p.prompt) ? password : ''))),
      },
      serverName: 'keyboard-interactive',
      label: 'keyboard-interactive',
    });
  }
  const tried: string[] = [];
  let index = 0;
  return {
    tried,
    handler: (methodsLeft, _partial, next) => {
      while (index < candidates.length) {
        const candidate = candidates[index++];
        if (!candidate) break;
        if (methodsLeft && !methodsLeft.includes(candidate.serverName)) continue;
        tried.push(candidate.label);
        next(candidate.method);
        return;
      }
      if (tried.length === 0 && methodsLeft) tried.push(`nothing to offer (server allows: ${methodsLeft.join(', ')})`);
      next(false);
    },
  };
}

function describeTried(tried: readonly string[], skipped: readonly string[]): string {
  const parts = tried.length > 0 ? [...tried] : ['no credentials (give a password, a key, or an agent)'];
  if (skipped.length > 0) parts.push(`skipped ${skipped.join(', ')}`);
  return parts.join(', ');
}

/**
 * A refused channel, told apart by what was refused: the channel itself (a real sshd at its
 * MaxSessions limit) or the request on an opened channel (`Unable to exec`: network devices and
 * restricted accounts decline exec; `Unable to open shell`, `Unable to request a pseudo-terminal`).
 */
function channelError(key: string, error: Error): SshSessionError {
  const refused = /^Unable to (exec|open shell|request a pseudo-terminal)/.exec(error.message)?.[1];
  if (refused) {
    const what = refused === 'exec' ? 'to run a command (exec request)' : refused === 'open shell' ? 'an interactive shell' : 'a terminal (PTY)';
    const hint = refused === 'exec' ? ': network devices and restricted accounts (ForceCommand) decline exec' : refused === 'open shell' ? ': the account or device allows no interactive session' : '';
    return new SshSessionError('CHANNEL_OPEN_FAILED', `${key} refused ${what}${hint}`, { cause: error, details: { refused: refused === 'exec' ? 'exec' : refused === 'open shell' ? 'shell' : 'pty' } });
  }
  return new SshSessionError('CHANNEL_OPEN_FAILED', `${key} refused a new channel: ${error.message} (too many sessions? MaxSessions in sshd_config)`, { cause: error });
}
