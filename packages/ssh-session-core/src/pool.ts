import { abortedError, SshConnection, sessionKeyOf, untilAborted, type ConnectOptions } from './connection';

export interface ConnectionPoolOptions {
  /** How to connect; default {@link SshConnection.connect}. */
  readonly connect?: (options: ConnectOptions) => Promise<SshConnection>;
}

/**
 * One connection per `user@host:port`. Concurrent callers for one key share one connect; a
 * connection that died is replaced on the next {@link acquire} (never behind a caller's back).
 */
export class ConnectionPool {
  readonly #connect: (options: ConnectOptions) => Promise<SshConnection>;
  readonly #open = new Map<string, SshConnection>();
  readonly #pending = new Map<string, { readonly promise: Promise<SshConnection>; readonly controller: AbortController }>();

  constructor(options: ConnectionPoolOptions = {}) {
    this.#connect = options.connect ?? ((connectOptions) => SshConnection.connect(connectOptions));
  }

  /**
   * The open connection for this target, or a new one. A failed connect is not cached: the next
   * call tries again. `key` (default `user@host:port`) names the pooled connection: give
   * distinct keys to hold several connections to one endpoint (other credentials).
   */
  acquire(options: ConnectOptions, key: string = sessionKeyOf(options)): Promise<SshConnection> {
    const existing = this.#open.get(key);
    if (existing?.isOpen) return Promise.resolve(existing);
    let pending = this.#pending.get(key);
    if (!pending) {
      // The shared connect belongs to the pool, not to the first caller: one caller's abort must
      // not fail the others. Each caller's own signal only stops its own wait.
      const controller = new AbortController();
      const promise = this.#connect({ ...options, signal: controller.signal }).then(
        (connection) => {
          this.#pending.delete(key);
          this.#open.set(key, connection);
          connection.onClose(() => {
            if (this.#open.get(key) === connection) this.#open.delete(key);
          });
          return connection;
        },
        (error: unknown) => {
          this.#pending.delete(key);
          throw error;
        },
      );
      pending = { promise, controller };
      this.#pending.set(key, pending);
    }
    return waitFor(pending.promise, options.signal, key);
  }

  /** The open connection for a key, if any. */
  get(key: string): SshConnection | undefined {
    const connection = this.#open.get(key);
    return connection?.isOpen ? connection : undefined;
  }

  /** Keys of the open connections. */
  keys(): string[] {
    return [...this.#open].filter(([, connection]) => connection.isOpen).map(([key]) => key);
  }

  /** Closes one connection; resolves once it is closed. True if there was one. */
  async close(key: string): Promise<boolean> {
    const pending = this.#pending.get(key);
    pending?.controller.abort(new Error('pool closed'));
    const connection = this.#open.get(key) ?? (await pending?.promise.catch(() => undefined));
    if (!connection) return false;
    this.#open.delete(key);
    await closeAndWait(connection);
    return true;
  }

  /** Closes every connection and aborts connects under way. Resolves with how many were open. */
  async closeAll(): Promise<number> {
    const underWay = [...this.#pending.values()];
    for (const entry of underWay) entry.controller.abort(new Error('pool closed'));
    const pending = await Promise.all(underWay.map((entry) => entry.promise.catch(() => undefined)));
    const all = new Set([...this.#open.values(), ...pending.filter((c): c is SshConnection => c !== undefined)]);
    this.#open.clear();
    await Promise.all([...all].map(closeAndWait));
    return all.size;
  }
}

function closeAndWait(connection: SshConnection): Promise<void> {
  return new Promise((resolve) => {
    connection.onClose(() => resolve());
    connection.close();
  });
}

function waitFor(promise: Promise<SshConnection>, signal: AbortSignal | undefined, key: string): Promise<SshConnection> {
  // The pool keeps a connection a caller stopped waiting for: nothing to close late.
  return untilAborted(promise, signal, () => abortedError(key, signal, 'connecting to'));
}
