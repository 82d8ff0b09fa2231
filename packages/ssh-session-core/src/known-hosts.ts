import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fingerprintSha256 } from './keys';

/**
 * What the known_hosts files say about a host key. `file` and `line` (1-based) name the line that
 * decided the result.
 *
 * - `match`: a line for the host holds exactly the offered key.
 * - `revoked`: a `@revoked` line for the host holds the offered key; this wins over any match.
 * - `changed`: the host is known, but not with the offered key. The line named is the first one
 *   with a key of the offered key's type or, if there is none, the first line for the host.
 * - `unknown`: no line names the host.
 */
export type HostKeyCheck =
  | { readonly status: 'match'; readonly file: string; readonly line: number }
  | { readonly status: 'revoked'; readonly file: string; readonly line: number }
  | {
      readonly status: 'changed';
      readonly file: string;
      readonly line: number;
      /** Key type of the known key, e.g. `ssh-ed25519`. */
      readonly knownType: string;
      /** `SHA256:…` of the known key, as `ssh-keygen -lf` prints it. */
      readonly knownFingerprint: string;
    }
  | { readonly status: 'unknown' };

/** Input of {@link checkKnownHosts}. */
export interface CheckKnownHostsInput {
  /** Host name or IP address as the user gave it (compared case-insensitively). */
  readonly host: string;
  /** TCP port; names other than port 22 are looked up as `[host]:port`. */
  readonly port: number;
  /** The key the server offered, in SSH wire format. */
  readonly key: Uint8Array;
  /** known_hosts files, searched in order; missing files are skipped. */
  readonly files: readonly string[];
}

/** Input of {@link appendKnownHost}. */
export interface AppendKnownHostInput {
  /** The known_hosts file to append to; it and its parent directory are created if missing. */
  readonly file: string;
  readonly host: string;
  readonly port: number;
  /** The key to record, in SSH wire format. */
  readonly key: Uint8Array;
}

interface KnownHostLine {
  readonly file: string;
  readonly line: number;
  readonly revoked: boolean;
  readonly type: string;
  readonly blob: Buffer;
}

/**
 * The name OpenSSH writes to and looks up in known_hosts: `host` for port 22, else `[host]:port`.
 * The host is lowercased, as `ssh` does before it looks a host up or hashes its name.
 *
 * @throws TypeError when the host is empty or contains whitespace, a comma or a control character.
 * @throws RangeError when the port is not an integer from 1 to 65535.
 */
export function knownHostsName(host: string, port: number): string {
  if (typeof host !== 'string' || host === '' || /[\s,\p{Cc}]/u.test(host)) {
    throw new TypeError(`not a host name usable in known_hosts: ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/**
 * Looks up `host:port` in the known_hosts files (in order; missing files are skipped) and compares
 * the offered key, with OpenSSH semantics: comma-separated patterns with `*`, `?` and `!negation`,
 * `[host]:port` names, hashed `|1|salt|hmac` names, and `@revoked` lines (checked in every file,
 * they win over any match). `@cert-authority` lines are ignored: certificates are not supported.
 * A host known only with keys of other types is reported as `changed`. Comments, blank lines and
 * malformed lines are skipped.
 *
 * @throws TypeError when the key is not an SSH wire-format blob or `files` is not a list of paths.
 * @throws RangeError when the port is out of range.
 * @returns A rejected promise with the `fs` error when a file exists but cannot be read.
 */
export function checkKnownHosts(input: CheckKnownHostsInput): Promise<HostKeyCheck> {
  const name = knownHostsName(input.host, input.port);
  const offered = toBuffer(input.key);
  const offeredType = requireKeyType(offered);
  if (!Array.isArray(input.files) || !input.files.every((file) => typeof file === 'string' && file !== '')) {
    throw new TypeError('files must be a list of known_hosts paths');
  }
  return checkLines(name, offered, offeredType, input.files);
}

/**
 * Appends `host type base64` (or `[host]:port type base64` when the port is not 22) to a
 * known_hosts file, creating the parent directory (mode 0700) and the file (mode 0600) if missing,
 * and first adding a newline if the file does not end with one. Existing modes are left alone.
 *
 * @throws TypeError when the key is not an SSH wire-format blob, the host is not usable in
 *   known_hosts, or the file is not a path.
 * @throws RangeError when the port is out of range.
 */
export function appendKnownHost(input: AppendKnownHostInput): Promise<void> {
  const name = knownHostsName(input.host, input.port);
  const blob = toBuffer(input.key);
  const type = requireKeyType(blob);
  if (typeof input.file !== 'string' || input.file === '') {
    throw new TypeError('file must be a known_hosts path');
  }
  return appendLine(input.file, `${name} ${type} ${blob.toString('base64')}\n`);
}

/**
 * Key types known (not revoked) for host:port, in file order, without duplicates. Used to ask the
 * server for a key type we can verify first, as OpenSSH does: otherwise a host known only by its
 * ECDSA key would offer ed25519 and look "changed".
 */
export async function knownHostKeyTypes(input: Omit<CheckKnownHostsInput, 'key'>): Promise<string[]> {
  const name = knownHostsName(input.host, input.port);
  const types: string[] = [];
  for (const file of input.files) {
    const text = await readIfExists(file);
    if (text === undefined) continue;
    for (const entry of linesForHost(file, text, name)) {
      if (!entry.revoked && !types.includes(entry.type)) types.push(entry.type);
    }
  }
  return types;
}

async function checkLines(
  name: string,
  offered: Buffer,
  offeredType: string,
  files: readonly string[],
): Promise<HostKeyCheck> {
  const lines: KnownHostLine[] = [];
  for (const file of files) {
    const text = await readIfExists(file);
    if (text !== undefined) lines.push(...linesForHost(file, text, name));
  }

  const revoked = lines.find((entry) => entry.revoked && entry.blob.equals(offered));
  if (revoked) return { status: 'revoked', file: revoked.file, line: revoked.line };

  const known = lines.filter((entry) => !entry.revoked);
  const match = known.find((entry) => entry.blob.equals(offered));
  if (match) return { status: 'match', file: match.file, line: match.line };

  // OpenSSH only warns when the host is known with other key types; we refuse those too.
  const changed = known.find((entry) => entry.type === offeredType) ?? known[0];
  if (changed) {
    return {
      status: 'changed',
      file: changed.file,
      line: changed.line,
      knownType: changed.type,
      knownFingerprint: fingerprintSha256(changed.blob),
    };
  }
  return { status: 'unknown' };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The usable lines of one file that name the host; anything unparsable is skipped. */
function linesForHost(file: string, text: string, name: string): KnownHostLine[] {
  const result: KnownHostLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/[ \t]+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      // @cert-authority: certificates are not supported; unknown markers: malformed.
      if (marker !== '@revoked') return;
      revoked = true;
    }
    const [hosts, type, keyText] = fields;
    if (hosts === undefined || type === undefined || keyText === undefined) return;
    const blob = decodeBase64(keyText);
    // OpenSSH rejects a line whose type field disagrees with the key (this also drops SSH-1 lines).
    if (blob === undefined || wireKeyType(blob) !== type) return;
    if (!hostFieldMatches(hosts, name)) return;
    result.push({ file, line: index + 1, revoked, type, blob });
  });
  return result;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedNameMatches(field, name);
  let matched = false;
  for (const entry of field.split(',')) {
    const negated = entry.startsWith('!');
    const pattern = (negated ? entry.slice(1) : entry).toLowerCase();
    if (pattern === '' || !globMatches(name, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as written by `ssh-keygen -H` and `HashKnownHosts`. */
function hashedNameMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return false;
  const salt = decodeBase64(parts[2] ?? '');
  const expected = decodeBase64(parts[3] ?? '');
  if (salt?.length !== 20 || expected?.length !== 20) return false;
  const actual = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(actual, expected);
}

/** OpenSSH `match_pattern`: `*` is any run of characters, `?` exactly one. */
function globMatches(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starAt = -1;
  let starText = 0;
  while (t < text.length) {
    const char = pattern[p];
    if (char === '*') {
      starAt = p;
      starText = t;
      p += 1;
    } else if (char !== undefined && (char === '?' || char === text[t])) {
      p += 1;
      t += 1;
    } else if (starAt !== -1) {
      p = starAt + 1;
      starText += 1;
      t = starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** The key type at the start of an SSH wire-format key: a uint32 length and that many ASCII bytes. */
function wireKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > blob.length - 4) return undefined;
  const type = blob.toString('latin1', 4, 4 + length);
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

function toBuffer(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array)) throw new TypeError('key must be a Uint8Array in SSH wire format');
  return Buffer.from(key);
}

function requireKeyType(blob: Buffer): string {
  const type = wireKeyType(blob);
  if (type === undefined) throw new TypeError('key is not an SSH wire-format public key');
  return type;
}

async function appendLine(file: string, line: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(prefix + line, 'utf8');
  } finally {
    await handle.close();
  }
}
