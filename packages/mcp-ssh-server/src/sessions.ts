import { createHash } from 'node:crypto';
import {
  appendKnownHost,
  ConnectionPool,
  connectOptionsFor,
  DeviceSession,
  deviceProfile,
  loginUsername,
  openHostShell,
  resolveTarget,
  sessionKeyOf,
  ShellSession,
  SshSessionError,
  isSshError,
  type Logger,
  type AddedHostKey,
  type ConnectOptions,
  type HostShellDetection,
  type Redactor,
  type SshConnection,
} from 'ssh-session-core';
import type { JobTarget } from 'ssh-async-jobs';
import { RemoteFiles, type TempFileJournal } from 'ssh-sftp-files';
import { ServerError } from './errors';
import { Policy } from './policy';

/** How a tool call names its host (the reference's parameters). */
export interface ConnectionParams {
  readonly host: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly key_filename?: string | undefined;
  readonly port?: number | undefined;
  readonly sudo_password?: string | undefined;
  /** netmiko `device_type` (`cisco_ios`…), `autodetect` (a device), `linux` (POSIX); absent: detected when the session opens. */
  readonly device_type?: string | undefined;
  readonly enable_password?: string | undefined;
  readonly enable_command?: string | undefined;
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
  /** `OVRD_<alias>_DEVICE_TYPE`: the host is a network device of this type. */
  readonly deviceType?: string;
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
  /** Host allow-list (checked before connecting). */
  readonly policy?: Policy;
  readonly connectTimeoutMs?: number;
  /** Whole session open (connect, auth, shell ready). Default 45000. */
  readonly openTimeoutMs?: number;
  /**
   * A host key never seen (not in known_hosts, where ssh_config says accept-new) is not recorded
   * on its own: the call's `confirmHostKey` is asked, and the key is added only when it resolves.
   * Without a `confirmHostKey`, such a host is refused (`HOST_KEY_UNKNOWN`).
   */
  readonly confirmNewHosts?: boolean;
  /** Records the temp files of writes and uploads, so that a crash's are removed by the next server. */
  readonly tempJournal?: TempFileJournal;
}

/** A host key offered by a host never seen, for a person to confirm. */
export interface NewHostKey {
  /** As known_hosts names it: `host` or `[host]:port`. */
  readonly host: string;
  readonly type: string;
  /** `SHA256:…`, as ssh prints it. */
  readonly fingerprint: string;
  /** The known_hosts file it is added to once confirmed. */
  readonly file: string;
}

/** Resolves when a person trusts the key; rejects (APPROVAL_DENIED, APPROVAL_PENDING) otherwise. */
export type HostKeyConfirmer = (key: NewHostKey) => Promise<void>;

/** One host's persistent session: its connection, its shell, its files. */
export interface Session {
  /** `user@host:port` (`#2`… appended for a further session with other credentials). */
  readonly key: string;
  /** `user@host:port`. */
  readonly endpoint: string;
  /** Digest of the credentials that opened it. */
  readonly credential: string;
  /** The name the first caller used (alias or host). */
  readonly alias: string;
  /** Every name calls reached it by (close_session takes any of them). */
  readonly aliases: Set<string>;
  readonly connection: SshConnection;
  /** The persistent shell: POSIX, or a network device's CLI. */
  readonly shell: ShellSession | DeviceSession;
  readonly kind: 'posix' | 'device';
  /** What the session talks to and the evidence (given by device_type, or detected). */
  readonly detection: HostShellDetection;
  /** Said once, in the next command result of this session (what was detected, a host key added). */
  readonly notices: string[];
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
  readonly device: { readonly profile: string; readonly prompt: string; readonly mode: string; readonly enabled: boolean } | null;
  readonly detection: { readonly kind: 'posix' | 'device'; readonly profile: string; readonly detected: boolean; readonly evidence: string };
  readonly created_at: string;
  readonly last_used_at: string;
}

/** What {@link SessionManager.watch} reports: a session was opened, or closed (its key). */
export interface SessionEvent {
  readonly type: 'open' | 'close';
  readonly key: string;
}

/** A session open under way. Cancelled (closed, or past its deadline): it ends closed. */
interface Opening {
  /** Set right after the open starts. */
  promise: Promise<Session>;
  readonly endpoint: string;
  readonly credential: string;
  readonly aliases: Set<string>;
  cancelled: boolean;
}

/** What a call's parameters resolve to, before anything connects. */
interface Resolved {
  /** `user@host:port`. */
  readonly endpoint: string;
  readonly connectOptions: ConnectOptions;
  /** The call named its own password or key: only a session opened with the same one is reused. */
  readonly explicit: boolean;
  /** A digest of the credentials that open the session (never shown). */
  readonly credential: string;
  readonly sudoPassword: string | undefined;
  /** `device_type` as given (undefined: detect), and the enable secret and command for devices. */
  readonly device: { readonly type: string | undefined; readonly enablePassword: string | undefined; readonly enableCommand: string | undefined };
  /** With confirmNewHosts: where a confirmed new host key goes (accept-new was turned into strict + a question). */
  readonly newHostKeysTo: string | undefined;
}

/**
 * Sessions by `user@host:port`: one connection and one persistent shell per host. A call that
 * names its own password or key file reuses only a session opened with those credentials (a
 * wrong password never rides on someone else's login); other calls reuse the host's session.
 */
export class SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #policy: Policy;
  readonly #pool = new ConnectionPool();
  readonly #sessions = new Map<string, Session>();
  readonly #opening = new Map<string, Opening>();
  readonly #watchers = new Set<(event: SessionEvent) => void>();

  constructor(options: SessionManagerOptions) {
    this.#options = options;
    this.#policy = options.policy ?? new Policy();
  }

  /**
   * The session for these parameters: reused when open, else connected and opened. With
   * `confirmNewHosts`, a host key never seen is shown to `confirmHostKey` (each hop's in turn) and
   * recorded in known_hosts only once it resolves; then the open is made again.
   */
  async session(params: ConnectionParams, confirmHostKey?: HostKeyConfirmer): Promise<Session> {
    const confirmed: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const resolved = await this.#resolve(params);
      try {
        const session = await this.#sessionFor(params, resolved);
        if (confirmed.length > 0) session.notices.push(...confirmed);
        return session;
      } catch (error) {
        const file = resolved.newHostKeysTo;
        if (!confirmHostKey || file === undefined || attempt >= 4 || !isSshError(error) || error.code !== 'HOST_KEY_UNKNOWN') throw error;
        const offered = error.details as { host?: unknown; hostname?: unknown; port?: unknown; offeredType?: unknown; offeredFingerprint?: unknown; offeredKey?: unknown };
        if (typeof offered.host !== 'string' || typeof offered.hostname !== 'string' || typeof offered.port !== 'number' || typeof offered.offeredKey !== 'string') throw error;
        const key: NewHostKey = { host: offered.host, type: String(offered.offeredType), fingerprint: String(offered.offeredFingerprint), file };
        await confirmHostKey(key);
        await appendKnownHost({ file, host: offered.hostname, port: offered.port, key: Buffer.from(offered.offeredKey, 'base64') });
        this.#options.logger.log('info', `added the confirmed host key for ${key.host} to ${file}`, { fingerprint: key.fingerprint });
        confirmed.push(`Added host key ${key.fingerprint} for ${key.host} to ${file} (${key.type}; a person confirmed it).`);
      }
    }
  }

  async #sessionFor(params: ConnectionParams, resolved: Resolved): Promise<Session> {
    const existing = this.#find(resolved);
    if (existing && existing.connection.isOpen && existing.shell.isOpen) {
      if (resolved.sudoPassword !== undefined) this.#setSudoPassword(existing, resolved.sudoPassword);
      // Kept for the session: later calls without enable_password still run privileged.
      if (resolved.device.enablePassword !== undefined && existing.shell instanceof DeviceSession) existing.shell.setEnablePassword(resolved.device.enablePassword);
      existing.lastUsedAt = Date.now();
      existing.aliases.add(params.host);
      return existing;
    }
    const key = existing?.key ?? this.#pendingKey(resolved) ?? this.#newKey(resolved.endpoint);
    let opening = this.#opening.get(key);
    if (!opening) {
      const entry: Opening = {
        promise: undefined as unknown as Promise<Session>,
        endpoint: resolved.endpoint,
        credential: resolved.credential,
        aliases: new Set([params.host]),
        cancelled: false,
      };
      const promise = this.#open(key, params.host, resolved, existing, entry).finally(() => {
        if (this.#opening.get(key) === entry) this.#opening.delete(key);
      });
      entry.promise = promise;
      opening = entry;
      this.#opening.set(key, opening);
    }
    opening.aliases.add(params.host);
    let session: Session;
    try {
      session = await withDeadline(opening.promise, this.#options.openTimeoutMs ?? 45_000, key);
    } catch (error) {
      // Past its deadline the open is abandoned, not left to block every later call to the host.
      if (isSshError(error) && error.code === 'CONNECT_TIMEOUT' && this.#opening.get(key) === opening) this.#cancel(key, opening);
      throw error;
    }
    session.aliases.add(params.host);
    if (resolved.sudoPassword !== undefined) this.#setSudoPassword(session, resolved.sudoPassword);
    return session;
  }

  #cancel(key: string, opening: Opening): void {
    opening.cancelled = true;
    this.#opening.delete(key);
    void this.#pool.close(key);
  }

  /**
   * The open session for these parameters, without connecting.
   *
   * @throws ServerError `NO_SESSION` when the host has none.
   */
  async existing(params: ConnectionParams): Promise<Session> {
    const resolved = await this.#resolve(params);
    const session = this.#find(resolved);
    if (!session || !session.shell.isOpen) {
      throw new ServerError('NO_SESSION', `there is no open session to ${resolved.endpoint}: start a program there with execute_command first`);
    }
    session.lastUsedAt = Date.now();
    return session;
  }

  async #resolve(params: ConnectionParams): Promise<Resolved> {
    const override = this.override(params.host);
    const password = params.password ?? override?.password;
    const sudoPassword = params.sudo_password ?? override?.sudoPassword;
    const enablePassword = params.enable_password ?? override?.enablePassword;
    this.#options.redactor.add(password);
    this.#options.redactor.add(sudoPassword);
    this.#options.redactor.add(enablePassword);
    const deviceType = params.device_type ?? override?.deviceType;
    const device = { type: deviceType, enablePassword, enableCommand: params.enable_command };
    // An unknown type fails here, before anything connects.
    const profile = deviceType !== undefined && !['linux', 'autodetect'].includes(deviceType.toLowerCase()) ? deviceProfile(deviceType) : undefined;
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
    this.#policy.checkHost(params.host, target.host);
    const connectOptions = connectOptionsFor(
      target,
      { agent: this.#options.agent, password, homeDir: this.#options.homeDir },
      { logger: this.#options.logger, ...(this.#options.connectTimeoutMs ? { connectTimeoutMs: this.#options.connectTimeoutMs } : {}) },
    );
    // A new host's key waits for a person: accept-new becomes strict, and the key is added once confirmed.
    const hostKeys = connectOptions.hostKeys;
    const confirming = this.#options.confirmNewHosts === true && hostKeys.mode === 'accept-new';
    return {
      endpoint: sessionKeyOf(connectOptions),
      // MikroTik takes its terminal options in the login name.
      connectOptions: {
        ...connectOptions,
        username: loginUsername(connectOptions.username, profile),
        ...(confirming ? { hostKeys: { mode: 'strict' as const, knownHostsFiles: hostKeys.knownHostsFiles } } : {}),
      },
      newHostKeysTo: confirming ? (hostKeys.appendTo ?? hostKeys.knownHostsFiles[0]) : undefined,
      device,
      explicit: params.password !== undefined || params.key_filename !== undefined,
      // The key files the login will offer (named in the call or in ssh_config) and the password.
      credential: createHash('sha256').update(JSON.stringify([password ?? null, target.identityFiles])).digest('base64'),
      sudoPassword,
    };
  }

  /** The session these parameters may use: same endpoint, and same credentials when the call named its own. */
  #find(resolved: Resolved): Session | undefined {
    for (const session of this.#sessions.values()) {
      if (session.endpoint !== resolved.endpoint) continue;
      if (!resolved.explicit || session.credential === resolved.credential) return session;
    }
    return undefined;
  }

  #pendingKey(resolved: Resolved): string | undefined {
    for (const [key, opening] of this.#opening) {
      if (opening.endpoint === resolved.endpoint && (!resolved.explicit || opening.credential === resolved.credential)) return key;
    }
    return undefined;
  }

  /** `user@host:port`, or `user@host:port#2`… for a further session to the same endpoint. */
  #newKey(endpoint: string): string {
    let key = endpoint;
    for (let n = 2; this.#sessions.has(key) || this.#opening.has(key); n++) key = `${endpoint}#${n}`;
    return key;
  }

  async #open(key: string, alias: string, resolved: Resolved, previous: Session | undefined, opening: Opening): Promise<Session> {
    if (previous) this.#closeSession(previous);
    let connection: SshConnection;
    let shell: ShellSession | DeviceSession;
    let detection: HostShellDetection;
    let hostKeysAdded: readonly AddedHostKey[];
    try {
      const device = resolved.device;
      // POSIX shell or device CLI: given by device_type, else decided from evidence (no extra
      // round trip on a POSIX host). A device that hangs up after a probe is reconnected.
      // A cancelled open connects no more: its key may already serve a newer open.
      const connect = (): Promise<SshConnection> =>
        opening.cancelled ? Promise.reject(new SshSessionError('ABORTED', `the session open to ${key} was cancelled`)) : this.#pool.acquire(resolved.connectOptions, key);
      ({ connection, shell, detection, hostKeysAdded } = await openHostShell(connect, {
        ...(device.type === undefined ? {} : { deviceType: device.type }),
        shell: { sudoPassword: resolved.sudoPassword },
        device: {
          ...(device.enablePassword === undefined ? {} : { enablePassword: device.enablePassword }),
          ...(device.enableCommand === undefined ? {} : { enableCommand: device.enableCommand }),
        },
      }));
    } catch (error) {
      // A login that succeeded must not stay pooled under this key for a later caller with other credentials.
      void this.#pool.close(key);
      throw error;
    }
    if (opening.cancelled) {
      shell.close();
      void this.#pool.close(key);
      throw new SshSessionError('CONNECTION_CLOSED', `the session to ${key} was closed while it was opening`);
    }
    const session: Session = {
      key,
      endpoint: resolved.endpoint,
      credential: resolved.credential,
      alias,
      aliases: new Set([alias]),
      connection,
      shell,
      kind: shell instanceof DeviceSession ? 'device' : 'posix',
      detection,
      notices: openNotices(detection, shell, resolved.device.enablePassword !== undefined, hostKeysAdded),
      target: {
        key,
        shell,
        // Read at use: a sudo password given later reaches extra shells too. Devices get no
        // second CLI session (their VTY lines are few): a busy device refuses with SESSION_BUSY.
        ...(shell instanceof DeviceSession ? {} : { openShell: () => ShellSession.open(connection, { sudoPassword: session.sudoPassword, loginShell: (shell as ShellSession).info.loginShell }) }),
      },
      files: new RemoteFiles(connection, { redactor: this.#options.redactor, ...(this.#options.tempJournal ? { tempJournal: this.#options.tempJournal } : {}) }),
      createdAt: Date.now(),
      lastUsedAt: Date.now(),
      sudoPassword: resolved.sudoPassword,
    };
    this.#sessions.set(key, session);
    this.#options.logger.log('info', 'session opened', { session: key, kind: detection.kind, profile: detection.profile, evidence: detection.evidence });
    this.#emit('open', key);
    return session;
  }

  /** Calls `listener` as sessions open and close (after the change). Returns the unsubscribe. */
  watch(listener: (event: SessionEvent) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #emit(type: SessionEvent['type'], key: string): void {
    for (const listener of this.#watchers) {
      try {
        listener({ type, key });
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  #setSudoPassword(session: Session, password: string): void {
    session.sudoPassword = password;
    if (session.shell instanceof ShellSession) session.shell.setSudoPassword(password);
  }

  /** The environment override for an alias, if any. */
  override(alias: string): HostOverride | undefined {
    const overrides = this.#options.overrides;
    if (!overrides) return undefined;
    return overrides.get(alias) ?? overrides.get(normalizeAlias(alias));
  }

  /** Every environment override, by alias as written in its variable. */
  overrides(): [string, HostOverride][] {
    return [...(this.#options.overrides ?? new Map<string, HostOverride>())];
  }

  /** The open session with this key (`user@host:port`, `#2`… for a further one), if any. */
  get(key: string): Session | undefined {
    return this.#sessions.get(key);
  }

  list(): SessionInfo[] {
    return [...this.#sessions.values()].map((session) => ({
      session: session.key,
      alias: session.alias,
      connected: session.connection.isOpen,
      login_shell: session.shell instanceof ShellSession ? session.shell.info.loginShell : `device:${session.shell.info.profile}`,
      device:
        session.shell instanceof DeviceSession
          ? { profile: session.shell.info.profile, prompt: session.shell.info.prompt, mode: session.shell.info.mode, enabled: session.shell.info.enabled }
          : null,
      detection: { ...session.detection },
      created_at: new Date(session.createdAt).toISOString(),
      last_used_at: new Date(session.lastUsedAt).toISOString(),
    }));
  }

  /**
   * Closes the sessions of `host` (an alias, a host name, or a session key), optionally one
   * user/port; `onClose` runs first for each (to end its jobs).
   */
  close(host: string, username?: string, port?: number, onClose?: (key: string) => void): string[] {
    const closed: string[] = [];
    const matches = (key: string, endpoint: string, aliases?: ReadonlySet<string>): boolean => {
      const [user, rest] = splitKey(endpoint);
      return (
        (key === host || endpoint === host || aliases?.has(host) === true || rest.host === host) &&
        (username === undefined || user === username) &&
        (port === undefined || rest.port === port)
      );
    };
    for (const session of [...this.#sessions.values()]) {
      if (!matches(session.key, session.endpoint, session.aliases)) continue;
      onClose?.(session.key);
      this.#closeSession(session);
      closed.push(session.key);
    }
    for (const [key, opening] of [...this.#opening]) {
      if (!matches(key, opening.endpoint, opening.aliases)) continue;
      this.#cancel(key, opening);
      closed.push(`${key} (while opening)`);
    }
    return closed;
  }

  closeAll(onClose?: (key: string) => void): string[] {
    const keys = [...this.#sessions.keys()];
    for (const [key, opening] of [...this.#opening]) this.#cancel(key, opening);
    for (const session of [...this.#sessions.values()]) {
      onClose?.(session.key);
      this.#closeSession(session);
    }
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
    this.#emit('close', session.key);
  }
}

/**
 * What the first result of a new session says, a paragraph each: the host keys accept-new
 * recorded (as ssh prints "Permanently added"), what was detected, an enable secret with no use.
 */
function openNotices(detection: HostShellDetection, shell: ShellSession | DeviceSession, enableGiven: boolean, hostKeysAdded: readonly AddedHostKey[]): string[] {
  const notices: string[] = [];
  if (hostKeysAdded.length > 0) {
    notices.push(hostKeysAdded.map((added) => `Added host key ${added.fingerprint} for ${added.host} to ${added.file} (${added.type}; first connection, StrictHostKeyChecking accept-new).`).join('\n'));
  }
  const device: string[] = [];
  if (detection.detected && detection.kind === 'device') device.push(`detected: ${detection.profile} (${detection.evidence})`);
  if (enableGiven && shell instanceof DeviceSession && !shell.profile.enable) {
    device.push(`enable_password not used: ${shell.profile.name} has no enable mode (its CLI already has the login's rights)`);
  }
  if (device.length > 0) notices.push(device.join('\n'));
  return notices;
}

/** Rejects with `CONNECT_TIMEOUT` when `promise` takes longer than `ms` (it may still settle later). */
function withDeadline<T>(promise: Promise<T>, ms: number, key: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new SshSessionError('CONNECT_TIMEOUT', `opening the session to ${key} took more than ${Math.round(ms / 1000)} s (connect, login and shell start); is the host reachable, and does its shell or CLI show a prompt?`)),
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
