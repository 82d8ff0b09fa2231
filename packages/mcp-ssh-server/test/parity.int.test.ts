// Drop-in parity with the reference (devnullvoid/mcp-ssh-session), through the built bin on the
// real sshd: send_input_by_session, `exit 7` keeping its status, key files that are not there,
// and the host key that accept-new records.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { serverHome, startServer, text, type E2eServer, type ToolResult } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`reference parity through the bin ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);

  beforeAll(async () => {
    // `newhost`: the test sshd under accept-new, with a known_hosts file that does not know it yet.
    const newHost = `Host newhost\n  HostName ${f.host}\n  Port ${f.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile ~/.ssh/known_hosts_new\n\n`;
    server = await startServer(f, { home: serverHome(f, newHost) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps the exit status of `exit 7` and says the next command gets a fresh shell', async () => {
    await call('execute_command', { host: 'testhost', command: 'cd /tmp' });
    const exited = await call('execute_command', { host: 'testhost', command: 'exit 7' });
    expect(exited.structuredContent).toMatchObject({ status: 'failed', exit_code: 7, error: { code: 'SHELL_EXITED' } });
    expect(text(exited)).toContain('Status: failed (exit status 7)');
    expect(text(exited)).toMatch(/Error: SHELL_EXITED: the shell exited with status 7 .*fresh shell/);
    const next = await call('execute_command', { host: 'testhost', command: 'pwd' });
    expect(next.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, output: `/home/${f.user}\n` });
  });

  it('fails a key_filename that is not there at once, locally, naming the path and why', async () => {
    // A listener that counts connections: the call must not reach it.
    let connects = 0;
    const listener = createServer((socket) => {
      connects++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const port = (listener.address() as AddressInfo).port;
      const missing = join(server.home, 'no-such-dir', 'id_ed25519');
      const result = await call('execute_command', { host: '127.0.0.1', port, username: f.user, key_filename: missing, command: 'true' });
      expect(result.isError).toBe(true);
      expect(text(result)).toBe(`Error INVALID_ARGUMENT: key file ${missing}: no such file; nothing was sent to the host`);
      const publicKey = join(server.home, 'id_ed25519.pub');
      writeFileSync(publicKey, `${f.publicKey}\n`);
      const wrongFile = await call('execute_command', { host: '127.0.0.1', port, username: f.user, key_filename: publicKey, command: 'true' });
      expect(text(wrongFile)).toMatch(/^Error INVALID_ARGUMENT: key file \S+\.pub: a public key, not a private key/);
      expect(connects).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('says so when accept-new records a host key, in the first command result of the session only', async () => {
    const file = join(server.home, '.ssh', 'known_hosts_new');
    // newhost is the same user@host:port as testhost: its open session would be reused.
    await call('close_all_sessions');
    const first = await call('execute_command', { host: 'newhost', command: 'echo first' });
    const line = `Added host key ${f.hostKeyFingerprint} for [${f.host}]:${f.port} to ${file} (ssh-ed25519; first connection, StrictHostKeyChecking accept-new).`;
    expect(first.structuredContent).toMatchObject({ exit_code: 0, output: 'first\n', notice: line });
    expect(text(first)).toBe(`Exit Status: 0\n\nSTDOUT:\nfirst\n\n\n${line}`);
    expect(readFileSync(file, 'utf8')).toBe(`${f.knownHostsLine}\n`);
    const second = await call('execute_command', { host: 'newhost', command: 'echo second' });
    expect(second.structuredContent).toMatchObject({ output: 'second\n', notice: null });
    // A new connection finds the key known: nothing to say.
    await call('close_session', { host: 'newhost' });
    const again = await call('execute_command_async', { host: 'newhost', command: 'true' });
    expect(again.structuredContent?.notice).toMatch(/^Started\./);
  });

  it('wrote nothing but JSON-RPC messages to stdout', () => {
    expect(server.transport.badLines).toEqual([]);
    expect(server.results.join('\n')).not.toContain(f.password);
  });
});
