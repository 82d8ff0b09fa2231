// The examples the READMEs point to must run as written (after `pnpm build`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

function runExample(file: string, args: readonly string[] = []): string {
  const result = spawnSync(process.execPath, [join(examples, file), ...args], { cwd: examples, encoding: 'utf8' });
  expect(result.stderr.includes('Error'), result.stderr).toBe(false);
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('examples', () => {
  it('core-fingerprint.mjs prints the key fingerprint ssh-keygen prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'example-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const expected = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
      expect(runExample('core-fingerprint.mjs', [join(dir, 'k.pub')])).toBe(`ssh-ed25519 ${expected} ${join(dir, 'k.pub')}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('server-handshake.mjs connects to the built server and prints its name', () => {
    expect(runExample('server-handshake.mjs')).toMatch(/server: \{ name: 'mcp-ssh-server', version: '\d+\.\d+\.\d+' \}/);
  });
});
