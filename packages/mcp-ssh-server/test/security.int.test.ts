// Hostile input, injection, a secrets canary and host-key refusals, through the built server bin.
//   - Randomized arguments for every tool (seeded, reproducible): wrong types, huge strings,
//     control characters, lone surrogates, unknown keys, missing keys. Every call is answered.
//   - Raw invalid UTF-8 on the stdio pipe; a 10 MB single line and binary output.
//   - Newlines and shell metacharacters in every parameter that is not a command by design (host,
//     username, paths, key file, ids, local paths, sudo paths): a canary file proves nothing ran.
//   - One canary secret (the run's password) for login, sudo, send_input and a device's enable:
//     afterwards it is nowhere: results, history, sessions, errors, stderr, the log file, and the
//     command lines of every process on the host (sampled while sudo runs), the audit log and the session recordings.
//   - A changed and a revoked host key are refused before anything runs.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHost, fakeDevice, seeded, sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { appears, cli, serverHome, startServer, text, type E2eServer, type ToolResult } from './helpers';
import { recordFigure } from './reliability';

const facts = sshdFacts();
const ROUNDS = 30;

/** A seeded PRNG, so a failing sequence can be replayed (SEED=… in the message). */
const prng = seeded;

/** sshd's log from `start` on, once `done` holds for it (it is written by another process: wait for its writes, 10 s at most). */
function logSettles(start: number, done: (log: string) => boolean): Promise<string> {
  const read = (): string => readFileSync(facts?.logPath as string).subarray(start).toString('utf8');
  return new Promise((resolve) => {
    if (done(read())) return resolve(read());
    const watcher = watch(facts?.logPath as string, () => {
      if (!done(read())) return;
      watcher.close();
      clearTimeout(timer);
      resolve(read());
    });
    const timer = setTimeout(() => {
      watcher.close();
      resolve(read());
    }, 10_000);
  });
}

describe.skipIf(!facts)(`security and hostile input through the server bin ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  const canary = f.password; // the one secret: login, sudo, send_input, enable
  // Made in beforeAll, not at collection: a skipped or filtered suite still collects, but runs no afterAll.
  let work: string;
  let marker: string; // must never exist
  let localRoot: string;
  let logFile: string;
  let auditFile: string;
  /** Root-only (the suite runs as root): writes there go through sudo's fallback. */
  let rootOnly: string;
  let device: FakeHost;
  let server: E2eServer;
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);
  /** A call whose arguments the SDK must not check first; its result is kept for the canary search too. */
  const rawCall = async (name: string, args: Record<string, unknown>): Promise<ToolResult> => {
    const result = (await server.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as ToolResult;
    server.results.push(JSON.stringify(result));
    return result;
  };
  const psSamples: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mcp-security-'));
    marker = join(work, 'INJECTED');
    localRoot = join(work, 'local');
    logFile = join(work, 'server.log');
    auditFile = join(work, 'audit.jsonl');
    rootOnly = mkdtempSync(join(tmpdir(), 'mcp-security-root-'));
    chmodSync(work, 0o777);
    spawnSync('mkdir', ['-m', '700', localRoot]);
    device = await FakeHost.start({ password: canary, onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'canary-rtr', enableSecret: canary }) });
    const wrongKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const hosts = f.loopbackHosts;
    const alias = (name: string, host: string): string => `Host ${name}\n  HostName ${host}\n  Port ${f.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n`;
    const home = serverHome(
      f,
      `${alias('changed', hosts[1] as string)}\n${alias('revoked', hosts[2] as string)}\n`,
      // 127.0.0.2 is known with another key; 127.0.0.3's real key is revoked.
      `[${hosts[1]}]:${f.port} ${wrongKey}\n@revoked [${hosts[2]}]:${f.port} ${f.hostPublicKey}\n[${device.address.host}]:${device.address.port} ${device.address.hostPublicKey}\n`,
    );
    // serverHome wrote the real keys for every loopback address: keep only what the test wants.
    const knownHosts = join(home, '.ssh', 'known_hosts');
    const lines = readFileSync(knownHosts, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith(`[${hosts[1]}]:${f.port} ${f.hostPublicKey.split(' ')[0]} ${f.hostPublicKey.split(' ')[1]}`));
    spawnSync('sh', ['-c', 'cat > "$1"', 'sh', knownHosts], { input: lines.join('\n') });
    server = await startServer(f, {
      home,
      args: ['--local-root', localRoot, '--log-file', logFile, '--audit-log', auditFile, '--record-dir', join(work, 'casts')],
      env: { OVRD_testhost_SUDO_PASS: canary, OVRD_rtr_HOST: device.address.host, OVRD_rtr_PORT: String(device.address.port), OVRD_rtr_USER: device.address.username, OVRD_rtr_PASS: canary, OVRD_rtr_DEVICE_TYPE: 'cisco_ios', OVRD_rtr_ENABLE_PASS: canary },
    });
  });

  afterAll(async () => {
    await server?.close();
    await device?.close();
    for (const dir of [work, rootOnly]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a changed host key and a revoked one before anything runs', async () => {
    const logStart = statSync(f.logPath).size;
    for (const [host, code] of [['changed', 'HOST_KEY_CHANGED'], ['revoked', 'HOST_KEY_REVOKED']] as const) {
      const result = await call('execute_command', { host, command: `touch ${marker}` });
      expect(result.isError, text(result)).toBe(true);
      expect(text(result)).toMatch(new RegExp(`^Error ${code}: `));
      // With a password too: it is never offered to a host that failed verification.
      const withPassword = await call('execute_command', { host, password: canary, command: `touch ${marker}` });
      expect(text(withPassword)).toMatch(new RegExp(`^Error ${code}: `));
    }
    expect(existsSync(marker)).toBe(false);
    // sshd saw each of those connections end before authentication, with our client's "host key
    // not verifiable" disconnect (this test's part of its log, matched by source port), and not one
    // Accepted, Failed or Postponed authentication.
    const ended = await logSettles(logStart, (log) => {
      const ports = [...log.matchAll(/Connection from 127\.0\.0\.1 port (\d+) on 127\.0\.0\.[23] port/g)].map((m) => m[1] as string);
      // Disconnect reason 3 is SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE, sent by our client.
      return ports.length >= 4 && ports.every((port) => new RegExp(`Received disconnect from 127\\.0\\.0\\.1 port ${port}:3: .*\\[preauth\\]`).test(log));
    });
    expect(ended.match(/Received disconnect from 127\.0\.0\.1 port \d+:3: .*\[preauth\]/g)?.length).toBeGreaterThanOrEqual(4);
    expect(ended).not.toMatch(/(Accepted|Failed|Postponed) \S+ for /);
    recordFigure('security', 'host keys refused (changed, revoked; key and password logins)', 4);
  });

  it('uses the canary secret for a password login, sudo (argument and OVRD), send_input and a device enable', async () => {
    const login = await call('execute_command', { host: f.loopbackHosts[3], port: f.port, username: f.user, password: canary, command: 'echo logged-in' });
    expect(login.structuredContent?.output, text(login)).toBe('logged-in\n');
    // sudo with the password as an argument, while ps samples every command line on the host.
    const started = appears(work, 'sudo-started');
    const sudo = call('execute_command', { host: 'testhost', command: `sudo -k; sudo sh -c 'touch ${work}/sudo-started; sleep 1; id -u'`, sudo_password: canary, timeout: 20 });
    await started;
    psSamples.push(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout);
    expect((await sudo).structuredContent?.output).toBe('0\n');
    // sudo from OVRD_testhost_SUDO_PASS.
    expect((await call('execute_command', { host: 'testhost', command: 'sudo -k; sudo id -u' })).structuredContent?.output).toBe('0\n');
    // A password typed into a prompt as a secret.
    const asked = await call('execute_command', { host: 'testhost', command: 'read -r -s -p "Secret: " s; echo; echo "${#s} chars"', timeout: 2 });
    expect(asked.structuredContent?.status).toBe('awaiting_input');
    const answered = await call('send_input', { command_id: asked.structuredContent?.command_id, input_text: `${canary}\n`, secret: true });
    expect(answered.structuredContent?.output).toContain(`${canary.length} chars`);
    // A wrong sudo password fails clearly, and the right one is still not shown.
    const wrong = await call('execute_command', { host: 'testhost', command: 'sudo -k; sudo true', sudo_password: 'not-the-password', timeout: 20 });
    expect(wrong.structuredContent, text(wrong)).toMatchObject({ status: 'failed', error: { code: 'SUDO_AUTH_FAILED' } });
    // A device logged in and enabled with the canary.
    const show = await call('execute_command', { host: 'rtr', command: 'show clock' });
    expect(show.structuredContent, text(show)).toMatchObject({ status: 'completed', output: '*10:00:00.000 UTC Wed Nov 25 2026\n' });
    psSamples.push(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout);
  });

  it('answers every randomized, malformed call and stays alive', async () => {
    const seed = Number(process.env.SEED ?? 20261125);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const hostile: unknown[] = [
      '', ' ', 'x'.repeat(1_000_000), '\u0000\u0001\u0007\u001b[2J\u001b]0;title\u0007\r\n\u0004\u0003', '\ud800', '\udfff\ud800x', '🙂'.repeat(1000),
      -1, 0, 1e308, -0.5, 2 ** 53 + 1, true, false, null, [], [1, 'a'], {}, { nested: { deeper: ['x'] } },
      '../../../../etc/shadow', '/dev/zero', '/proc/self/environ', '~root/.ssh/id_rsa', 'C:\\Windows', '%s%n%x', '${PATH}', '\\',
    ];
    const { tools } = await server.client.listTools();
    let calls = 0;
    let answeredAsError = 0;
    let rejectedAsInvalid = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const tool of tools) {
        const properties = Object.keys((tool.inputSchema as { properties?: Record<string, unknown> }).properties ?? {});
        const args: Record<string, unknown> = {};
        for (const key of properties) {
          if (random() < 0.2) continue; // sometimes missing
          // Commands and typed input are shell by design: give them hostile bytes, never code.
          args[key] = ['command', 'input_text', 'keys'].includes(key) ? pick(hostile.filter((v) => typeof v !== 'string' || !/[$`;|&]/.test(v))) : pick(hostile);
        }
        if (random() < 0.3) args[pick(['__proto__', 'constructor', 'extra', ''])] = pick(hostile);
        if (typeof args.timeout !== 'number' || (args.timeout as number) > 5) args.timeout = 2;
        calls++;
        try {
          const result = await rawCall(tool.name, args);
          if (result.isError) answeredAsError++;
        } catch (error) {
          // A protocol-level refusal (invalid params) is an answer too; a timeout or a closed pipe is not.
          expect(String(error), `seed ${seed}, ${tool.name} ${JSON.stringify(args).slice(0, 300)}`).toMatch(/MCP error -32602|Invalid arguments|validation/i);
          rejectedAsInvalid++;
        }
      }
    }
    const alive = await call('execute_command', { host: 'testhost', command: 'echo alive' });
    expect(alive.structuredContent?.output).toBe('alive\n');
    expect(server.transport.badLines).toEqual([]);
    recordFigure('hostile', `randomized calls (seed ${seed}, ${tools.length} tools × ${ROUNDS} rounds)`, calls);
    recordFigure('hostile', 'answered with a tool error', answeredAsError);
    recordFigure('hostile', 'refused as invalid parameters', rejectedAsInvalid);
  }, 300_000);

  it('never executes a newline or shell metacharacters in a parameter that is not a command', async () => {
    const payloads = [`$(touch ${marker})`, `\`touch ${marker}\``, `x; touch ${marker}`, `x\ntouch ${marker}`, `x | touch ${marker}`, `x && touch ${marker}`, `'"; touch ${marker}; echo "'`];
    let tried = 0;
    for (const payload of payloads) {
      const attempts: [string, Record<string, unknown>][] = [
        ['execute_command', { host: payload, command: 'true' }],
        ['execute_command', { host: 'testhost', username: payload, command: 'true' }],
        ['execute_command', { host: 'testhost', key_filename: payload, command: 'true' }],
        ['execute_command', { host: 'testhost', command: 'true', device_type: payload }],
        ['read_file', { host: 'testhost', remote_path: `${work}/${payload}` }],
        ['read_file', { host: 'testhost', remote_path: `${work}/${payload}`, use_sudo: true }],
        ['write_file', { host: 'testhost', remote_path: `${work}/w-${payload}`, content: 'x', use_sudo: true }],
        ['write_file', { host: 'testhost', remote_path: `${rootOnly}/${payload}`, content: 'x', use_sudo: true, make_dirs: true }],
        ['list_directory', { host: 'testhost', remote_path: `${work}/${payload}` }],
        ['get_command_status', { command_id: payload }],
        ['interrupt_command_by_id', { command_id: payload }],
        ['close_session', { host: payload }],
        ['upload_file', { host: 'testhost', local_path: join(localRoot, payload), remote_path: `${work}/u` }],
        ['download_file', { host: 'testhost', remote_path: `${work}/${payload}`, local_path: join(localRoot, payload) }],
        ['execute_command_on_hosts', { hosts: [payload, 'testhost'], command: 'true' }],
      ];
      for (const [name, args] of attempts) {
        tried++;
        await rawCall(name, args);
      }
    }
    // The remote host is this machine: one check covers both sides. Files the sudo writes made
    // with those names are data, and are cleaned up with the work dir.
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(work).filter((name) => name.startsWith('INJECTED'))).toEqual([]);
    // Through sudo, such a path is a file name like any other: written where asked, as data.
    expect(readFileSync(join(rootOnly, `x; touch ${marker}`), 'utf8')).toBe('x');
    expect(readFileSync(join(rootOnly, `$(touch ${marker})`), 'utf8')).toBe('x');
    recordFigure('hostile', 'injection attempts (7 payloads × 15 parameters)', tried);
  }, 300_000);

  it('returns a 10 MB single line capped with the exact count, and binary output, and goes on', async () => {
    const line = await call('execute_command', { host: 'testhost', command: "head -c 10000000 /dev/zero | tr '\\0' x", timeout: 60 });
    expect(line.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, total_chars: 10_000_000 });
    expect(text(line).length).toBeLessThan(200_000);
    const binary = await call('execute_command', { host: 'testhost', command: 'head -c 200000 /dev/urandom', timeout: 60 });
    expect(binary.structuredContent).toMatchObject({ status: 'completed', exit_code: 0 });
    expect((await call('execute_command', { host: 'testhost', command: 'echo after' })).structuredContent?.output).toBe('after\n');
    expect(server.transport.badLines).toEqual([]);
  }, 120_000);

  it('answers a request carrying invalid UTF-8 on the raw pipe, refuses one over the size limit by id, and answers the next', async () => {
    const child = spawn(process.execPath, [cli], { env: { PATH: process.env.PATH ?? '', HOME: server.home }, stdio: ['pipe', 'pipe', 'ignore'] });
    const lines: string[] = [];
    try {
      let pending = '';
      const answered = (id: number): Promise<Record<string, unknown>> =>
        new Promise((resolve) => {
          const check = (): void => {
            for (const line of lines) {
              const message = JSON.parse(line) as { id?: number };
              if (message.id === id) return resolve(message as Record<string, unknown>);
            }
            child.stdout.once('data', check);
          };
          check();
        });
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
      });
      const send = (bytes: Buffer | string): void => void child.stdin.write(bytes);
      send(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } })}\n`);
      await answered(1);
      send(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      const head = Buffer.from('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"testhost","command":"echo ');
      send(Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}}}\n')]));
      send(Buffer.from([0xff, 0xfe, 0x0a])); // not JSON at all
      send(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })}\n`);
      const reply = await answered(2);
      expect(JSON.stringify(reply)).toMatch(/"result"|"error"/);
      expect(((await answered(3)).result as { tools: unknown[] }).tools.length).toBeGreaterThan(10);
      // A message over the 96 MB limit is skipped and refused by id; the pipe stays open.
      send(`${JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'write_file', arguments: { host: 'testhost', remote_path: `${work}/never`, content: 'z'.repeat(97 * 1024 * 1024) } }, id: 4 })}\n`);
      send(`${JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' })}\n`);
      expect((await answered(4)).error).toMatchObject({ code: -32600, message: expect.stringMatching(/over the server's limit of 100663296 bytes/) as unknown });
      expect(((await answered(5)).result as { tools: unknown[] }).tools.length).toBeGreaterThan(10);
      child.stdin.end();
      await new Promise((resolve) => child.once('close', resolve));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  }, 120_000);

  it('shows the canary secret nowhere: results, history, sessions, errors, stderr, the log file, process command lines', async () => {
    const history = await call('list_command_history', { limit: 1000 });
    const sessions = await call('list_sessions');
    expect(history.isError, text(history)).toBeFalsy();
    expect(sessions.isError, text(sessions)).toBeFalsy();
    // The commands that carried the secret (sudo, the read -s answer) are in the history.
    expect(text(history)).toContain('read -r -s -p');
    const everything = [
      ...server.results,
      JSON.stringify(history),
      JSON.stringify(sessions),
      server.transport.stderr.join(''),
      server.transport.lines.join('\n'),
      readFileSync(logFile, 'utf8'),
      readFileSync(auditFile, 'utf8'),
      ...readdirSync(join(work, 'casts')).map((file) => readFileSync(join(work, 'casts', file), 'utf8')),
      ...psSamples,
      spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout,
      readFileSync(`/proc/${server.transport.pid}/cmdline`, 'utf8'),
    ].join('\n');
    expect(server.results.length).toBeGreaterThan(100);
    expect(readFileSync(logFile, 'utf8').length).toBeGreaterThan(1000);
    // The audit log saw every call (the login, sudo, send_input and enable among them).
    expect(readFileSync(auditFile, 'utf8').split('\n').length).toBeGreaterThan(100);
    // So did the recordings: the host and the device sessions, with the commands that carried the secret.
    const casts = readdirSync(join(work, 'casts'));
    expect(casts.length).toBeGreaterThanOrEqual(2);
    expect(casts.map((file) => readFileSync(join(work, 'casts', file), 'utf8')).join('')).toContain('read -r -s -p');
    expect(psSamples.length).toBe(2);
    const occurrences = everything.split(canary).length - 1;
    recordFigure('canary', 'bytes of results, history, logs and ps output searched', everything.length);
    recordFigure('canary', 'occurrences of the canary secret', occurrences);
    expect(occurrences).toBe(0);
  });
});
