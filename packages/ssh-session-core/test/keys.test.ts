import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOpenSshPublicKey } from '../src/index';

// Made in a hook, not at collection: a filtered or skipped run would never remove it.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseOpenSshPublicKey', () => {
  it.each(['ed25519', 'ecdsa', 'rsa'])('gives the same SHA256 fingerprint as ssh-keygen for %s', (type) => {
    const path = join(dir, type);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'c', '-f', path]);
    const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' });
    const info = parseOpenSshPublicKey(readFileSync(`${path}.pub`, 'utf8'));
    expect(info.fingerprint).toBe(expected.split(' ')[1]);
    expect(info.type).toMatch(type === 'rsa' ? /^ssh-rsa$/ : new RegExp(type));
  });

  it('throws a TypeError for text that is not a key', () => {
    expect(() => parseOpenSshPublicKey('not a key')).toThrow(TypeError);
  });
});
