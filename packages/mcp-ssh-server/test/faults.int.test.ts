// Faults against a real sshd, through the built server bin: the process serving a session killed
// mid-command; sshd killed and restarted; sshd frozen (SIGSTOP: half-open TCP); connection
// refused; an unresolvable host; a server that never sends its banner. Each tool call must return
// within its timeout plus a small margin with a clear, coded error, and the next call must recover
// once the host is back. The faulty sshd is a second instance sharing the run's login, so the
// shared one is never disturbed.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, startSshd, type RunningSshd } from 'test-utils';
import { appears, serverHome, startServer, text, type E2eServer, type ToolResult } from './helpers';
import { recordFigure } from './reliability';

const f = sshdFacts();
/** What a returned call may take beyond its own timeout (process, pipe and scheduling slack). */
const MARGIN_MS = 2_000;

describe.skipIf(!f)(`faults through the server bin ${sshdSkipReason()}`, () => {
  let victim: RunningSshd;
  let silent: Server;
  const silentSockets: Socket[] = [];
  let server: E2eServer;
  let shared: string;
  let localRoot: string;
  const faults: Record<string, number> = {};
  let calls = 0;

  const timed = async (name: string, args: Record<string, unknown>): Promise<{ result: ToolResult; ms: number }> => {
    calls++;
    const start = performance.now();
    const result = await server.call(name, args);
    return { result, ms: performance.now() - start };
  };
  const inject = (fault: string): void => {
    faults[fault] = (faults[fault] ?? 0) + 1;
  };

  beforeAll(async () => {
    const facts = f as NonNullable<typeof f>;
    victim = await startSshd({ credentialsOf: facts });
    silent = createServer((socket) => {
      silentSockets.push(socket); // accepted, and never a word
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const alias = (name: string, host: string, port: number, extra = ''): string =>
      `Host ${name}\n  HostName ${host}\n  Port ${port}\n  User ${facts.user}\n  IdentityFile ${facts.keyPath}\n  ConnectTimeout 3\n${extra}\n`;
    const config = [
      alias('victim', '127.0.0.1', victim.facts.port, '  ServerAliveInterval 1\n  ServerAliveCountMax 2\n'),
      alias('refused', '127.0.0.1', closedPort),
      alias('nxdomain', 'no-such-host.invalid', 22),
      alias('silent', '127.0.0.1', silentPort),
    ].join('');
    localRoot = mkdtempSync(join(tmpdir(), 'faults-local-'));
    server = await startServer(facts, { home: serverHome(facts, config, `${victim.facts.knownHostsLine}\n`), args: ['--local-root', localRoot] });
    shared = mkdtempSync(join(tmpdir(), 'faults-'));
    chmodSync(shared, 0o777);
  });

  afterAll(async () => {
    recordFigure('faults', 'tool calls made', calls);
    for (const [fault, count] of Object.entries(faults)) recordFigure('faults', `fault injected: ${fault}`, count);
    await server?.close();
    await victim?.stop();
    for (const socket of silentSockets) socket.destroy(); // else close() waits for them
    await new Promise((resolve) => silent?.close(resolve));
    if (shared) rmSync(shared, { recursive: true, force: true });
    if (localRoot) rmSync(localRoot, { recursive: true, force: true });
  });

  it('the sshd process serving a session is killed mid-command: the call ends at once as connection_lost; the next call reconnects', async () => {
    expect(text((await timed('execute_command', { host: 'victim', command: 'echo warm' })).result)).toContain('warm');
    const started = appears(shared, 'started');
    const call = timed('execute_command', { host: 'victim', command: `touch ${shared}/started; sleep 60; echo never`, timeout: 20 });
    await started;
    inject('per-connection sshd killed mid-command');
    expect(victim.killConnections()).toBeGreaterThan(0);
    const { result, ms } = await call;
    expect(result.structuredContent?.status, text(result)).toBe('connection_lost');
    expect(result.structuredContent?.error).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(text(result)).not.toContain('never');
    expect(ms).toBeLessThan(20_000);
    recordFigure('faults', 'killed mid-command: call returned after', Math.round(ms), 'ms');
    const again = await timed('execute_command', { host: 'victim', command: 'echo back' });
    expect(again.result.structuredContent?.output, text(again.result)).toBe('back\n');
    recordFigure('faults', 'killed mid-command: next call (reconnect + command)', Math.round(again.ms), 'ms');
  });

  it('sshd killed: calls fail fast and clearly (no hang); after a restart the next call recovers', async () => {
    expect(text((await timed('execute_command', { host: 'victim', command: 'echo warm' })).result)).toContain('warm');
    inject('sshd killed (listener and sessions)');
    await victim.kill();
    // The open session is gone: either the call finds it closed and tries a new login (refused),
    // or it starts on it and loses it. Never a wait for the 10 s timeout.
    const lost = await timed('execute_command', { host: 'victim', command: 'echo lost', timeout: 10 });
    const lostText = text(lost.result);
    expect(lost.result.isError ? /^Error (CONNECT_FAILED|CONNECTION_CLOSED): /.test(lostText) : lost.result.structuredContent?.status === 'connection_lost', lostText).toBe(true);
    expect(lost.ms).toBeLessThan(3_000 + MARGIN_MS);
    const refused = await timed('execute_command', { host: 'victim', command: 'echo refused' });
    expect(refused.result.isError).toBe(true);
    expect(text(refused.result)).toMatch(/^Error CONNECT_FAILED: .*refused/);
    expect(refused.ms).toBeLessThan(3_000 + MARGIN_MS);
    recordFigure('faults', 'sshd down: refused call returned after', Math.round(refused.ms), 'ms');
    await victim.restart();
    const back = await timed('execute_command', { host: 'victim', command: 'echo back' });
    expect(back.result.structuredContent?.output, text(back.result)).toBe('back\n');
    recordFigure('faults', 'sshd restarted: first call (reconnect + command)', Math.round(back.ms), 'ms');
  });

  it('sshd frozen (half-open TCP): a call returns within its timeout, keepalive ends the session, a new login times out at ConnectTimeout; thawed, the next call recovers', async () => {
    expect(text((await timed('execute_command', { host: 'victim', command: 'echo warm' })).result)).toContain('warm');
    inject('sshd frozen (SIGSTOP)');
    victim.freeze();
    try {
      const frozen = await timed('execute_command', { host: 'victim', command: 'echo frozen', timeout: 5 });
      expect(frozen.ms).toBeLessThan(5_000 + MARGIN_MS);
      // Keepalive (1 s × 2) declares the connection dead before the 5 s timeout.
      const status = frozen.result.structuredContent?.status;
      expect(status, text(frozen.result)).toBe('connection_lost');
      recordFigure('faults', `frozen: call with timeout 5 s returned (${String(status)}) after`, Math.round(frozen.ms), 'ms');
      // A second call finds the dead session (keepalive 1 s × 2) and tries a new login, which gets
      // a TCP connection (the kernel still accepts) but never a banner.
      const relogin = await timed('execute_command', { host: 'victim', command: 'echo relogin', timeout: 5 });
      expect(relogin.result.isError, text(relogin.result)).toBe(true);
      expect(text(relogin.result)).toMatch(/^Error (CONNECT_TIMEOUT|CONNECTION_CLOSED|CONNECT_FAILED): /);
      expect(relogin.ms).toBeLessThan(5_000 + 3_000 + MARGIN_MS);
      recordFigure('faults', 'frozen: next call failed clearly after', Math.round(relogin.ms), 'ms');
    } finally {
      victim.thaw();
    }
    const back = await timed('execute_command', { host: 'victim', command: 'echo back' });
    expect(back.result.structuredContent?.output, text(back.result)).toBe('back\n');
    recordFigure('faults', 'thawed: first call', Math.round(back.ms), 'ms');
  });

  it('file tools on a frozen host fail clearly once keepalive gives up (no hang); thawed, they work', async () => {
    const path = `${shared}/frozen.txt`;
    const written = await timed('write_file', { host: 'victim', remote_path: path, content: 'before the freeze\n' });
    expect(written.result.isError, text(written.result)).toBeFalsy();
    inject('sshd frozen during file operations');
    victim.freeze();
    try {
      const read = await timed('read_file', { host: 'victim', remote_path: path });
      expect(read.result.isError, text(read.result)).toBe(true);
      expect(text(read.result)).toMatch(/^Error (CONNECTION_CLOSED|SFTP_FAILED|CONNECT_TIMEOUT): /);
      // Keepalive 1 s × 2 ends the connection; a new login would wait ConnectTimeout (3 s) at most.
      expect(read.ms).toBeLessThan(3_000 + 3_000 + MARGIN_MS);
      recordFigure('faults', 'frozen: read_file failed clearly after', Math.round(read.ms), 'ms');
      // The session is gone by now: a new login meets the frozen sshd and times out.
      const listed = await timed('list_directory', { host: 'victim', remote_path: shared });
      expect(text(listed.result)).toMatch(/^Error (CONNECT_TIMEOUT|CONNECTION_CLOSED|SFTP_FAILED): /);
      expect(listed.ms).toBeLessThan(3_000 + 3_000 + MARGIN_MS);
    } finally {
      victim.thaw();
    }
    const back = await timed('read_file', { host: 'victim', remote_path: path });
    expect(back.result.structuredContent?.content, text(back.result)).toBe('before the freeze\n');
  });

  it('a 40 MB write cut by a dropped connection leaves the original file intact; the next write_file works', async () => {
    const path = `${shared}/precious.txt`;
    expect((await timed('execute_command', { host: 'victim', command: `printf 'original\\n' > ${path}` })).result.structuredContent?.exit_code).toBe(0);
    // Kill the connection as soon as the temp file next to the target appears (mid-upload).
    const tempAppears = appears(shared, (file) => file.startsWith('.precious.txt.') && file.endsWith('.tmp')).then(() => {
      inject('connection dropped during upload_file');
      victim.killConnections();
    });
    // write_file takes at most 2 MiB (over loopback that is done before a kill lands): 40 MB go
    // through upload_file, which writes the same temp file next to the target and renames it.
    writeFileSync(join(localRoot, 'big.txt'), 'y'.repeat(40 * 1024 * 1024));
    const cut = await timed('upload_file', { host: 'victim', local_path: 'big.txt', remote_path: path });
    await tempAppears;
    expect(cut.result.isError, text(cut.result).slice(0, 300)).toBe(true);
    // The result says the target did not change, and what becomes of the temp file.
    expect(text(cut.result)).toMatch(/^Error CONNECTION_CLOSED: upload to .*precious\.txt: .*precious\.txt was not changed; the temp file .*\.precious\.txt\.[0-9a-f]{12}\.tmp is removed when a connection to the host comes back/);
    expect(readFileSync(path, 'utf8')).toBe('original\n');
    const temps = (): string[] => readdirSync(shared).filter((file) => file.startsWith('.precious.txt.'));
    expect(temps()).toHaveLength(1);
    recordFigure('faults', 'upload_file (40 MB) cut mid-transfer: original intact, error after', Math.round(cut.ms), 'ms');
    const next = await timed('write_file', { host: 'victim', remote_path: path, content: 'replaced\n' });
    expect(next.result.isError, text(next.result)).toBeFalsy();
    expect(readFileSync(path, 'utf8')).toBe('replaced\n');
    // The reconnected session removed the temp file before its first file operation.
    expect(temps()).toEqual([]);
  });

  it('connection refused, an unresolvable host and a server without a banner: coded errors within ConnectTimeout', async () => {
    inject('connection refused');
    const refused = await timed('execute_command', { host: 'refused', command: 'true' });
    expect(text(refused.result)).toMatch(/^Error CONNECT_FAILED: .*refused/);
    expect(refused.ms).toBeLessThan(3_000 + MARGIN_MS);
    inject('unresolvable host');
    const nxdomain = await timed('execute_command', { host: 'nxdomain', command: 'true' });
    expect(text(nxdomain.result)).toMatch(/^Error CONNECT_FAILED: .*(resolve|not found|ENOTFOUND|EAI_AGAIN)/i);
    expect(nxdomain.ms).toBeLessThan(10_000);
    inject('server never sends a banner');
    const silentCall = await timed('execute_command', { host: 'silent', command: 'true' });
    expect(text(silentCall.result)).toMatch(/^Error CONNECT_TIMEOUT: /);
    expect(silentCall.ms).toBeGreaterThan(2_500);
    expect(silentCall.ms).toBeLessThan(3_000 + MARGIN_MS);
    recordFigure('faults', 'refused / unresolvable / no banner: returned after', `${Math.round(refused.ms)} / ${Math.round(nxdomain.ms)} / ${Math.round(silentCall.ms)}`, 'ms');
    // The server is still fine for a healthy host.
    const ok = await timed('execute_command', { host: 'testhost', command: 'echo ok' });
    expect(ok.result.structuredContent?.output).toBe('ok\n');
  });

  it('wrote nothing but JSON-RPC messages to stdout throughout', () => {
    expect(server.transport.badLines).toEqual([]);
    expect(server.transport.unterminated).toBe('');
  });
});
