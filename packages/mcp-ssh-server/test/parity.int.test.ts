// Drop-in parity with the reference (devnullvoid/mcp-ssh-session), through the built bin on the
// real sshd: `exit 7` keeping its status, key files that are not there, the host key that
// accept-new records, and send_input_by_session.
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

  describe('send_input_by_session', () => {
    const byHost = (input_text: string, extra: Record<string, unknown> = {}): Promise<ToolResult> =>
      call('send_input_by_session', { host: 'testhost', input_text, ...extra });

    it('never opens a session: NO_SESSION when the host has none', async () => {
      await call('close_all_sessions');
      const none = await byHost('q');
      expect(none.isError).toBe(true);
      expect(text(none)).toMatch(/^Error NO_SESSION: there is no open session to /);
      expect((await call('list_sessions')).structuredContent).toEqual({ sessions: [] });
    });

    it('says so when nothing runs: the shell is at its prompt, nothing is typed', async () => {
      await call('execute_command', { host: 'testhost', command: 'rm -f ~/mcp-typed-at-prompt' });
      const idle = await byHost('touch ~/mcp-typed-at-prompt\n');
      expect(idle.isError).toBe(true);
      expect(text(idle)).toMatch(/^Error JOB_NOT_RUNNING: nothing is running in the shell of \S+: it is at its prompt, and the input was not typed\. Run commands with execute_command\./);
      const check = await call('execute_command', { host: 'testhost', command: 'test -e ~/mcp-typed-at-prompt; echo $?' });
      expect(check.structuredContent).toMatchObject({ output: '1\n' });
    });

    it('answers a prompt like send_input (escapes honoured) and returns the output that follows', async () => {
      const asked = await call('execute_command', { host: 'testhost', command: "read -p 'Name: ' n; echo \"hi $n\"", timeout: 10 });
      expect(asked.structuredContent).toMatchObject({ status: 'awaiting_input' });
      const answered = await byHost('bob\\n');
      expect(answered.structuredContent).toMatchObject({ command_id: asked.structuredContent?.command_id, status: 'completed', exit_code: 0, output: 'hi bob\n' });
    });

    it('leaves a pager with "q" and stops a command with "\\x03"', async () => {
      const pager = await call('execute_command', { host: 'testhost', command: 'less /etc/passwd', timeout: 10 });
      expect(pager.structuredContent).toMatchObject({ status: 'awaiting_input', full_screen: true });
      const left = await byHost('q');
      expect(left.structuredContent).toMatchObject({ command_id: pager.structuredContent?.command_id, status: 'completed', exit_code: 0, full_screen: false });
      const started = await call('execute_command_async', { host: 'testhost', command: 'sleep 30' });
      const stopped = await byHost('\\x03');
      expect(stopped.structuredContent).toMatchObject({ command_id: started.structuredContent?.command_id, status: 'completed', exit_code: 130 });
      expect(stopped.structuredContent?.duration_ms as number).toBeLessThan(10_000);
    });

    it('keeps a secret out of the output and the history', async () => {
      const secret = `tok-${Date.now()}-Zq`;
      await call('execute_command', { host: 'testhost', command: "read -p 'Token: ' t; echo \"got $t\"", timeout: 10 });
      const answered = await byHost(`${secret}\\n`, { secret: true });
      expect(answered.structuredContent).toMatchObject({ status: 'completed', output: 'got ********\n' });
      const history = await call('list_command_history', { limit: 5 });
      expect(JSON.stringify([answered, history])).not.toContain(secret);
    });

    it('follows the policy: denied patterns are not typed', async () => {
      const guarded = await startServer(f, { args: ['--deny-command', 'rm\\s+-rf'] });
      try {
        const asked = await guarded.call('execute_command', { host: 'testhost', command: "read -p 'Command: ' c; echo \"typed $c\"", timeout: 10 });
        const refused = await guarded.call('send_input_by_session', { host: 'testhost', input_text: 'rm -rf ~\\n' });
        expect(text(refused)).toMatch(/^Error POLICY_DENIED: the input matches the server's denied pattern/);
        const status = await guarded.call('get_command_status', { command_id: asked.structuredContent?.command_id });
        expect(status.structuredContent).toMatchObject({ status: 'awaiting_input' });
        await guarded.call('send_input_by_session', { host: 'testhost', input_text: 'ls\\n' });
      } finally {
        await guarded.close();
      }
    });
  });

  it('wrote nothing but JSON-RPC messages to stdout', () => {
    expect(server.transport.badLines).toEqual([]);
    expect(server.results.join('\n')).not.toContain(f.password);
  });
});
