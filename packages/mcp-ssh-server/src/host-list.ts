import { listConfiguredHosts, resolveTarget } from 'ssh-session-core';
import type { SessionManager } from './sessions';

/** Where the host list comes from: the server's ssh_config, its OVRD_<alias>_* overrides, its open sessions. */
export interface HostListContext {
  readonly sessions: SessionManager;
  readonly sshConfigPath: string;
  readonly homeDir: string;
  readonly localUser: string;
}

/** One host a call can name without further details. Never a password. */
export interface HostEntry {
  readonly alias: string;
  readonly host: string;
  readonly user: string;
  readonly port: number;
  /** `user@host:port` of each jump host, in order. */
  readonly proxy_jump: string[];
  readonly source: 'ssh_config' | 'environment';
  readonly credentials_in_environment: boolean;
  readonly session_open: boolean;
}

/** What list_hosts returns (its structured content) and ssh://hosts holds. */
export interface HostList {
  readonly config_path: string;
  readonly hosts: HostEntry[];
  /** Host entries whose settings cannot be used (the rest are listed). */
  readonly invalid_hosts: { alias: string; error: string }[];
}

/**
 * The hosts this server knows: the Host entries of its ssh_config (resolved; an alias that
 * `OVRD_<alias>_HOST` sends elsewhere shows where it really goes) and the aliases only the
 * environment defines. One broken entry (a ProxyJump loop, a bad port) is reported in
 * `invalid_hosts`, not a reason to list nothing.
 */
export async function listHosts(context: HostListContext): Promise<HostList> {
  const { sessions, sshConfigPath, homeDir, localUser } = context;
  const invalid: { alias: string; error: string }[] = [];
  const configured = await listConfiguredHosts({
    configPath: sshConfigPath,
    homeDir,
    localUser,
    // An alias whose OVRD_<alias>_HOST sends it elsewhere works whatever its ssh_config block says.
    onInvalid: (alias, error) => {
      if (!sessions.override(alias)?.host) invalid.push({ alias, error: error.message });
    },
  });
  const open = new Set(sessions.list().map((s) => s.alias));
  const hosts: HostEntry[] = [];
  for (const configuredTarget of configured) {
    const override = sessions.override(configuredTarget.alias);
    const target = override?.host ? await resolveTarget(override.host, { configPath: sshConfigPath, homeDir, localUser }).catch(() => configuredTarget) : configuredTarget;
    hosts.push({
      alias: configuredTarget.alias,
      host: target.host,
      user: override?.user ?? target.user,
      port: override?.port ?? target.port,
      proxy_jump: target.proxyJump.map((hop) => `${hop.user}@${hop.host}:${hop.port}`),
      source: 'ssh_config',
      credentials_in_environment: Boolean(override?.password ?? override?.key),
      session_open: open.has(configuredTarget.alias),
    });
  }
  for (const [alias, override] of sessions.overrides()) {
    if (hosts.some((h) => h.alias === alias) || !override.host) continue;
    hosts.push({
      alias,
      host: override.host,
      user: override.user ?? localUser,
      port: override.port ?? 22,
      proxy_jump: [],
      source: 'environment',
      credentials_in_environment: Boolean(override.password ?? override.key),
      session_open: open.has(alias),
    });
  }
  return { config_path: sshConfigPath, hosts, invalid_hosts: invalid };
}
