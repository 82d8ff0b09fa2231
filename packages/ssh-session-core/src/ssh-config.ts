import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, parse as parsePath, sep } from 'node:path';
import SSHConfig, { glob } from 'ssh-config';
import type { Directive, Line, Match, Section } from 'ssh-config';

/** Host-key policy for unknown hosts, as `StrictHostKeyChecking` gives it (`ask` maps to `yes`). */
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

/** One ProxyJump hop, resolved through ssh_config like a target of its own. */
export interface JumpHop {
  /** The host as written in the ProxyJump spec (the alias looked up in the config). */
  readonly alias: string;
  /** HostName of the hop's alias (`%h` expanded, lowercased), else the alias itself. */
  readonly host: string;
  /** Port from the spec, else the config, else 22. */
  readonly port: number;
  /** User from the spec, else the config, else `localUser`. */
  readonly user: string;
  /** Every IdentityFile of the hop's alias, `~` and tokens expanded, in config order. */
  readonly identityFiles: readonly string[];
  readonly identitiesOnly: boolean;
}

/** Where and how to connect for one host argument, after ssh_config and explicit overrides. */
export interface ResolvedTarget {
  /** What the caller passed as host. */
  readonly alias: string;
  /** HostName (with `%h` expanded) or the alias; lowercased, as `ssh` does. */
  readonly host: string;
  /** Default 22. */
  readonly port: number;
  /** Default: `options.localUser`. */
  readonly user: string;
  /** Every IdentityFile, `~` and `%d %u %h %r %p %n %%` expanded, in order; empty if none configured. */
  readonly identityFiles: readonly string[];
  /**
   * True when `identityFiles` are the caller's (`overrides.identityFiles`), not ssh_config's:
   * {@link connectOptionsFor} then makes a missing or unreadable one fail the connect at once,
   * where configured ones are skipped as ssh skips them.
   */
  readonly identityFilesExplicit: boolean;
  /** Default false. */
  readonly identitiesOnly: boolean;
  /** ProxyJump chain, first hop first; empty for no ProxyJump or `none`. */
  readonly proxyJump: readonly JumpHop[];
  /** ConnectTimeout in milliseconds; absent when not configured. */
  readonly connectTimeoutMs?: number;
  /** ServerAliveInterval in milliseconds; 0 means off; absent when not configured. */
  readonly serverAliveIntervalMs?: number;
  /** ServerAliveCountMax; absent when not configured. */
  readonly serverAliveCountMax?: number;
  /** Absent when neither the config nor the overrides set it (the caller's default applies). */
  readonly strictHostKeyChecking?: StrictHostKeyChecking;
  /** UserKnownHostsFile entries, `~` expanded; default `[<homeDir>/.ssh/known_hosts]`; `none` gives `[]`. */
  readonly userKnownHostsFiles: readonly string[];
  /** `${user}@${host}:${port}`: two aliases for the same user, host and port give the same key. */
  readonly sessionKey: string;
}

/** Explicit arguments of {@link resolveTarget}; each one wins over the config. */
export interface ResolveTargetOverrides {
  readonly user?: string;
  /** Integer from 1 to 65535. */
  readonly port?: number;
  /** Replace the configured IdentityFiles (`~` and tokens expanded); an empty list is ignored. */
  readonly identityFiles?: readonly string[];
  /** A ProxyJump spec (see {@link parseProxyJump}); `none` disables a configured ProxyJump. */
  readonly proxyJump?: string;
  readonly strictHostKeyChecking?: StrictHostKeyChecking;
}

/** Options of {@link resolveTarget}. */
export interface ResolveTargetOptions {
  /**
   * ssh_config file to read. A file that does not exist counts as empty, as with `ssh`. When
   * neither this nor `configText` is given, no config is read (core never reads `process.env`).
   */
  readonly configPath?: string;
  /** Config text instead of a file, for tests and embedders; relative Includes resolve against `<homeDir>/.ssh`. */
  readonly configText?: string;
  /** Absolute home directory of the local user: `~`, `%d` and relative Include paths use it. */
  readonly homeDir: string;
  /** Local user name: the default remote user and `%u`. */
  readonly localUser: string;
  /** Explicit arguments override the config. */
  readonly overrides?: ResolveTargetOverrides;
}

/** One parsed ProxyJump hop: `[user@]host[:port]`, `ssh://[user@]host[:port]`, `[ipv6]:port`. */
export interface ProxyJumpSpec {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
}

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;
/** Bound on nested ProxyJump expansion (the first hop's own ProxyJump, and so on). */
const MAX_JUMP_HOPS = 16;
const PROBE_KEYWORD = 'XSshSessionCoreSectionProbe';
/** Never run `Match exec` commands: core starts no processes for config evaluation. */
const COMPUTE_OPTIONS = Object.freeze({ ignoreCase: true, matchExec: false });

interface ConfigTree {
  readonly root: SSHConfig;
  /** The parsed files each Include directive names, in include order. */
  readonly includes: ReadonlyMap<Directive, readonly SSHConfig[]>;
  /** computeFor results on this tree, by alias and user (the tree never changes once loaded). */
  readonly computed: Map<string, Computed>;
}

/** Every file read and directory listed while loading a tree, with its stat stamp at that time. */
type Stamps = Map<string, string>;

interface Settings {
  readonly homeDir: string;
  readonly localUser: string;
}

type Computed = Record<string, string | string[]>;

/**
 * Parses a ProxyJump value: comma-separated hops, each `[user@]host[:port]`,
 * `ssh://[user@]host[:port]` or with a bracketed IPv6 address (`[::1]:2222`). `none` gives `[]`.
 * An unbracketed address with several colons is taken as an IPv6 host without a port.
 *
 * @throws TypeError when the spec or a hop is empty or malformed.
 * @throws RangeError when a port is not an integer from 1 to 65535.
 */
export function parseProxyJump(spec: string): ProxyJumpSpec[] {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new TypeError(`ProxyJump spec must be a non-empty string, got ${JSON.stringify(spec)}`);
  }
  const trimmed = spec.trim();
  if (trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map((part) => parseJumpHop(part.trim(), trimmed));
}

/**
 * Resolves a host argument the way `ssh` would: ssh_config (with Include) gives HostName, Port,
 * User, IdentityFile, IdentitiesOnly, ProxyJump, ConnectTimeout, ServerAlive*, StrictHostKeyChecking
 * and UserKnownHostsFile; explicit overrides win. Each ProxyJump hop is resolved through the same
 * config; the first hop's own ProxyJump is prepended, as `ssh -J` does. `Match exec` is never run.
 *
 * @throws TypeError (synchronously) for an empty or malformed alias, missing homeDir/localUser,
 *   both configPath and configText, or malformed overrides.
 * @throws RangeError (synchronously) for an override port outside 1–65535 or an unknown
 *   strictHostKeyChecking value.
 * @returns a promise rejected with RangeError for bad values in the config (Port, times, flags), an
 *   Include loop or nesting deeper than 16, or a ProxyJump loop; with SyntaxError for unparsable
 *   config text; with the fs error when a config file exists but cannot be read.
 */
export function resolveTarget(alias: string, options: ResolveTargetOptions): Promise<ResolvedTarget> {
  validate(alias, options);
  return resolveValidated(alias, options);
}

/**
 * The hosts an ssh_config names: every `Host` pattern without wildcards or negation (in the file
 * and its Includes, in order, once each), resolved as {@link resolveTarget} would. `Match`
 * blocks and wildcard patterns are settings, not hosts, and are skipped.
 *
 * A host whose settings cannot be resolved (a ProxyJump loop, a bad port) fails the whole call,
 * unless `onInvalid` is given: then it is reported there and left out, and the others are listed.
 */
export async function listConfiguredHosts(
  options: Omit<ResolveTargetOptions, 'overrides'> & { readonly onInvalid?: (alias: string, error: Error) => void },
): Promise<ResolvedTarget[]> {
  validate('localhost', options);
  const settings: Settings = { homeDir: options.homeDir, localUser: options.localUser };
  const tree = await loadConfigTree(options, settings);
  const aliases: string[] = [];
  const visit = (config: readonly Line[]): void => {
    for (const line of config) {
      if (line.type !== SSHConfig.DIRECTIVE) continue;
      if (isSection(line)) {
        if (!isMatch(line) && line.param.toLowerCase() === 'host') {
          for (const pattern of values(line.value)) {
            if (!/[*?!]/.test(pattern) && !aliases.includes(pattern)) aliases.push(pattern);
          }
        }
        visit(line.config);
      } else if (isInclude(line)) {
        for (const file of tree.includes.get(line) ?? []) visit(file);
      }
    }
  };
  visit(tree.root);
  const hosts: ResolvedTarget[] = [];
  for (const alias of aliases) {
    // A pattern `ssh` could never be asked for (spaces, '@') is not a host.
    if (/[\s@,\p{Cc}]/u.test(alias)) continue;
    try {
      // Against the tree loaded above: every alias sees the same version of the files.
      hosts.push(resolveWithTree(alias, options, tree, settings));
    } catch (error) {
      // Only an alias's own settings (a ProxyJump loop, a bad port) make it invalid.
      if (options.onInvalid === undefined || !(error instanceof RangeError || error instanceof TypeError)) throw error;
      options.onInvalid(alias, error);
    }
  }
  return hosts;
}

function validate(alias: string, options: ResolveTargetOptions): void {
  if (typeof alias !== 'string' || alias === '' || /[\s@,\p{Cc}]/u.test(alias)) {
    throw new TypeError(`host must be a non-empty host name or alias without spaces, '@' or ',', got ${JSON.stringify(alias)}`);
  }
  if (typeof options?.homeDir !== 'string' || !isAbsolute(options.homeDir)) {
    throw new TypeError('options.homeDir must be an absolute path');
  }
  if (typeof options.localUser !== 'string' || options.localUser === '') {
    throw new TypeError('options.localUser must be a non-empty string');
  }
  if (options.configPath !== undefined && options.configText !== undefined) {
    throw new TypeError('pass options.configPath or options.configText, not both');
  }
  if (options.configPath !== undefined && (typeof options.configPath !== 'string' || options.configPath === '')) {
    throw new TypeError('options.configPath must be a non-empty string');
  }
  if (options.configText !== undefined && typeof options.configText !== 'string') {
    throw new TypeError('options.configText must be a string');
  }
  const overrides = options.overrides ?? {};
  if (overrides.user !== undefined && (typeof overrides.user !== 'string' || overrides.user === '' || /[\s\p{Cc}]/u.test(overrides.user))) {
    throw new TypeError(`overrides.user must be a non-empty user name, got ${JSON.stringify(overrides.user)}`);
  }
  if (overrides.port !== undefined) checkPort(overrides.port, 'overrides.port');
  if (
    overrides.identityFiles !== undefined &&
    (!Array.isArray(overrides.identityFiles) || !overrides.identityFiles.every((file) => typeof file === 'string' && file !== ''))
  ) {
    throw new TypeError('overrides.identityFiles must be an array of non-empty paths');
  }
  if (overrides.proxyJump !== undefined) parseProxyJump(overrides.proxyJump);
  const policy = overrides.strictHostKeyChecking;
  if (policy !== undefined && policy !== 'yes' && policy !== 'accept-new' && policy !== 'no') {
    throw new RangeError(`overrides.strictHostKeyChecking must be 'yes', 'accept-new' or 'no', got ${JSON.stringify(policy)}`);
  }
}

async function resolveValidated(alias: string, options: ResolveTargetOptions): Promise<ResolvedTarget> {
  const settings: Settings = { homeDir: options.homeDir, localUser: options.localUser };
  return resolveWithTree(alias, options, await loadConfigTree(options, settings), settings);
}

/** One alias against an already loaded tree: throws RangeError/TypeError for settings it cannot use. */
function resolveWithTree(alias: string, options: ResolveTargetOptions, tree: ConfigTree, settings: Settings): ResolvedTarget {
  const overrides = options.overrides ?? {};
  const computed = computeFor(tree, alias, overrides.user, settings);

  const host = single(computed, 'hostname') ?? alias.toLowerCase();
  const port = overrides.port ?? parsePortValue(single(computed, 'port'), alias) ?? 22;
  const user = overrides.user ?? single(computed, 'user') ?? settings.localUser;
  const tokens = { h: host, r: user, p: String(port), n: alias, d: settings.homeDir, u: settings.localUser };
  const identityFilesExplicit = overrides.identityFiles !== undefined && overrides.identityFiles.length > 0;
  const identitySource = identityFilesExplicit ? (overrides.identityFiles as readonly string[]) : list(computed, 'identityfile');
  const sessionKey = `${user}@${host}:${port}`;

  const jumpSpec = overrides.proxyJump ?? single(computed, 'proxyjump');
  const proxyJump = jumpSpec === undefined ? [] : resolveJumpChain(tree, jumpSpec, settings, { alias, keys: [sessionKey] });

  const connectTimeout = single(computed, 'connecttimeout');
  const aliveInterval = single(computed, 'serveraliveinterval');
  const aliveCountMax = single(computed, 'serveralivecountmax');
  const policy = overrides.strictHostKeyChecking ?? parseStrictHostKeyChecking(single(computed, 'stricthostkeychecking'), alias);
  const knownHosts = list(computed, 'userknownhostsfile');

  return Object.freeze({
    alias,
    host,
    port,
    user,
    identityFiles: Object.freeze(identitySource.map((file) => expandPath(file, settings.homeDir, tokens))),
    identityFilesExplicit,
    identitiesOnly: parseFlag(single(computed, 'identitiesonly'), 'IdentitiesOnly', alias) ?? false,
    proxyJump: Object.freeze(proxyJump),
    ...(connectTimeout === undefined ? {} : { connectTimeoutMs: parseSeconds(connectTimeout, 'ConnectTimeout', alias) * 1000 }),
    ...(aliveInterval === undefined ? {} : { serverAliveIntervalMs: parseSeconds(aliveInterval, 'ServerAliveInterval', alias) * 1000 }),
    ...(aliveCountMax === undefined ? {} : { serverAliveCountMax: parseCount(aliveCountMax, 'ServerAliveCountMax', alias) }),
    ...(policy === undefined ? {} : { strictHostKeyChecking: policy }),
    userKnownHostsFiles: Object.freeze(
      knownHosts.length === 0
        ? [join(settings.homeDir, '.ssh', 'known_hosts')]
        : knownHosts.length === 1 && knownHosts[0]?.toLowerCase() === 'none'
          ? []
          : knownHosts.map((file) => expandPath(file, settings.homeDir, tokens)),
    ),
    sessionKey,
  });
}

/**
 * Resolves the hops of one ProxyJump spec. As with `ssh -J a,b`, only the first hop is connected
 * without a jump of its own, so its configured ProxyJump (if any) comes before it. `visited`
 * holds the `user@host:port` of the target and of every hop found so far: a repeat is a loop.
 */
function resolveJumpChain(
  tree: ConfigTree,
  spec: string,
  settings: Settings,
  visited: { readonly alias: string; readonly keys: readonly string[] },
): JumpHop[] {
  const hops = parseProxyJump(spec).map((hop) => resolveHop(tree, hop, settings));
  const keys = [...visited.keys];
  for (const { hop } of hops) {
    const key = `${hop.user}@${hop.host}:${hop.port}`;
    if (keys.includes(key)) {
      throw new RangeError(`ProxyJump loop for ${visited.alias}: ${key} is reached again via ProxyJump ${JSON.stringify(spec)}`);
    }
    keys.push(key);
  }
  const first = hops[0];
  if (first === undefined) return [];
  if (keys.length - 1 > MAX_JUMP_HOPS) {
    throw new RangeError(`ProxyJump chain for ${visited.alias} is longer than ${MAX_JUMP_HOPS} hops`);
  }
  const firstSpec = single(first.computed, 'proxyjump');
  const before = firstSpec === undefined ? [] : resolveJumpChain(tree, firstSpec, settings, { alias: visited.alias, keys });
  return [...before, ...hops.map(({ hop }) => hop)];
}

function resolveHop(tree: ConfigTree, spec: ProxyJumpSpec, settings: Settings): { readonly hop: JumpHop; readonly computed: Computed } {
  const computed = computeFor(tree, spec.host, spec.user, settings);
  const host = single(computed, 'hostname') ?? spec.host.toLowerCase();
  const port = spec.port ?? parsePortValue(single(computed, 'port'), spec.host) ?? 22;
  const user = spec.user ?? single(computed, 'user') ?? settings.localUser;
  const tokens = { h: host, r: user, p: String(port), n: spec.host, d: settings.homeDir, u: settings.localUser };
  return {
    hop: Object.freeze({
      alias: spec.host,
      host,
      port,
      user,
      identityFiles: Object.freeze(list(computed, 'identityfile').map((file) => expandPath(file, settings.homeDir, tokens))),
      identitiesOnly: parseFlag(single(computed, 'identitiesonly'), 'IdentitiesOnly', spec.host) ?? false,
    }),
    computed,
  };
}

function parseJumpHop(text: string, spec: string): ProxyJumpSpec {
  if (text === '') throw new TypeError(`empty hop in ProxyJump ${JSON.stringify(spec)}`);
  let rest = text;
  const isUri = /^ssh:\/\//i.test(rest);
  if (isUri) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (isUri) {
      try {
        user = decodeURIComponent(user);
      } catch {
        throw new TypeError(`malformed user in ProxyJump hop ${JSON.stringify(text)}`);
      }
    }
    if (user === '' || /[\s\p{Cc}]/u.test(user)) throw new TypeError(`malformed user in ProxyJump hop ${JSON.stringify(text)}`);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new TypeError(`unclosed '[' in ProxyJump hop ${JSON.stringify(text)}`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new TypeError(`unexpected ${JSON.stringify(after)} after ']' in ProxyJump hop ${JSON.stringify(text)}`);
      portText = after.slice(1);
    }
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) < 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else {
      host = rest;
    }
  }
  if (host === '' || /[\s@/,[\]\p{Cc}]/u.test(host)) {
    throw new TypeError(`malformed host in ProxyJump hop ${JSON.stringify(text)}`);
  }
  const port = portText === undefined ? undefined : parsePort(portText, `port of ProxyJump hop ${JSON.stringify(text)}`);
  return { host, ...(user === undefined ? {} : { user }), ...(port === undefined ? {} : { port }) };
}

// ---------------------------------------------------------------------------------------------
// Loading: the config and every Include. A loaded tree is kept (per config path, home and local
// user) and reused while every file and directory it was read from has the same stat stamp
// (inode, size, mtime, ctime in ns; or still missing), so a server resolving a host on every
// call does not re-read and re-parse its ssh_config each time (a profile of 50 sessions × 100
// calls showed that at 40% of the server's CPU). An edit to any of them is seen on the next call.

const TREE_CACHE_SIZE = 16;
const COMPUTED_CACHE_SIZE = 256;
const treeCache = new Map<string, { readonly tree: ConfigTree; readonly stamps: Stamps }>();

async function loadConfigTree(options: ResolveTargetOptions, settings: Settings): Promise<ConfigTree> {
  if (options.configPath === undefined) return loadUncached(options, settings, new Map());
  const key = `${options.configPath}\0${settings.homeDir}\0${settings.localUser}`;
  const cached = treeCache.get(key);
  if (cached !== undefined && unchanged(cached.stamps)) return cached.tree;
  const stamps: Stamps = new Map();
  const tree = await loadUncached(options, settings, stamps);
  treeCache.delete(key);
  treeCache.set(key, { tree, stamps });
  if (treeCache.size > TREE_CACHE_SIZE) treeCache.delete(treeCache.keys().next().value as string);
  return tree;
}

async function loadUncached(options: ResolveTargetOptions, settings: Settings, stamps: Stamps): Promise<ConfigTree> {
  const includes = new Map<Directive, readonly SSHConfig[]>();
  let name = '<configText>';
  let text = options.configText;
  if (options.configPath !== undefined) {
    name = options.configPath;
    text = await readOptional(options.configPath, stamps);
  }
  const root = text === undefined ? new SSHConfig() : parseConfigText(text, name);
  await loadIncludes(root, [name], includes, settings, stamps);
  return { root, includes, computed: new Map() };
}

/**
 * A stamp never equal to any other: a file changed less than {@link RACY_MS} before it was
 * stamped may change again within the same clock tick (coarse on older kernels) with the same
 * size, so it is re-read on the next call until it has been quiet that long (as git treats
 * "racily clean" files).
 */
const RACY = 'racy';
const RACY_MS = 2_000n;

/**
 * `ino:size:mtime:ctime` of a path (ns), `missing`, or {@link RACY}. Taken before reading, so a
 * later edit always shows. Synchronous on purpose: it runs on every tool call for the handful of
 * local files a config is made of, where a `stat` takes microseconds, while the promise form
 * sends each one through libuv's thread pool and back (two thread wake-ups per call, which cost
 * far more than the stat itself once the process has been idle).
 */
function stampOf(path: string): string {
  try {
    const info = statSync(path, { bigint: true });
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now - info.mtimeNs < RACY_MS * 1_000_000n || now - info.ctimeNs < RACY_MS * 1_000_000n) return RACY;
    return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch (error) {
    if (isMissing(error)) return 'missing';
    throw error;
  }
}

function unchanged(stamps: Stamps): boolean {
  for (const [path, stamp] of stamps) {
    if (stamp === RACY) return false;
    let now: string;
    try {
      now = stampOf(path);
    } catch {
      return false;
    }
    if (now !== stamp) return false;
  }
  return true;
}

async function loadIncludes(
  config: readonly Line[],
  stack: readonly string[],
  includes: Map<Directive, readonly SSHConfig[]>,
  settings: Settings,
  stamps: Stamps,
): Promise<void> {
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE) continue;
    if (isSection(line)) {
      await loadIncludes(line.config, stack, includes, settings, stamps);
      continue;
    }
    if (!isInclude(line)) continue;
    if (stack.length > MAX_INCLUDE_DEPTH) {
      throw new RangeError(`Include nested deeper than ${MAX_INCLUDE_DEPTH} levels: ${stack.join(' → ')}`);
    }
    const files: SSHConfig[] = [];
    for (const pattern of values(line.value)) {
      for (const path of await expandIncludePattern(pattern, settings.homeDir, stamps)) {
        if (stack.includes(path)) throw new RangeError(`Include loop: ${[...stack, path].join(' → ')}`);
        const text = await readOptional(path, stamps);
        if (text === undefined) continue;
        const parsed = parseConfigText(text, path);
        await loadIncludes(parsed, [...stack, path], includes, settings, stamps);
        files.push(parsed);
      }
    }
    includes.set(line, files);
  }
}

/** File text, or undefined when the file does not exist (as `ssh` treats a missing config). */
async function readOptional(path: string, stamps: Stamps): Promise<string | undefined> {
  stamps.set(path, stampOf(path));
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function parseConfigText(text: string, name: string): SSHConfig {
  try {
    return SSHConfig.parse(text);
  } catch (error) {
    throw new SyntaxError(`cannot parse ssh config ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Files an Include argument names: `~` expanded, relative paths against `<homeDir>/.ssh`, `*` and
 * `?` in any path component matched against directory listings (sorted, dotfiles only for
 * patterns starting with a dot, as glob(3)). Missing directories give no files.
 */
async function expandIncludePattern(pattern: string, homeDir: string, stamps: Stamps): Promise<string[]> {
  const expanded = expandTilde(pattern, homeDir);
  const absolute = isAbsolute(expanded) ? expanded : join(homeDir, '.ssh', expanded);
  const { root } = parsePath(absolute);
  const parts = absolute.slice(root.length).split(sep === '\\' ? /[\\/]/ : '/').filter((part) => part !== '');
  let paths = [root];
  for (const [index, part] of parts.entries()) {
    const isLast = index === parts.length - 1;
    if (!/[*?]/.test(part)) {
      paths = paths.map((path) => join(path, part));
      continue;
    }
    const regex = wildcardToRegExp(part);
    const next: string[] = [];
    for (const dir of paths) {
      let entries;
      try {
        stamps.set(dir, stampOf(dir));
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      const names = entries
        .filter((entry) => regex.test(entry.name) && (isLast ? !entry.isDirectory() : !entry.isFile()))
        .map((entry) => entry.name)
        .sort();
      next.push(...names.map((entryName) => join(dir, entryName)));
    }
    paths = next;
  }
  return paths;
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${pattern.startsWith('.') ? '' : '(?!\\.)'}${body}$`);
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

// ---------------------------------------------------------------------------------------------
// Evaluation: Includes spliced in per host, then ssh-config's compute (first value wins).

function computeFor(tree: ConfigTree, alias: string, user: string | undefined, settings: Settings): Computed {
  const key = `${alias.toLowerCase()}\0${user ?? '\u0001'}`;
  const known = tree.computed.get(key);
  if (known !== undefined) return known;
  const query = { Host: alias.toLowerCase(), User: user };
  const computed = flatten(tree, query, alias.toLowerCase(), settings).compute(query, COMPUTE_OPTIONS);
  // Bounded: host names come from callers (an agent may try many).
  if (tree.computed.size >= COMPUTED_CACHE_SIZE) tree.computed.delete(tree.computed.keys().next().value as string);
  tree.computed.set(key, computed);
  return computed;
}

/**
 * One flat config for one host: top-level Includes spliced in place; a Host/Match block that
 * contains an Include is evaluated at that point and, if it applies, its lines and the included
 * files (with their own Host/Match blocks) are lifted to the top level; if it does not apply, its
 * included files are dropped. ssh-config's compute then runs on plain Host/Match blocks.
 */
function flatten(tree: ConfigTree, query: { readonly Host: string; readonly User?: string }, alias: string, settings: Settings): SSHConfig {
  const out = new SSHConfig();
  const visit = (lines: readonly Line[]): void => {
    for (const line of lines) {
      if (line.type !== SSHConfig.DIRECTIVE) continue;
      if (isSection(line)) {
        const section = normalizeSection(line, alias, settings);
        if (section === undefined) continue;
        if (line.config.some((sub) => sub.type === SSHConfig.DIRECTIVE && isInclude(sub)) && sectionApplies(out, section, query)) {
          visit(line.config);
        } else {
          out.push(section);
        }
      } else if (isInclude(line)) {
        for (const file of tree.includes.get(line) ?? []) visit(file);
      } else {
        const directive = normalizeDirective(line, alias);
        if (directive !== undefined) out.push(directive);
      }
    }
  };
  visit(tree.root);
  return out;
}

/** Whether a Host/Match block applies after the lines before it, asked of ssh-config itself. */
function sectionApplies(before: readonly Line[], section: Section, query: { readonly Host: string; readonly User?: string }): boolean {
  const probeBlock = new SSHConfig();
  probeBlock.push({ type: SSHConfig.DIRECTIVE, param: PROBE_KEYWORD, separator: ' ', value: 'yes', before: '', after: '' });
  const probe = new SSHConfig();
  probe.push(...before, { ...section, config: probeBlock });
  return probe.compute(query, COMPUTE_OPTIONS)[PROBE_KEYWORD.toLowerCase()] === 'yes';
}

/**
 * A copy of a Host/Match block ssh-config can evaluate like OpenSSH: host patterns compared
 * case-insensitively, `Match localuser` decided with `localUser` (not the process user), Include
 * lines removed. Undefined when the block can never apply.
 */
function normalizeSection(section: Section, alias: string, settings: Settings): Section | undefined {
  const config = new SSHConfig();
  for (const sub of section.config) {
    if (sub.type !== SSHConfig.DIRECTIVE || isInclude(sub)) continue;
    const directive = normalizeDirective(sub, alias);
    if (directive !== undefined) config.push(directive);
  }
  if (!isMatch(section)) {
    const value = typeof section.value === 'string' ? section.value.toLowerCase() : section.value.map((part) => ({ ...part, val: part.val.toLowerCase() }));
    return { ...section, value, config };
  }
  const criteria: Match['criteria'] = {};
  for (const [key, value] of Object.entries(section.criteria)) {
    const lower = key.toLowerCase();
    if (lower === 'localuser' && typeof value === 'string') {
      if (!glob(value, settings.localUser)) return undefined;
      continue;
    }
    criteria[key] = (lower === 'host' || lower === 'originalhost') && typeof value === 'string' ? value.toLowerCase() : value;
  }
  const match: Match = { ...section, criteria, config };
  return match;
}

/**
 * HostName gets `%h` expanded and is lowercased here, so `Match host` sees the real name;
 * keywords ssh-config tracks case-sensitively get their canonical spelling; CanonicalizeHostName
 * is dropped (we do not canonicalize, and ssh-config would spawn nslookup for it).
 */
function normalizeDirective(line: Directive, alias: string): Directive | undefined {
  const param = line.param.toLowerCase();
  if (param === 'canonicalizehostname') return undefined;
  if (param === 'hostname' && typeof line.value === 'string') {
    return { ...line, param: 'HostName', value: line.value.replace(/%([%h])/g, (_, key: string) => (key === 'h' ? alias : '%')).toLowerCase() };
  }
  if (param === 'user') return { ...line, param: 'User' };
  return line;
}

function isSection(line: Line): line is Section {
  return line.type === SSHConfig.DIRECTIVE && 'config' in line;
}

function isMatch(section: Section): section is Match {
  return 'criteria' in section;
}

function isInclude(line: Directive): boolean {
  return !isSection(line) && line.param.toLowerCase() === 'include';
}

// ---------------------------------------------------------------------------------------------
// Values.

function values(value: Directive['value']): string[] {
  return typeof value === 'string' ? [value] : value.map((part) => part.val);
}

function single(computed: Computed, key: string): string | undefined {
  const value = computed[key];
  return Array.isArray(value) ? value[0] : value;
}

function list(computed: Computed, key: string): readonly string[] {
  const value = computed[key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function expandTilde(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  return path.startsWith('~/') ? join(homeDir, path.slice(2)) : path;
}

/** `~` first, then `%` tokens, as `ssh` does; unknown tokens stay as written. */
function expandPath(path: string, homeDir: string, tokens: Readonly<Record<string, string>>): string {
  return expandTilde(path, homeDir).replace(/%([%a-zA-Z])/g, (whole, key: string) => (key === '%' ? '%' : (tokens[key] ?? whole)));
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${what} must be an integer from 1 to 65535, got ${String(port)}`);
  }
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new RangeError(`${what} must be an integer from 1 to 65535, got ${JSON.stringify(text)}`);
  const port = Number(text);
  checkPort(port, what);
  return port;
}

function parsePortValue(text: string | undefined, alias: string): number | undefined {
  return text === undefined ? undefined : parsePort(text, `Port for ${alias} in ssh config`);
}

/** OpenSSH time format: `30`, `30s`, `1m30s`, `2h`… (seconds). */
function parseSeconds(text: string, keyword: string, alias: string): number {
  if (!/^(\d+[smhdw]?)+$/i.test(text)) {
    throw new RangeError(`${keyword} for ${alias} in ssh config is not a time (seconds, or like 1m30s): ${JSON.stringify(text)}`);
  }
  const units: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw]?)/gi)) {
    seconds += Number(amount) * (units[(unit ?? '').toLowerCase()] ?? 1);
  }
  return seconds;
}

function parseCount(text: string, keyword: string, alias: string): number {
  if (!/^\d+$/.test(text)) throw new RangeError(`${keyword} for ${alias} in ssh config is not a count: ${JSON.stringify(text)}`);
  return Number(text);
}

function parseFlag(text: string | undefined, keyword: string, alias: string): boolean | undefined {
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (lower === 'yes' || lower === 'true') return true;
  if (lower === 'no' || lower === 'false') return false;
  throw new RangeError(`${keyword} for ${alias} in ssh config must be yes or no, got ${JSON.stringify(text)}`);
}

function parseStrictHostKeyChecking(text: string | undefined, alias: string): StrictHostKeyChecking | undefined {
  if (text === undefined) return undefined;
  switch (text.toLowerCase()) {
    case 'yes':
    case 'true':
    case 'ask': // we cannot ask: refuse unknown keys
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    default:
      throw new RangeError(`StrictHostKeyChecking for ${alias} in ssh config must be yes, accept-new, no, off or ask, got ${JSON.stringify(text)}`);
  }
}
