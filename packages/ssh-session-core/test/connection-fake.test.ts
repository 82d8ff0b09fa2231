// SshConnection against in-process fake hosts: what the loopback sshd is not configured to show
// (keyboard-interactive, as network gear uses it), and key files that fail before anything connects.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost, fakeLogin } from 'test-utils';
import { connectOptionsFor, resolveTarget, SshConnection } from '../src/index';

const hosts: FakeHost[] = [];
const connections: SshConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

async function kbdHost(): Promise<FakeHost> {
  const host = await FakeHost.start({
    authMethods: ['keyboard-interactive'],
    onExec: (command, channel) => void channel.write(`ran ${command}\n`).then(() => channel.end(0)),
  });
  hosts.push(host);
  return host;
}

describe('SshConnection with keyboard-interactive', () => {
  it('answers the password prompt with the password', async () => {
    const host = await kbdHost();
    const connection = await SshConnection.connect(fakeLogin(host.address));
    connections.push(connection);
    await expect(connection.exec('show version')).resolves.toMatchObject({ stdout: 'ran show version\n', stderr: '', exitCode: 0 });
  });

  it('fails with AUTH_FAILED listing keyboard-interactive when the password is wrong', async () => {
    const { address } = await kbdHost();
    const attempt = SshConnection.connect({ ...fakeLogin(address), auth: { password: 'wrong-secret' } });
    await expect(attempt).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect(attempt).rejects.toThrow(/tried: password, keyboard-interactive|tried: keyboard-interactive/);
    await expect(attempt).rejects.not.toThrow(/wrong-secret/);
  });
});

describe('SshConnection key files', () => {
  it('skips an optional key path that is a FIFO or a directory instead of blocking on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-fifo-'));
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const { address } = await kbdHost();
      const connection = await SshConnection.connect({
        ...fakeLogin(address),
        auth: { privateKeys: [{ path: join(dir, 'fifo'), optional: true }, { path: dir, optional: true }], password: address.password },
      });
      connections.push(connection);
      await expect(connection.exec('x')).resolves.toMatchObject({ exitCode: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at once with INVALID_ARGUMENT naming a key file that is missing, unreadable or no private key; nothing connects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-missing-'));
    // A listener that counts connections: none may arrive.
    let connects = 0;
    const listener = createServer((socket) => {
      connects++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      writeFileSync(join(dir, 'id.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host\n');
      writeFileSync(join(dir, 'locked'), 'x', { mode: 0o000 });
      const cases: [string, RegExp][] = [
        [join(dir, 'nope', 'id_ed25519'), /no such file/],
        [join(dir, 'fifo'), /not a regular file/],
        [dir, /a directory/],
        [join(dir, 'id.pub'), /a public key, not a private key/],
        // root reads anything: only a non-root run can see the permission case
        ...(process.getuid?.() === 0 ? [] : [[join(dir, 'locked'), /permission denied/] as [string, RegExp]]),
      ];
      for (const [path, reason] of cases) {
        const attempt = SshConnection.connect({
          host: '127.0.0.1',
          port,
          username: 'me',
          auth: { privateKeys: [{ path }], password: 'unused' },
          hostKeys: { mode: 'insecureAcceptAnyHostKey' },
        });
        await expect(attempt).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { keyFile: path } });
        await expect(attempt).rejects.toThrow(new RegExp(`^key file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${reason.source}`));
      }
      // A jump host's key too: nothing connects, not even the first hop.
      const viaJump = SshConnection.connect({
        host: '10.0.0.1',
        username: 'me',
        auth: { password: 'unused' },
        jumps: [{ host: '127.0.0.1', port, username: 'me', auth: { privateKeys: [{ path: join(dir, 'gone') }] } }],
        hostKeys: { mode: 'insecureAcceptAnyHostKey' },
      });
      await expect(viaJump).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(connects).toBe(0);
    } finally {
      listener.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connectOptionsFor: a key file the caller named must exist; configured and default ones are optional', async () => {
    const home = mkdtempSync(join(tmpdir(), 'key-opts-'));
    try {
      const config = `Host web\n  HostName 127.0.0.1\n  IdentityFile ~/.ssh/configured\n`;
      const named = await resolveTarget('web', { configText: config, homeDir: home, localUser: 'me', overrides: { identityFiles: ['/x/id'] } });
      expect(named.identityFilesExplicit).toBe(true);
      expect(connectOptionsFor(named, { homeDir: home }).auth.privateKeys).toEqual([{ path: '/x/id' }]);
      const configured = await resolveTarget('web', { configText: config, homeDir: home, localUser: 'me' });
      expect(configured.identityFilesExplicit).toBe(false);
      expect(connectOptionsFor(configured, { homeDir: home }).auth.privateKeys).toEqual([{ path: join(home, '.ssh', 'configured'), optional: true }]);
      const defaults = await resolveTarget('other', { configText: config, homeDir: home, localUser: 'me' });
      expect(connectOptionsFor(defaults, { homeDir: home }).auth.privateKeys).toEqual(
        ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => ({ path: join(home, '.ssh', name), optional: true })),
      );
      await expect(SshConnection.connect(connectOptionsFor(named, { homeDir: home }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('SshConnection.exec and its signal', () => {
  it('is aborted while the exec request itself waits for an answer that never comes', async () => {
    const host = await FakeHost.start({ holdExec: true });
    hosts.push(host);
    const connection = await SshConnection.connect(fakeLogin(host.address));
    connections.push(connection);
    await expect(connection.exec('true', { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(connection.isOpen).toBe(true);
  });
});
