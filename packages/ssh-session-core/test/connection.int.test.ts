// SshConnection and ConnectionPool against the real loopback sshd (and a second and third sshd
// as jump hosts).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants, recordFigure, sshdFacts, sshdSkipReason, startSshd, type RunningSshd, type SshdFacts } from 'test-utils';
import {
  ConnectionPool,
  connectOptionsFor,
  resolveTarget,
  SshConnection,
  type ConnectOptions,
  type SshEndpoint,
} from '../src/index';

const facts = sshdFacts();
// Made in a hook, not at collection: a filtered or skipped run would never remove it.
let dir: string;
const open: SshConnection[] = [];
const pools: ConnectionPool[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) connection.close();
  await Promise.all(pools.splice(0).map((pool) => pool.closeAll()));
});
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-conn-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function endpoint(f: SshdFacts, auth: 'key' | 'password' = 'key'): SshEndpoint {
  return {
    host: f.host,
    port: f.port,
    username: f.user,
    auth: auth === 'key' ? { privateKeys: [{ path: f.keyPath }] } : { password: f.password },
  };
}

function options(f: SshdFacts, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { ...endpoint(f), hostKeys: { mode: 'strict', knownHostsFiles: [f.knownHostsPath] }, ...extra };
}

async function connect(opts: ConnectOptions): Promise<SshConnection> {
  const connection = await SshConnection.connect(opts);
  open.push(connection);
  return connection;
}

/**
 * Processes sshd forked for a connection made while `action` ran. A command is run first: the
 * post-auth (user-privileged) sshd child is forked only after authentication succeeds.
 */
async function connectionProcesses(f: SshdFacts, action: () => Promise<SshConnection>): Promise<number[]> {
  const before = new Set(descendants(f.pid));
  const connection = await action();
  await connection.exec('true');
  return descendants(f.pid).filter((pid) => !before.has(pid));
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

describe.skipIf(!facts)(`SshConnection on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;

  describe('auth', () => {
    it('connects with a key file, runs a command and reports its real exit code', async () => {
      const connection = await connect(options(f));
      expect(connection.key).toBe(`${f.user}@127.0.0.1:${f.port}`);
      expect(connection.hostKey).toEqual({ type: 'ssh-ed25519', fingerprint: f.hostKeyFingerprint, status: 'known' });
      await expect(connection.exec('echo out; echo err >&2; exit 3')).resolves.toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    });

    it('connects with a password and feeds stdin', async () => {
      const connection = await connect({ ...options(f), ...endpoint(f, 'password') });
      await expect(connection.exec('tr a-z A-Z', { stdin: 'hello\n' })).resolves.toMatchObject({ stdout: 'HELLO\n', exitCode: 0 });
    });

    it('closes stdin, so a command that reads it ends instead of waiting forever', async () => {
      const connection = await connect(options(f));
      await expect(connection.exec('cat; echo "eof:$?"')).resolves.toMatchObject({ stdout: 'eof:0\n', stderr: '', exitCode: 0 });
    });

    it('goes on to the key when the agent socket is stale', async () => {
      const connection = await connect(options(f, { auth: { agent: join(dir, 'no-such-agent.sock'), privateKeys: [{ path: f.keyPath }] } }));
      await expect(connection.exec('true')).resolves.toMatchObject({ exitCode: 0 });
    });

    it('connects with a passphrase-protected key, and says so when the passphrase is missing', async () => {
      const path = join(dir, 'encrypted');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', path]);
      appendFileSync(`/home/${f.user}/.ssh/authorized_keys`, readFileSync(`${path}.pub`));
      const withKey = (passphrase?: string): ConnectOptions =>
        options(f, { auth: { privateKeys: [{ path, ...(passphrase ? { passphrase } : {}) }] } });
      const connection = await connect(withKey('correct horse'));
      await expect(connection.exec('echo in')).resolves.toMatchObject({ stdout: 'in\n', stderr: '', exitCode: 0 });
      const error = SshConnection.connect(withKey());
      await expect(error).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      await expect(error).rejects.toThrow(/encrypted, no passphrase given/);
    });

    it('connects through ssh-agent', async () => {
      const socket = join(dir, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      try {
        await expect.poll(() => spawnSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: socket } }).status).toBe(1);
        execFileSync('ssh-add', ['-q', f.keyPath], { env: { SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        const connection = await connect(options(f, { auth: { agent: socket } }));
        await expect(connection.exec('id -un')).resolves.toMatchObject({ stdout: `${f.user}\n` });
      } finally {
        agent.kill();
      }
    });

    it('fails a wrong password with AUTH_FAILED naming the methods tried, never the password', async () => {
      const attempt = SshConnection.connect(options(f, { auth: { password: 'not-the-Password-123' } }));
      await expect(attempt).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      const error = (await attempt.catch((e: unknown) => e)) as Error & { details: object };
      expect(error.message).toMatch(/tried: password/);
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('not-the-Password-123');
    });
  });

  describe('host keys', () => {
    it('refuses an unknown host under strict checking, naming the fingerprint', async () => {
      const empty = join(dir, 'empty_known_hosts');
      writeFileSync(empty, '');
      const attempt = SshConnection.connect(options(f, { hostKeys: { mode: 'strict', knownHostsFiles: [empty] } }));
      await expect(attempt).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
      await expect(attempt).rejects.toThrow(f.hostKeyFingerprint);
    });

    it('accept-new records an unknown host in the named file, then knows it', async () => {
      const file = join(dir, 'accept_new', 'known_hosts');
      const policy = { mode: 'accept-new', knownHostsFiles: [file] } as const;
      const first = await connect(options(f, { hostKeys: policy }));
      expect(first.hostKey).toMatchObject({ status: 'added', file });
      expect(first.hostKeysAdded).toEqual([{ host: `[127.0.0.1]:${f.port}`, type: 'ssh-ed25519', fingerprint: f.hostKeyFingerprint, file }]);
      expect(readFileSync(file, 'utf8')).toBe(`${f.knownHostsLine}\n`);
      const second = await connect(options(f, { hostKeys: policy }));
      expect(second.hostKey.status).toBe('known');
      expect(second.hostKeysAdded).toEqual([]);
    });

    it('refuses a changed key, naming host, offered fingerprint and the known_hosts line; nothing runs', async () => {
      const other = join(dir, 'other_host_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
      const file = join(dir, 'changed_known_hosts');
      const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      writeFileSync(file, `# comment\n[127.0.0.1]:${f.port} ${otherKey}\n`);
      const before = readFileSync(f.logPath, 'utf8').split('Accepted ').length;
      for (const mode of ['strict', 'accept-new'] as const) {
        const attempt = SshConnection.connect(options(f, { hostKeys: { mode, knownHostsFiles: [file] } }));
        await expect(attempt).rejects.toMatchObject({ code: 'HOST_KEY_CHANGED' });
        await expect(attempt).rejects.toThrow(new RegExp(`\\[127\\.0\\.0\\.1\\]:${f.port}.*${escape(f.hostKeyFingerprint)}.*${escape(file)}:2`));
      }
      expect(readFileSync(f.logPath, 'utf8').split('Accepted ').length).toBe(before);
    });

    it('refuses a key marked @revoked even when another line matches', async () => {
      const file = join(dir, 'revoked_known_hosts');
      writeFileSync(file, `${f.knownHostsLine}\n@revoked * ${f.hostPublicKey}\n`);
      const attempt = SshConnection.connect(options(f, { hostKeys: { mode: 'accept-new', knownHostsFiles: [file] } }));
      await expect(attempt).rejects.toMatchObject({ code: 'HOST_KEY_REVOKED' });
    });

    it('asks for the key type known_hosts has: a host known only by its ECDSA key is not "changed"', async () => {
      const ecdsa = join(dir, 'ssh_host_ecdsa_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
      const both = await startSshd({ credentialsOf: f, extraConfig: [`HostKey ${ecdsa}`] });
      try {
        const file = join(dir, 'ecdsa_known_hosts');
        const ecdsaKey = readFileSync(`${ecdsa}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
        writeFileSync(file, `[127.0.0.1]:${both.facts.port} ${ecdsaKey}\n`);
        const connection = await connect({ ...endpoint(both.facts), hostKeys: { mode: 'strict', knownHostsFiles: [file] } });
        expect(connection.hostKey).toMatchObject({ type: 'ecdsa-sha2-nistp256', status: 'known' });
      } finally {
        await both.stop();
      }
    });

    it('accepts anything only under the loudly named insecure opt-out', async () => {
      const connection = await connect(options(f, { hostKeys: { mode: 'insecureAcceptAnyHostKey' } }));
      expect(connection.hostKey.status).toBe('unchecked');
    });
  });

  describe('connect failures', () => {
    let silent: Server;
    let silentPort = 0;
    const silentSockets = new Set<Socket>();
    beforeAll(async () => {
      // Accepts TCP and never sends an SSH banner.
      silent = createServer((socket) => {
        silentSockets.add(socket);
        socket.on('close', () => silentSockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentPort = (silent.address() as { port: number }).port;
    });
    afterAll(async () => {
      // The client gave up; a paused server-side socket never reads its FIN, so end it here.
      for (const socket of silentSockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('reports a refused port as CONNECT_FAILED', async () => {
      const free = createServer();
      await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
      const port = (free.address() as { port: number }).port;
      await new Promise<void>((resolve) => free.close(() => resolve()));
      await expect(SshConnection.connect(options(f, { port }))).rejects.toMatchObject({
        code: 'CONNECT_FAILED',
        message: expect.stringContaining('connection refused') as unknown,
      });
    });

    it('reports an unresolvable host as CONNECT_FAILED', async () => {
      await expect(SshConnection.connect(options(f, { host: 'no-such-host.invalid' }))).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    });

    it('gives up on a server that never sends its banner with CONNECT_TIMEOUT, on time', async () => {
      const started = Date.now();
      await expect(SshConnection.connect(options(f, { port: silentPort, connectTimeoutMs: 700 }))).rejects.toMatchObject({
        code: 'CONNECT_TIMEOUT',
      });
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('rejects invalid input synchronously-typed, before any network', async () => {
      await expect(SshConnection.connect(options(f, { host: 'a\nb' }))).rejects.toThrow(TypeError);
      await expect(SshConnection.connect(options(f, { port: 70_000 }))).rejects.toThrow(RangeError);
    });
  });

  describe('ProxyJump', () => {
    let jump1: RunningSshd;
    let jump2: RunningSshd;
    beforeAll(async () => {
      // DEBUG1 makes sshd log each direct-tcpip forward, which proves the jump was used.
      [jump1, jump2] = await Promise.all([
        startSshd({ credentialsOf: f, extraConfig: ['LogLevel DEBUG1'] }),
        startSshd({ credentialsOf: f, extraConfig: ['LogLevel DEBUG1'] }),
      ]);
      appendFileSync(f.knownHostsPath, `${jump1.facts.knownHostsLine}\n${jump2.facts.knownHostsLine}\n`);
    });
    afterAll(async () => {
      await Promise.all([jump1?.stop(), jump2?.stop()]);
    });

    /** The jump sshd's log must show the forward to `port`: proof the jump was really used. */
    const expectForward = (logPath: string, port: number): void => {
      expect(readFileSync(logPath, 'utf8')).toMatch(new RegExp(`direct_tcpip.*target 127\\.0\\.0\\.1 port ${port}\\b`));
    };

    it('reaches the target through one jump host, whose sshd logs the forward', async () => {
      const connection = await connect(options(f, { jumps: [endpoint(jump1.facts)] }));
      // sshd sees the connection coming from the jump host's forward.
      await expect(connection.exec('echo "$SSH_CONNECTION"')).resolves.toMatchObject({ exitCode: 0 });
      expectForward(jump1.facts.logPath, f.port);
    });

    it('follows a chain of two jump hosts in order', async () => {
      const connection = await connect(options(f, { jumps: [endpoint(jump1.facts), endpoint(jump2.facts, 'password')] }));
      await expect(connection.exec('echo chained')).resolves.toMatchObject({ stdout: 'chained\n' });
      expectForward(jump1.facts.logPath, jump2.facts.port);
      expectForward(jump2.facts.logPath, f.port);
    });

    it('says which keys accept-new recorded on the way: the jump host first, then the target', async () => {
      const file = join(dir, 'accept_new_jump', 'known_hosts');
      const connection = await connect(options(f, { jumps: [endpoint(jump1.facts)], hostKeys: { mode: 'accept-new', knownHostsFiles: [file] } }));
      expect(connection.hostKeysAdded.map((added) => [added.host, added.fingerprint, added.file])).toEqual([
        [`[127.0.0.1]:${jump1.facts.port}`, jump1.facts.hostKeyFingerprint, file],
        [`[127.0.0.1]:${f.port}`, f.hostKeyFingerprint, file],
      ]);
    });

    it('connects to an ssh_config alias: HostName, Port, User, IdentityFile, ProxyJump alias, known_hosts, keepalive', async () => {
      const home = join(dir, 'home-config');
      mkdirSync(join(home, '.ssh'), { recursive: true });
      const config = join(home, '.ssh', 'config');
      writeFileSync(
        config,
        [
          'Host bastion',
          '  HostName 127.0.0.1',
          `  Port ${jump1.facts.port}`,
          `  User ${f.user}`,
          `  IdentityFile ${f.keyPath}`,
          'Host app app-again',
          '  HostName 127.0.0.1',
          `  Port ${f.port}`,
          `  User ${f.user}`,
          `  IdentityFile ${f.keyPath}`,
          '  ProxyJump bastion',
          '  ServerAliveInterval 2',
          '  ServerAliveCountMax 4',
          '  StrictHostKeyChecking yes',
          `  UserKnownHostsFile ${f.knownHostsPath}`,
          '',
        ].join('\n'),
      );
      const resolve = (alias: string) => resolveTarget(alias, { configPath: config, homeDir: home, localUser: 'nobody' });
      const target = await resolve('app');
      expect(target.sessionKey).toBe((await resolve('app-again')).sessionKey);
      const opts = connectOptionsFor(target, { homeDir: home });
      expect(opts).toMatchObject({ keepaliveIntervalMs: 2000, keepaliveCountMax: 4, hostKeys: { mode: 'strict' } });
      const before = readFileSync(jump1.facts.logPath, 'utf8').split('server_request_direct_tcpip').length;
      const connection = await connect(opts);
      await expect(connection.exec('echo via-config')).resolves.toMatchObject({ stdout: 'via-config\n' });
      expect(readFileSync(jump1.facts.logPath, 'utf8').split('server_request_direct_tcpip').length).toBe(before + 1);
    });

    it('falls back to the default key files when ssh_config names none', async () => {
      const home = join(dir, 'home-default-keys');
      mkdirSync(join(home, '.ssh'), { recursive: true });
      copyFileSync(f.keyPath, join(home, '.ssh', 'id_ed25519'));
      const target = await resolveTarget('127.0.0.1', { homeDir: home, localUser: f.user, overrides: { port: f.port } });
      const opts = connectOptionsFor(target, { homeDir: home }, { strictHostKeyChecking: 'accept-new' });
      const connection = await connect(opts);
      await expect(connection.exec('id -un')).resolves.toMatchObject({ stdout: `${f.user}\n` });
      expect(readFileSync(join(home, '.ssh', 'known_hosts'), 'utf8')).toBe(`${f.knownHostsLine}\n`);
    });

    it('verifies each hop: an unknown jump host key is refused under strict checking', async () => {
      const onlyTarget = join(dir, 'only_target');
      writeFileSync(onlyTarget, `${f.knownHostsLine}\n`);
      const attempt = SshConnection.connect(
        options(f, { jumps: [endpoint(jump1.facts)], hostKeys: { mode: 'strict', knownHostsFiles: [onlyTarget] } }),
      );
      await expect(attempt).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
      await expect(attempt).rejects.toThrow(`[127.0.0.1]:${jump1.facts.port}`);
    });
  });

  // The middle hop of a two-hop chain (first → middle → target) killed or frozen, during connect
  // and during a command: the error names the middle hop, the first hop and the target are fine.
  describe('ProxyJump faults', () => {
    let first: RunningSshd;
    let middle: RunningSshd;
    beforeAll(async () => {
      [first, middle] = await Promise.all([startSshd({ credentialsOf: f }), startSshd({ credentialsOf: f })]);
      appendFileSync(f.knownHostsPath, `${first.facts.knownHostsLine}\n${middle.facts.knownHostsLine}\n`);
    });
    afterEach(() => middle?.thaw());
    afterAll(async () => {
      await Promise.all([first?.stop(), middle?.stop()]);
    });

    const middleName = (): RegExp => new RegExp(`jump host ${f.user}@127\\.0\\.0\\.1:${middle.facts.port} \\(hop 2 of 2\\)`);
    /** Through the chain, with fast keepalive; `onMiddleReady` runs once the middle hop has authenticated. */
    const chain = (onMiddleReady?: () => void): ConnectOptions =>
      options(f, {
        jumps: [endpoint(first.facts), endpoint(middle.facts)],
        connectTimeoutMs: 3_000,
        keepaliveIntervalMs: 500,
        keepaliveCountMax: 2,
        logger: {
          log: (_level, message, fields) => {
            if (message === 'ssh connected' && fields?.target === `${f.user}@127.0.0.1:${middle.facts.port}`) onMiddleReady?.();
          },
        },
      });
    /** After each fault: the same chain connects again and runs a command. */
    const chainWorks = async (): Promise<void> => {
      const again = await connect(chain());
      await expect(again.exec('echo back')).resolves.toMatchObject({ stdout: 'back\n', exitCode: 0 });
    };
    /** How long `work` took to fail, recorded (with the message) for docs/reliability.md. */
    const timed = async (work: Promise<unknown>): Promise<{ error: unknown; ms: number }> => {
      const name = expect.getState().currentTestName ?? 'fault';
      const started = Date.now();
      const error = await work.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      const ms = Date.now() - started;
      recordFigure('proxyjump', name, ms, 'ms');
      recordFigure('proxyjump', `${name}: message`, String(error));
      return { error, ms };
    };

    it('killed during a command: CONNECTION_CLOSED naming the middle hop, at once', async () => {
      const connection = await connect(chain());
      const running = connection.exec('sleep 30');
      await connection.exec('true'); // the sleep's channel is open
      expect(middle.killConnections()).toBeGreaterThan(0);
      const { error, ms } = await timed(running);
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', details: { hop: 2, jumpHost: `${f.user}@127.0.0.1:${middle.facts.port}` } });
      expect(String(error)).toMatch(middleName());
      expect(String(error)).toMatch(/its connection closed|connection failed/);
      expect(ms).toBeLessThan(2_000);
      expect(connection.isOpen).toBe(false);
      await chainWorks();
    });

    it('frozen during a command: CONNECTION_CLOSED naming the middle hop, within keepalive + one probe', async () => {
      const connection = await connect(chain());
      const running = connection.exec('sleep 30');
      await connection.exec('true');
      middle.freeze();
      const { error, ms } = await timed(running);
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', details: { hop: 2 } });
      expect(String(error)).toMatch(middleName());
      expect(String(error)).toMatch(/stopped answering/);
      // Keepalive 500 ms × 2, then the hops get up to 2 s to answer.
      expect(ms).toBeLessThan(5_000);
      middle.thaw();
      await chainWorks();
    });

    it('killed during connect (after it authenticated, before the target): the error names the middle hop', async () => {
      const { error, ms } = await timed(SshConnection.connect(chain(() => middle.killConnections())));
      expect(error).toMatchObject({ code: 'CONNECT_FAILED', details: { hop: 2 } });
      expect(String(error)).toMatch(middleName());
      expect(ms).toBeLessThan(3_000);
      await chainWorks();
    });

    it('frozen during connect (after it authenticated, before the target): the error names the middle hop, within the connect timeout + one probe', async () => {
      const { error, ms } = await timed(SshConnection.connect(chain(() => middle.freeze())));
      expect(error).toMatchObject({ details: { hop: 2 } });
      expect((error as { code: string }).code).toMatch(/^CONNECT_(TIMEOUT|FAILED)$/);
      expect(String(error)).toMatch(middleName());
      expect(String(error)).toMatch(/stopped answering/);
      expect(ms).toBeLessThan(3_000 + 2_000 + 1_000);
      middle.thaw();
      await chainWorks();
    });

    it('frozen before connect (the kernel accepts, no banner): CONNECT_TIMEOUT naming the middle hop', async () => {
      middle.freeze();
      const { error, ms } = await timed(SshConnection.connect(chain()));
      expect(error).toMatchObject({ code: 'CONNECT_TIMEOUT', details: { hop: 2 } });
      expect(String(error)).toMatch(middleName());
      expect(ms).toBeLessThan(3_000 + 2_000 + 1_000);
      middle.thaw();
      await chainWorks();
    });

    it('the target killed behind a jump host: CONNECTION_CLOSED naming the target, not a hop (the hop only sends EOF)', async () => {
      // Here `first` is the target, reached through `middle`.
      const connection = await connect({ ...options(f), ...endpoint(first.facts), jumps: [endpoint(middle.facts)], keepaliveIntervalMs: 0 });
      const running = connection.exec('sleep 30');
      await connection.exec('true');
      expect(first.killConnections()).toBeGreaterThan(0);
      const { error, ms } = await timed(running);
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', details: { target: `${f.user}@127.0.0.1:${first.facts.port}` } });
      expect(String(error)).not.toMatch(/jump host/);
      expect((error as { details: Record<string, unknown> }).details.hop).toBeUndefined();
      expect(ms).toBeLessThan(2_000);
    });

    it('down before connect (its port refuses): the first hop says it could not reach the middle hop', async () => {
      await middle.kill();
      try {
        const { error, ms } = await timed(SshConnection.connect(chain()));
        expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
        expect(String(error)).toMatch(new RegExp(`jump host ${f.user}@127\\.0\\.0\\.1:${first.facts.port} \\(hop 1 of 2\\) could not open a forward to ${middleName().source}`));
        expect(ms).toBeLessThan(3_000);
      } finally {
        await middle.restart();
      }
      await chainWorks();
    });
  });

  describe('dead connections', () => {
    it('detects a frozen peer (SIGSTOP, half-open TCP) within interval × count, fails the command in flight, and the pool reconnects', async () => {
      const pool = new ConnectionPool();
      pools.push(pool);
      const opts = options(f, { keepaliveIntervalMs: 300, keepaliveCountMax: 2 });
      let connection: SshConnection | undefined;
      const pids = await connectionProcesses(f, async () => (connection = await pool.acquire(opts)));
      expect(pids.length).toBeGreaterThan(1);
      const live = connection as SshConnection;
      const inFlight = live.exec('sleep 20; echo should-not-rerun');
      const closed = new Promise<number>((resolve) => live.onClose(() => resolve(Date.now())));
      const frozenAt = Date.now();
      signalAll(pids, 'SIGSTOP');
      try {
        await expect(inFlight).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
        // 2 × 300 ms of unanswered keepalives (+ one interval before the first is sent, + slack).
        expect((await closed) - frozenAt).toBeLessThan(2_500);
        expect(live.isOpen).toBe(false);
      } finally {
        signalAll(pids, 'SIGKILL');
        signalAll(pids, 'SIGCONT');
      }
      const fresh = await pool.acquire(opts);
      expect(fresh).not.toBe(live);
      await expect(fresh.exec('echo back')).resolves.toMatchObject({ stdout: 'back\n' });
    });

    it('fails a command in flight with CONNECTION_CLOSED when the sshd serving it is killed', async () => {
      let connection: SshConnection | undefined;
      const pids = await connectionProcesses(f, async () => (connection = await connect(options(f))));
      expect(pids.length).toBeGreaterThan(1);
      const inFlight = (connection as SshConnection).exec('sleep 20');
      signalAll(pids, 'SIGKILL');
      await expect(inFlight).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      await expect((connection as SshConnection).exec('true')).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    });
  });

  describe('pool', () => {
    it('lets one caller abort its wait without failing the others sharing the connect', async () => {
      const pool = new ConnectionPool();
      pools.push(pool);
      const controller = new AbortController();
      const first = pool.acquire(options(f, { signal: controller.signal }));
      const second = pool.acquire(options(f));
      controller.abort();
      await expect(first).rejects.toMatchObject({ code: 'ABORTED' });
      await expect((await second).exec('echo ok')).resolves.toMatchObject({ stdout: 'ok\n' });
    });

    it('closes a connection whose peer is frozen, instead of waiting forever for a polite close', async () => {
      const pool = new ConnectionPool();
      let connection: SshConnection | undefined;
      const pids = await connectionProcesses(f, async () => (connection = await pool.acquire(options(f))));
      signalAll(pids, 'SIGSTOP');
      try {
        await pool.closeAll();
        expect((connection as SshConnection).isOpen).toBe(false);
      } finally {
        signalAll(pids, 'SIGKILL');
        signalAll(pids, 'SIGCONT');
      }
    });

    it('shares one connect between concurrent callers for the same user@host:port', async () => {
      let connects = 0;
      const pool = new ConnectionPool({
        connect: (o) => {
          connects++;
          return SshConnection.connect(o);
        },
      });
      pools.push(pool);
      const all = await Promise.all([pool.acquire(options(f)), pool.acquire(options(f)), pool.acquire(options(f, endpoint(f, 'password')))]);
      expect(connects).toBe(1);
      expect(new Set(all).size).toBe(1);
      expect(pool.keys()).toEqual([`${f.user}@127.0.0.1:${f.port}`]);
      // A caller-chosen key holds a second connection to the same endpoint.
      const other = await pool.acquire(options(f, endpoint(f, 'password')), 'second');
      expect(connects).toBe(2);
      expect(other).not.toBe(all[0]);
      expect(pool.keys().sort()).toEqual([`${f.user}@127.0.0.1:${f.port}`, 'second']);
    });

    it('closes one and all, and does not cache a failed connect', async () => {
      const pool = new ConnectionPool();
      pools.push(pool);
      const connection = await pool.acquire(options(f));
      expect(await pool.close(connection.key)).toBe(true);
      expect(connection.isOpen).toBe(false);
      expect(pool.keys()).toEqual([]);
      await expect(pool.acquire(options(f, { auth: { password: 'wrong-pass' } }))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      await pool.acquire(options(f));
      expect(await pool.closeAll()).toBe(1);
      expect(pool.keys()).toEqual([]);
    });

    it('leaves no sockets or timers behind: a process exits by itself after closeAll', () => {
      const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
      const script = `
        const { ConnectionPool } = await import(${JSON.stringify(dist)});
        const pool = new ConnectionPool();
        const c = await pool.acquire(${JSON.stringify(options(f, { keepaliveIntervalMs: 1000 }))});
        const r = await c.exec('echo done');
        process.stdout.write(r.stdout);
        await pool.closeAll();`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('done\n');
      expect(result.status).toBe(0);
      expect(result.signal).toBeNull();
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
