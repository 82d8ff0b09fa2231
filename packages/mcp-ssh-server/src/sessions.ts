import {
  ConnectionPool,
  connectOptionsFor,
  resolveTarget,
  sessionKeyOf,
  ShellSession,
  SshSessionError,
  type Logger,
  type Redactor,
  type SshConnection,
} from 'ssh-session-core';
import type { JobTarget } from 'ssh-async-jobs';
import { RemoteFiles } from 'ssh-sftp-files';

/** How a tool call names its host (the reference's parameters). */
export interface ConnectionParams {
  readonly host: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly key_filename?: string | undefined;
  readonly port?: number | undefined;
  readonly sudo_password?: string | undefined;
}

/** Per-alias values from the environment (`OVRD_<alias>_HOST` …), so secrets need not pass through the model. */
export interface HostOverride {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly key?: string;
  readonly sudoPassword?: string;
  readonly enablePassword?: string;
}

export interface SessionManagerOptions {
  readonly homeDir: string;
  readonly localUser: string;
  /** ssh_config to read (a missing file counts as empty). */
  readonly sshConfigPath: string;
  /** ssh-agent socket. */
  readonly agent?: string | undefined;
  /** Keyed by alias as written, or upper-cased with non-alphanumerics as `_`. */
  readonly overrides?: ReadonlyMap<string, HostOverride>;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly connectTimeoutMs?: number;
  /** Whole session open (connect, auth, shell ready). Default 45000. */
  readonly openTimeoutMs?: number;
}

/** One host's persistent session: its connection, its shell, its files. */
export interface Session {
  readonly key: string;
  /** The name the caller used (alias or host). */
  readonly alias: string;
  readonly connection: SshConnection;
  readonly shell: ShellSession;
  readonly target: JobTarget;
  readonly files: RemoteFiles;
  readonly createdAt: number;
  lastUsedAt: number;
  /** The latest sudo password given for this host (a call's `sudo_password`, or `OVRD_<alias>_SUDO_PASS`). */
  sudoPassword: string | undefined;
}

export interface SessionInfo {
  readonly session: string;
  readonly alias: string;
  readonly connected: boolean;
  readonly login_shell: string;
  readonly created_at: string;
  readonly last_used_at: string;
}

/** Sessions by `user@host:port`: one connection and one persistent shell per host. */
export class SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #pool = new ConnectionPool();
  readonly #sessions = new Map<string, Session>();
  readonly #opening = new Map<string, Promise<Session>>();
  /** Keys closed while their open was under way: the open ends closed. */
  readonly #closedWhileOpening = new Set<string>();

  constructor(options: SessionManagerOptions) {
    this.#options = options;
  }

  /** The session for these parameters: reused when open, else connected and opened. */
  async session(params: ConnectionParams): Promise<Session> {
    const override = this.override(params.host);
    const password = params.password ?? override?.password;
    const sudoPassword = params.sudo_password ?? override?.sudoPassword;
    this.#options.redactor.add(password);
    this.#options.redactor.add(sudoPassword);
    this.#options.redactor.add(override?.enablePassword);
    const keyFile = params.key_filename ?? override?.key;
    const target = await resolveTarget(override?.host ?? params.host, {
      configPath: this.#options.sshConfigPath,
      homeDir: this.#options.homeDir,
      localUser: this.#options.localUser,
      overrides: {
        ...(params.username ?? override?.user ? { user: params.username ?? override?.user } : {}),
        ...(params.port ?? override?.port ? { port: params.port ?? override?.port } : {}),
        ...(keyFile ? { identityFiles: [keyFile] } : {}),
      },
    });
    const connectOptions = connectOptionsFor(
      target,
      { agent: this.#options.agent, password, homeDir: this.#options.homeDir },
      { logger: this.#options.logger, ...(this.#options.connectTimeoutMs ? { connectTimeoutMs: this.#options.connectTimeoutMs } : {}) },
    );
    const key = sessionKeyOf(connectOptions);
    const existing = this.#sessions.get(key);
    if (existing && existing.connection.isOpen && existing.shell.isOpen) {
      if (sudoPassword !== undefined) this.#setSudoPassword(existing, sudoPassword);
      existing.lastUsedAt = Date.now();
      return existing;
    }
    let opening = this.#opening.get(key);
    if (!opening) {
      opening = (async () => {
        existing?.shell.close();
        this.#closedWhileOpening.delete(key);
        const connection = await this.#pool.acquire(connectOptions);
        const shell = await ShellSession.open(connection, { sudoPassword });
        if (this.#closedWhileOpening.delete(key)) {
          shell.close();
          void this.#pool.close(key);
          throw new SshSessionError('CONNECTION_CLOSED', `the session to ${key} was closed while it was opening`);
        }
        const session: Session = {
          key,
          alias: params.host,
          connection,
          shell,
          target: {
            key,
            shell,
            // Read at use: a sudo password given later reaches extra shells too.
            openShell: () => ShellSession.open(connection, { sudoPassword: session.sudoPassword }),
          },
          files: new RemoteFiles(connection, { redactor: this.#options.redactor }),
          createdAt: Date.now(),
          lastUsedAt: Date.now(),
          sudoPassword,
        };
        this.#sessions.set(key, session);
        this.#options.logger.log('info', 'session opened', { session: key });
        return session;
      })().finally(() => this.#opening.delete(key));
      this.#opening.set(key, opening);
    }
    const session = await withDeadline(opening, this.#options.openTimeoutMs ?? 45_000, key);
    if (sudoPassword !== undefined) this.#setSudoPassword(session, sudoPassword);
    return session;
  }

  #setSudoPassword(session: Session, password: string): void {
    session.sudoPassword = password;
    session.shell.setSudoPassword(password);
  }

  /** The environment override for an alias, if any. */
  override(alias: string): HostOverride | undefined {
    const overrides = this.#options.overrides;
    if (!overrides) return undefined;
    return overrides.get(alias) ?? overrides.get(normalizeAlias(alias));
  }

  list(): SessionInfo[] {
    return [...this.#sessions.values()].map((session) => ({
      session: session.key,
      alias: session.alias,
      connected: session.connection.isOpen,
      login_shell: session.shell.info.loginShell,
      created_at: new Date(session.createdAt).toISOString(),
      last_used_at: new Date(session.lastUsedAt).toISOString(),
    }));
  }

  /** Closes the sessions of `host` (an alias, a host name, or a session key), optionally one user/port. */
  close(host: string, username?: string, port?: number): string[] {
    const closed: string[] = [];
    for (const session of [...this.#sessions.values()]) {
      const [user, rest] = splitKey(session.key);
      const matches =
        (session.key === host || session.alias === host || rest.host === host) &&
        (username === undefined || user === username) &&
        (port === undefined || rest.port === port);
      if (!matches) continue;
      this.#closeSession(session);
      closed.push(session.key);
    }
    for (const key of this.#opening.keys()) {
      const [user, rest] = splitKey(key);
      if ((key === host || rest.host === host) && (username === undefined || user === username) && (port === undefined || rest.port === port)) {
        this.#closedWhileOpening.add(key);
        closed.push(`${key} (while opening)`);
      }
    }
    return closed;
  }

  closeAll(): string[] {
    const keys = [...this.#sessions.keys()];
    for (const key of this.#opening.keys()) this.#closedWhileOpening.add(key);
    for (const session of [...this.#sessions.values()]) this.#closeSession(session);
    void this.#pool.closeAll();
    return keys;
  }

  #closeSession(session: Session): void {
    session.shell.close();
    // Through the pool, which forgets it at once: the next call connects afresh instead of
    // getting this connection while it closes.
    void this.#pool.close(session.key);
    this.#sessions.delete(session.key);
    this.#options.logger.log('info', 'session closed', { session: session.key });
  }
}

/** Rejects with `CONNECT_TIMEOUT` when `promise` takes longer than `ms` (it may still settle later). */
function withDeadline<T>(promise: Promise<T>, ms: number, key: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new SshSessionError('CONNECT_TIMEOUT', `opening the session to ${key} took more than ${Math.round(ms / 1000)} s (connect, login and shell start); is the host reachable and its shell POSIX?`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** `web-1.example` → `WEB_1_EXAMPLE`, the form environment variable names can carry. */
export function normalizeAlias(alias: string): string {
  return alias.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
}

function splitKey(key: string): [string, { host: string; port: number }] {
  const at = key.lastIndexOf('@');
  const colon = key.lastIndexOf(':');
  return [key.slice(0, at), { host: key.slice(at + 1, colon).replace(/^\[|\]$/g, ''), port: Number(key.slice(colon + 1)) }];
}
