import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendKnownHost, checkKnownHosts, knownHostsName } from '../src/known-hosts';

interface TestKey {
  readonly type: string;
  readonly base64: string;
  readonly blob: Buffer;
  /** As `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

// Made in a hook, not at collection: a filtered or skipped run would never remove it.
let dir: string;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function generateKey(name: string, type: 'ed25519' | 'rsa'): TestKey {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  const [keyType = '', base64 = ''] = readFileSync(`${path}.pub`, 'utf8').trim().split(' ');
  const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' });
  return { type: keyType, base64, blob: Buffer.from(base64, 'base64'), fingerprint: listed.split(' ')[1] ?? '' };
}

let edA: TestKey;
let edB: TestKey;
let rsa: TestKey;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-known-hosts-'));
  edA = generateKey('ed-a', 'ed25519');
  edB = generateKey('ed-b', 'ed25519');
  rsa = generateKey('rsa', 'rsa');
});

let fileCount = 0;
/** Writes a new known_hosts file from lines and returns its path. */
function knownHosts(...lines: string[]): string {
  fileCount += 1;
  const path = join(dir, `known_hosts_${fileCount}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const entry = (hosts: string, key: TestKey, comment = ''): string =>
  `${hosts} ${key.type} ${key.base64}${comment === '' ? '' : ` ${comment}`}`;

describe('knownHostsName', () => {
  it('writes [host]:port for other ports and the bare lowercased name for port 22', () => {
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(knownHostsName('Example.COM', 22)).toBe('example.com');
  });

  it('throws for ports out of range and names that cannot be written to known_hosts', () => {
    expect(() => knownHostsName('h', 0)).toThrow(RangeError);
    expect(() => knownHostsName('h', 65536)).toThrow(RangeError);
    expect(() => knownHostsName('h', 22.5)).toThrow(RangeError);
    expect(() => knownHostsName('', 22)).toThrow(TypeError);
    expect(() => knownHostsName('a b', 22)).toThrow(TypeError);
    expect(() => knownHostsName('a,b', 22)).toThrow(TypeError);
    expect(() => knownHostsName('a\nb', 22)).toThrow(TypeError);
  });
});

describe('checkKnownHosts', () => {
  it('matches a plain host name with a comment after the key, case-insensitively', async () => {
    const file = knownHosts('# comment', '', entry('other.example', edB), entry('Example.COM', edA, 'my comment'));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 4,
    });
    await expect(checkKnownHosts({ host: 'EXAMPLE.com', port: 22, key: edA.blob, files: [file] })).resolves.toMatchObject({
      status: 'match',
    });
  });

  it('matches [host]:port only on that port, and a bare name only on port 22', async () => {
    const bracketed = knownHosts(entry('[example.com]:2222', edA));
    const bare = knownHosts(entry('example.com', edA));
    await expect(checkKnownHosts({ host: 'example.com', port: 2222, key: edA.blob, files: [bracketed] })).resolves.toEqual({
      status: 'match',
      file: bracketed,
      line: 1,
    });
    await expect(checkKnownHosts({ host: 'example.com', port: 2222, key: edA.blob, files: [bare] })).resolves.toEqual({
      status: 'unknown',
    });
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [bracketed] })).resolves.toEqual({
      status: 'unknown',
    });
  });

  it('matches names hashed by ssh-keygen -H, for port 22 and [host]:port', async () => {
    const file = knownHosts(entry('example.com', edA), entry('[127.0.0.1]:2222', edB));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(text).not.toContain('example.com');
    expect(text).not.toContain('127.0.0.1');

    await expect(checkKnownHosts({ host: 'Example.com', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 1,
    });
    await expect(checkKnownHosts({ host: '127.0.0.1', port: 2222, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 2,
    });
    await expect(checkKnownHosts({ host: '127.0.0.1', port: 22, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'unknown',
    });
    await expect(checkKnownHosts({ host: 'example.org', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'unknown',
    });
  });

  it('matches * and ? wildcards, and a negated pattern excludes the line', async () => {
    const file = knownHosts(
      entry('*.example.com,!bad.example.com', edA),
      entry('node?.lan', edA),
      entry('[*.internal]:2222', edA),
    );
    const check = (host: string, port = 22): Promise<unknown> =>
      checkKnownHosts({ host, port, key: edA.blob, files: [file] });
    await expect(check('good.example.com')).resolves.toEqual({ status: 'match', file, line: 1 });
    await expect(check('a.b.example.com')).resolves.toMatchObject({ status: 'match', line: 1 });
    await expect(check('bad.example.com')).resolves.toEqual({ status: 'unknown' });
    await expect(check('example.com')).resolves.toEqual({ status: 'unknown' });
    await expect(check('node1.lan')).resolves.toEqual({ status: 'match', file, line: 2 });
    await expect(check('node12.lan')).resolves.toEqual({ status: 'unknown' });
    await expect(check('db.internal', 2222)).resolves.toEqual({ status: 'match', file, line: 3 });
    await expect(check('db.internal')).resolves.toEqual({ status: 'unknown' });
  });

  it('matches when any of several keys for the host is the offered one, in any file', async () => {
    const file = knownHosts(entry('example.com', edA), entry('example.com', edB));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 2,
    });
    const first = knownHosts(entry('example.com', edA));
    const second = knownHosts(entry('example.com', edB));
    await expect(
      checkKnownHosts({ host: 'example.com', port: 22, key: edB.blob, files: [first, second] }),
    ).resolves.toEqual({ status: 'match', file: second, line: 1 });
  });

  it('reports changed with the file, line, type and ssh-keygen fingerprint of the known key', async () => {
    const file = knownHosts('# header', entry('other.example', edB), entry('example.com', edA));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'changed',
      file,
      line: 3,
      knownType: 'ssh-ed25519',
      knownFingerprint: edA.fingerprint,
    });
  });

  it('names the first line with the offered key type when the host has keys of several types', async () => {
    const file = knownHosts(entry('example.com', rsa), entry('example.com', edA));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'changed',
      file,
      line: 2,
      knownType: 'ssh-ed25519',
      knownFingerprint: edA.fingerprint,
    });
  });

  it('reports changed when the host is known only with keys of another type', async () => {
    const file = knownHosts(entry('example.com', edA));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: rsa.blob, files: [file] })).resolves.toEqual({
      status: 'changed',
      file,
      line: 1,
      knownType: 'ssh-ed25519',
      knownFingerprint: edA.fingerprint,
    });
  });

  it('reports revoked even when another line or an earlier file matches the key', async () => {
    const plain = knownHosts(entry('example.com', edA));
    const withRevocation = knownHosts(entry('example.com', edA), `@revoked ${entry('*.com', edA)}`);
    await expect(
      checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [plain, withRevocation] }),
    ).resolves.toEqual({ status: 'revoked', file: withRevocation, line: 2 });
  });

  it('ignores a revocation for another host or another key', async () => {
    const file = knownHosts(
      `@revoked ${entry('other.example', edA)}`,
      `@revoked ${entry('example.com', edB)}`,
      entry('example.com', edA),
    );
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 3,
    });
  });

  it('reports unknown when no line names the host', async () => {
    const file = knownHosts(entry('other.example', edA), entry('[example.com]:2200', edA));
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'unknown',
    });
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [] })).resolves.toEqual({
      status: 'unknown',
    });
  });

  it('skips missing files', async () => {
    const file = knownHosts(entry('example.com', edA));
    const missing = [join(dir, 'no-such-file'), join(dir, 'no-such-dir', 'known_hosts')];
    await expect(
      checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [...missing, file] }),
    ).resolves.toEqual({ status: 'match', file, line: 1 });
  });

  it('ignores malformed lines and @cert-authority lines without throwing', async () => {
    const file = knownHosts(
      'garbage',
      'example.com',
      'example.com ssh-ed25519',
      'example.com ssh-ed25519 !!!not-base64!!!',
      'example.com ssh-ed25519 AAAA',
      `example.com ssh-rsa ${edB.base64}`,
      'example.com 2048 65537 12345678901234567890',
      `@bogus ${entry('example.com', edB)}`,
      `|1|bad|hash ${edB.type} ${edB.base64}`,
      `@cert-authority ${entry('example.com', edB)}`,
      `${entry('example.com', edA)}\r`,
    );
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 11,
    });
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edB.blob, files: [file] })).resolves.toEqual({
      status: 'changed',
      file,
      line: 11,
      knownType: 'ssh-ed25519',
      knownFingerprint: edA.fingerprint,
    });
    const caOnly = knownHosts(`@cert-authority ${entry('example.com', edA)}`);
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: edA.blob, files: [caOnly] })).resolves.toEqual({
      status: 'unknown',
    });
  });

  it('throws a TypeError synchronously for a key that is not an SSH wire-format blob', () => {
    expect(() => checkKnownHosts({ host: 'h', port: 22, key: new Uint8Array([1, 2]), files: [] })).toThrow(TypeError);
    expect(() => checkKnownHosts({ host: 'h', port: 0, key: edA.blob, files: [] })).toThrow(RangeError);
  });
});

describe('appendKnownHost', () => {
  it('creates the directory (0700) and file (0600) and writes a [host]:port line ssh-keygen -F finds', async () => {
    const parent = join(dir, 'append', 'nested');
    const file = join(parent, 'known_hosts');
    await appendKnownHost({ file, host: '127.0.0.1', port: 2222, key: edA.blob });

    expect(statSync(parent).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${edA.base64}\n`);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(`[127.0.0.1]:2222 ssh-ed25519 ${edA.base64}`);
    await expect(checkKnownHosts({ host: '127.0.0.1', port: 2222, key: edA.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 1,
    });
  });

  it('writes the bare name for port 22 and adds a missing trailing newline first', async () => {
    const file = join(dir, 'append-no-newline');
    writeFileSync(file, entry('other.example', edB));
    await appendKnownHost({ file, host: 'Example.com', port: 22, key: rsa.blob });

    expect(readFileSync(file, 'utf8')).toBe(`${entry('other.example', edB)}\nexample.com ssh-rsa ${rsa.base64}\n`);
    await expect(checkKnownHosts({ host: 'example.com', port: 22, key: rsa.blob, files: [file] })).resolves.toEqual({
      status: 'match',
      file,
      line: 2,
    });
    await appendKnownHost({ file, host: 'example.com', port: 22, key: edA.blob });
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(4);
  });
});
