import { join } from 'node:path';
import type { AuthOptions, ConnectOptions, HostKeyPolicy, SshEndpoint } from './connection';
import type { Logger } from './logger';
import type { JumpHop, ResolvedTarget, StrictHostKeyChecking } from './ssh-config';

/** Credentials and defaults that do not come from ssh_config. Secrets stay in memory only. */
export interface TargetCredentials {
  /** ssh-agent socket (the caller reads SSH_AUTH_SOCK). Offered to the target and every hop. */
  readonly agent?: string;
  /** Password for the target only: never sent to a jump host. */
  readonly password?: string;
  /** Passphrase for encrypted key files. */
  readonly passphrase?: string;
  /**
   * Key files tried when ssh_config names none (like ssh's defaults); default
   * `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` under `homeDir`. Missing files are skipped (so are
   * ssh_config's IdentityFiles; `overrides.identityFiles` given to {@link resolveTarget} must exist).
   */
  readonly defaultIdentityFiles?: readonly string[];
  /** Used for the default identity files. */
  readonly homeDir: string;
}

export interface TargetConnectDefaults {
  /** Unknown-host policy when ssh_config does not set StrictHostKeyChecking. Default `accept-new`. */
  readonly strictHostKeyChecking?: StrictHostKeyChecking;
  /**
   * `StrictHostKeyChecking no` in ssh_config maps to the insecure opt-out only when this is true;
   * otherwise it is treated as `accept-new` (a changed key is still refused). Default false.
   */
  readonly allowInsecureHostKeys?: boolean;
  readonly connectTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** Default key files, as OpenSSH tries them. */
export function defaultIdentityFiles(homeDir: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(homeDir, '.ssh', name));
}

/**
 * Turns a target resolved from ssh_config ({@link resolveTarget}) plus credentials into
 * {@link ConnectOptions} for {@link SshConnection.connect}: identity files (or the default keys),
 * ProxyJump hops, keepalive, timeouts and the host key policy.
 */
export function connectOptionsFor(
  target: ResolvedTarget,
  credentials: TargetCredentials,
  defaults: TargetConnectDefaults = {},
): ConnectOptions {
  const endpoint = (hop: ResolvedTarget | JumpHop, password: string | undefined): SshEndpoint => {
    const keyFiles =
      hop.identityFiles.length > 0 || hop.identitiesOnly
        ? hop.identityFiles
        : (credentials.defaultIdentityFiles ?? defaultIdentityFiles(credentials.homeDir));
    // A key the caller named must be there (it fails the connect at once, locally); configured
    // and default ones are skipped when missing, as ssh does.
    const optional = !('identityFilesExplicit' in hop && hop.identityFilesExplicit);
    const auth: AuthOptions = {
      ...(credentials.agent && !hop.identitiesOnly ? { agent: credentials.agent } : {}),
      privateKeys: keyFiles.map((path) => (optional ? { path, optional } : { path })),
      ...(credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase }),
      ...(password === undefined ? {} : { password }),
    };
    return { host: hop.host, port: hop.port, username: hop.user, auth };
  };
  const strict = target.strictHostKeyChecking ?? defaults.strictHostKeyChecking ?? 'accept-new';
  const files = target.userKnownHostsFiles;
  let hostKeys: HostKeyPolicy;
  if (strict === 'no' && defaults.allowInsecureHostKeys) hostKeys = { mode: 'insecureAcceptAnyHostKey' };
  else if (strict === 'yes') hostKeys = { mode: 'strict', knownHostsFiles: files };
  else hostKeys = { mode: 'accept-new', knownHostsFiles: files };

  const keepaliveIntervalMs = target.serverAliveIntervalMs ?? defaults.keepaliveIntervalMs;
  const keepaliveCountMax = target.serverAliveCountMax ?? defaults.keepaliveCountMax;
  const connectTimeoutMs = target.connectTimeoutMs ?? defaults.connectTimeoutMs;
  return {
    ...endpoint(target, credentials.password),
    hostKeys,
    jumps: target.proxyJump.map((hop) => endpoint(hop, undefined)),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    ...(keepaliveIntervalMs === undefined ? {} : { keepaliveIntervalMs }),
    ...(keepaliveCountMax === undefined ? {} : { keepaliveCountMax }),
    ...(defaults.logger ? { logger: defaults.logger } : {}),
    ...(defaults.signal ? { signal: defaults.signal } : {}),
  };
}
