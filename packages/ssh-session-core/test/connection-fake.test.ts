// SshConnection against in-process fake hosts: what the loopback sshd is not configured to show
// (keyboard-interactive, as network gear uses it).
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost, fakeLogin } from 'test-utils';
import { SshConnection } from '../src/index';

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
  it('skips a key path that is a FIFO or a directory instead of blocking on it', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'key-fifo-'));
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const { address } = await kbdHost();
      const connection = await SshConnection.connect({
        ...fakeLogin(address),
        auth: { privateKeys: [{ path: join(dir, 'fifo') }, { path: dir }], password: address.password },
      });
      connections.push(connection);
      await expect(connection.exec('x')).resolves.toMatchObject({ exitCode: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
