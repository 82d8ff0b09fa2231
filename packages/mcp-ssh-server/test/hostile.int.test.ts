// Hostile links (issue 20): the built bin reaches the loopback sshd through test-utils' userspace
// proxy, which delays with jitter, splits every chunk into random-size writes, stalls the link,
// resets it mid-command, or half-closes it. For each: exact output or a coded error
// within the command's timeout, the host usable afterwards (reopened when needed), no job left
// running.
import { afterEach, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, startDelayProxy, type DelayProxy, type DelayProxyOptions, type SshdFacts } from 'test-utils';
import { serverHome, startServer, type E2eServer } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`hostile links between the server and sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer | undefined;
  let proxy: DelayProxy | undefined;
  const expected = `${Array.from({ length: 3000 }, (_, i) => i + 1).join('\n')}\n`;

  /** A server whose alias `far` goes through a proxy with `options`; keepalive 1 s × 2. */
  const through = async (options: Omit<DelayProxyOptions, 'target'>): Promise<E2eServer> => {
    proxy = await startDelayProxy({ target: { host: f.host, port: f.port }, ...options });
    const home = serverHome(
      f,
      `Host far\n  HostName 127.0.0.1\n  Port ${proxy.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n  ConnectTimeout 5\n\n`,
      `[127.0.0.1]:${proxy.port} ${f.hostPublicKey}\n`,
    );
    server = await startServer(f, { home, logLevel: 'warn' });
    return server;
  };
  const running = async (s: E2eServer): Promise<unknown[]> => (await s.call('list_running_commands')).structuredContent?.commands as unknown[];

  afterEach(async () => {
    await server?.close();
    await proxy?.close();
    server = undefined;
    proxy = undefined;
  });

  it('1-byte segments: every handshake succeeds and the output is exact', async () => {
    // ssh2 lost the server's identification line when it came in 3 or more reads (patched in the
    // workspace, patches/ssh2@1.17.0.patch): about 4 handshakes in 10 failed through this link.
    const s = await through({ oneWayMs: 0, segments: 'one-byte' });
    for (let round = 0; round < 6; round++) {
      const result = await s.call('execute_command', { host: 'far', command: `seq 1 200; echo round ${round}; (exit 3)`, timeout: 30 });
      expect(result.structuredContent, JSON.stringify(result.content)).toMatchObject({ status: 'completed', exit_code: 3, output: `${expected.split('\n').slice(0, 200).join('\n')}\nround ${round}\n` });
      expect((await s.call('close_session', { host: 'far' })).isError).toBeFalsy();
    }
  });

  it('fixed delay with jitter and random-size segments: exact output and exit codes', async () => {
    const s = await through({ oneWayMs: 5, jitterMs: 10, segments: 'random', seed: 7 });
    const big = await s.call('execute_command', { host: 'far', command: 'seq 1 3000; (exit 4)', timeout: 60 });
    expect(big.structuredContent, JSON.stringify(big.content)).toMatchObject({ status: 'completed', exit_code: 4, output: expected });
    const piped = await s.call('execute_command', { host: 'far', command: 'printf "a\\rb\\n\\x01"', pipe_output: true, timeout: 30 });
    expect(piped.structuredContent).toMatchObject({ exit_code: 0, output: 'a\rb\n\x01' });
  });

  it('a 3 s stall mid-output within the timeout: the output arrives whole after it', async () => {
    // Keepalive would give up after 2 s of silence: this link stalls without it.
    proxy = await startDelayProxy({ target: { host: f.host, port: f.port }, oneWayMs: 0 });
    const home = serverHome(f, `Host far\n  HostName 127.0.0.1\n  Port ${proxy.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n\n`, `[127.0.0.1]:${proxy.port} ${f.hostPublicKey}\n`);
    server = await startServer(f, { home, logLevel: 'warn' });
    await server.call('execute_command', { host: 'far', command: 'true' });
    const started = Date.now();
    const call = server.call('execute_command', { host: 'far', command: 'echo before; sleep 0.5; seq 1 3000', timeout: 20 });
    setTimeout(() => proxy?.stall(3000), 200);
    const result = await call;
    expect(result.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, output: `before\n${expected}` });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  });

  it('a stall longer than keepalive allows: connection_lost within the timeout, then the host reopens', async () => {
    const s = await through({ oneWayMs: 0 });
    await s.call('execute_command', { host: 'far', command: 'true' });
    const started = Date.now();
    const call = s.call('execute_command', { host: 'far', command: 'sleep 30', timeout: 15 });
    setTimeout(() => proxy?.stall(60_000), 200);
    const lost = await call;
    expect(lost.structuredContent).toMatchObject({ status: 'connection_lost' });
    expect(Date.now() - started).toBeLessThan(15_000);
    // The link is gone for good: a new one (a new proxy, the alias pointing at it) and the host reopens.
    await s.close();
    await proxy?.close();
    const again = await through({ oneWayMs: 0 });
    await expect(again.call('execute_command', { host: 'far', command: 'echo back' })).resolves.toMatchObject({ structuredContent: { exit_code: 0, output: 'back\n' } });
    expect(await running(again)).toEqual([]);
  });

  it.each([
    ['a reset mid-command', (p: DelayProxy) => p.reset()],
    ['a half-close mid-command', (p: DelayProxy) => p.halfClose()],
  ])('%s: a coded error at once, no job left running, the next call reconnects', async (_name, fault) => {
    const s = await through({ oneWayMs: 0 });
    await s.call('execute_command', { host: 'far', command: 'true' });
    const started = Date.now();
    const call = s.call('execute_command', { host: 'far', command: 'echo start; sleep 30', timeout: 20 });
    setTimeout(() => fault(proxy as DelayProxy), 300);
    const result = await call;
    expect(result.structuredContent?.status).toBe('connection_lost');
    expect((result.structuredContent?.error as { code: string } | null)?.code).toMatch(/CONNECTION_CLOSED|CONNECTION_LOST|KEEPALIVE/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await running(s)).toEqual([]);
    await expect(s.call('execute_command', { host: 'far', command: 'echo again' })).resolves.toMatchObject({ structuredContent: { exit_code: 0, output: 'again\n' } });
  });
});
