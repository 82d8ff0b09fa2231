// A real OpenSSH sshd on 127.0.0.1 for the integration tests: free port chosen at run time, temp
// host key and config, a fresh client key and a random password for the provisioned test user.
// Secrets go to chpasswd on stdin, never into process arguments.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SSHD_PATH = '/usr/sbin/sshd';
export const TEST_USER = 'mcpsshtest';
export const PROVISION_SCRIPT = fileURLToPath(new URL('../provision-test-host.sh', import.meta.url));
export const PROVISION_FIX = `sudo sh ${PROVISION_SCRIPT}`;

/** What a test needs to reach the loopback sshd. Serializable (passed to workers by vitest). */
export interface SshdFacts {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Random per run; set with chpasswd at start. */
  readonly password: string;
  /** Unencrypted ed25519 private key (OpenSSH format), generated per run, authorized for `user`. */
  readonly keyPath: string;
  readonly publicKey: string;
  /** The server's host public key, `ssh-ed25519 AAAA…`. */
  readonly hostPublicKey: string;
  /** `SHA256:…` as ssh prints it. */
  readonly hostKeyFingerprint: string;
  /** `[127.0.0.1]:<port> ssh-ed25519 AAAA…`. */
  readonly knownHostsLine: string;
  /** A known_hosts file holding the host key for every address in {@link loopbackHosts}. */
  readonly knownHostsPath: string;
  /** The loopback addresses sshd listens on (127.0.0.1 first), all on {@link port}. */
  readonly loopbackHosts: readonly string[];
  /** sshd's own log (LogLevel VERBOSE). */
  readonly logPath: string;
  /** Process id of the listening sshd. */
  readonly pid: number;
  /** The temp directory holding config, keys and log; removed on stop. */
  readonly dir: string;
}

export interface RunningSshd {
  readonly facts: SshdFacts;
  /** Stops sshd and every per-connection child, then removes the temp directory. */
  stop(): Promise<void>;
  /** Fault injection: SIGKILLs the per-connection processes (the sessions die; sshd still listens). */
  killConnections(): number;
  /** Fault injection: SIGSTOPs sshd and every per-connection process (half-open TCP: no answers, no RST). */
  freeze(): void;
  /** Undoes {@link freeze}. */
  thaw(): void;
  /** Fault injection: SIGKILLs sshd and its children; the port refuses connections until {@link restart}. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port, host key and config. */
  restart(): Promise<void>;
}

/** Everything missing for the integration tests, each with what fixes it. Empty when ready. */
export function checkTestHost(): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux') return [`integration tests need Linux (this is ${process.platform})`];
  if (process.getuid?.() !== 0) {
    problems.push('not running as root: the suite starts its own sshd as root (run the tests as root)');
  }
  if (!existsSync(SSHD_PATH)) problems.push(`${SSHD_PATH} is missing (openssh-server): run ${PROVISION_FIX}`);
  if (spawnSync('sh', ['-c', 'command -v sudo'], { stdio: 'ignore' }).status !== 0) {
    problems.push(`sudo is missing: run ${PROVISION_FIX}`);
  }
  if (spawnSync('id', [TEST_USER], { stdio: 'ignore' }).status !== 0) {
    problems.push(`test user ${TEST_USER} is missing: run ${PROVISION_FIX}`);
  }
  return problems;
}

function run(cmd: string, args: readonly string[], input?: string): string {
  const result = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args[0] ?? ''} failed (${result.status}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Where the test user's password is kept (root only), so suites run side by side agree on it. */
const PASSWORD_FILE = '/var/lib/mcp-ssh-test/password';

/** The test user's password: drawn once per machine, then reused. */
function machinePassword(): string {
  try {
    const kept = readFileSync(PASSWORD_FILE, 'utf8').trim();
    if (kept) return kept;
  } catch {
    // none yet
  }
  mkdirSync(dirname(PASSWORD_FILE), { recursive: true, mode: 0o700 });
  const drawn = `Pw-${randomBytes(12).toString('base64url')}`;
  try {
    writeFileSync(PASSWORD_FILE, `${drawn}\n`, { mode: 0o600, flag: 'wx' });
    return drawn;
  } catch {
    // Another suite drew it first.
    return readFileSync(PASSWORD_FILE, 'utf8').trim();
  }
}

/** OpenSSH's MAX_LISTEN_SOCKS: sshd refuses more listen addresses than this. */
export const MAX_LOOPBACK_ADDRESSES = 16;

/** 127.0.0.1, 127.0.0.2, …: Linux routes all of 127/8 to loopback, so each is a distinct host name. */
function loopbackHosts(count: number): string[] {
  if (count > MAX_LOOPBACK_ADDRESSES) throw new RangeError(`sshd listens on at most ${MAX_LOOPBACK_ADDRESSES} addresses; start more instances (startSshdFleet)`);
  return Array.from({ length: Math.max(1, count) }, (_, index) => `127.0.0.${index + 1}`);
}

function sshdConfig(dir: string, port: number, user: string, hosts: readonly string[]): string {
  return [
    `Port ${port}`,
    ...hosts.map((host) => `ListenAddress ${host}`),
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    // This instance's own client key, so suites run side by side (two checkouts) never replace
    // each other's; the user's own file still counts (tests add keys there). Its path under /tmp
    // is world-writable above, which StrictModes would refuse.
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')} .ssh/authorized_keys`,
    'StrictModes no',
    'PermitRootLogin no',
    `AllowUsers ${user}`,
    'AllowTcpForwarding yes',
    'MaxSessions 64',
    'MaxStartups 200:30:400',
    'LogLevel VERBOSE',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

export interface StartSshdOptions {
  readonly user?: string;
  /**
   * Reuse the login credentials of a running instance (a second sshd, e.g. a jump host) instead
   * of setting a new password and key, which would break the first instance's facts.
   */
  readonly credentialsOf?: Pick<SshdFacts, 'user' | 'password' | 'keyPath' | 'publicKey'>;
  /** Extra sshd_config lines (e.g. `LogLevel DEBUG1`). */
  readonly extraConfig?: readonly string[];
  /**
   * Listen on this many loopback addresses (127.0.0.1, 127.0.0.2, …; default 1, at most
   * {@link MAX_LOOPBACK_ADDRESSES}), so a client can hold that many distinct host endpoints
   * (sessions keyed by host) on one sshd. {@link startSshdFleet} goes beyond.
   */
  readonly loopbackAddresses?: number;
}

/** Starts sshd; resolves once it logs "Server listening". Retries when the port was taken meanwhile. */
export async function startSshd(options: StartSshdOptions = {}): Promise<RunningSshd> {
  const shared = options.credentialsOf;
  const user = shared?.user ?? options.user ?? TEST_USER;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-sshd-'));
  try {
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mcp-ssh-test-host', '-f', hostKey]);
    const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const hostKeyFingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]).split(' ')[1] ?? '';

    const clientKey = shared?.keyPath ?? join(dir, 'client_ed25519');
    let publicKey = shared?.publicKey ?? '';
    let password = shared?.password ?? '';
    if (!shared) {
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mcp-ssh-test-client', '-f', clientKey]);
      publicKey = readFileSync(`${clientKey}.pub`, 'utf8').trim();
      password = machinePassword();
      run('chpasswd', [], `${user}:${password}\n`);
    }
    // sshd reads it as the user: the directory is traversable, its secrets stay 0600.
    chmodSync(dir, 0o711);
    writeFileSync(join(dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o644 });

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, 'sshd_config');
      // sshd_config: the first value of a keyword wins, so extra lines go first.
      const hosts = loopbackHosts(options.loopbackAddresses ?? 1);
      writeFileSync(configPath, (options.extraConfig ?? []).map((line) => `${line}\n`).join('') + sshdConfig(dir, port, user, hosts));
      run(SSHD_PATH, ['-t', '-f', configPath]);
      const logPath = join(dir, 'sshd.log');
      try {
        const child = await spawnListening(configPath, logPath, port, hosts);
        const knownHostsLine = `[127.0.0.1]:${port} ${hostPublicKey}`;
        const knownHostsPath = join(dir, 'known_hosts');
        writeFileSync(knownHostsPath, hosts.map((host) => `[${host}]:${port} ${hostPublicKey}\n`).join(''));
        const facts: SshdFacts = {
          host: '127.0.0.1',
          port,
          user,
          password,
          keyPath: clientKey,
          publicKey,
          hostPublicKey,
          hostKeyFingerprint,
          knownHostsLine,
          knownHostsPath,
          loopbackHosts: hosts,
          logPath,
          pid: child.pid ?? 0,
          dir,
        };
        let current = child;
        const family = (): number[] => (current.pid ? descendants(current.pid) : []);
        /** sshd and every per-connection process. */
        const everyone = (): number[] => (current.pid ? [current.pid, ...descendants(current.pid)] : []);
        return {
          facts,
          stop: () => {
            signal(everyone(), 'SIGCONT');
            return stopSshd(current, dir);
          },
          killConnections: () => {
            const pids = family();
            signal(pids, 'SIGKILL');
            return pids.length;
          },
          freeze: () => signal(everyone(), 'SIGSTOP'),
          thaw: () => signal(everyone(), 'SIGCONT'),
          kill: async () => {
            if (current.exitCode !== null || current.signalCode !== null) return;
            const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
            signal(everyone(), 'SIGKILL');
            await exited;
          },
          restart: async () => {
            current = await spawnListening(configPath, logPath, port, hosts);
          },
        };
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function spawnListening(configPath: string, logPath: string, port: number, hosts: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    const log = createWriteStream(logPath, { flags: 'a' });
    let seen = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`sshd did not report listening within 10 s:\n${seen}`)), 10_000);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (settled) return;
      seen += chunk.toString('utf8');
      if (hosts.every((host) => seen.includes(`Server listening on ${host} port ${port}.`))) {
        settled = true;
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      log.end();
      fail(new Error(`sshd exited early (${code ?? signal}):\n${seen}`));
    });
  });
}

/** Every live descendant of `pid` (per-connection sshd processes call setsid, so no group kill). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while listing
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

async function stopSshd(child: ChildProcess, dir: string): Promise<void> {
  if (child.pid && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const family = descendants(child.pid);
    signal([child.pid, ...family], 'SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 5_000, 'timeout').unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') signal([child.pid], 'SIGKILL');
    await exited;
    signal(family, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

export interface SshdFleet {
  /** Distinct host endpoints, all logging in with the first instance's credentials. */
  readonly endpoints: readonly { readonly host: string; readonly port: number }[];
  /** known_hosts lines for every endpoint. */
  readonly knownHosts: string;
  stop(): Promise<void>;
}

/**
 * `count` distinct loopback endpoints (address × port) for load scenarios: the running instance's
 * addresses first, then as many more sshd instances as needed, sharing its credentials.
 */
export async function startSshdFleet(first: SshdFacts, count: number): Promise<SshdFleet> {
  const endpoints = first.loopbackHosts.slice(0, count).map((host) => ({ host, port: first.port }));
  let knownHosts = first.loopbackHosts
    .slice(0, count)
    .map((host) => `[${host}]:${first.port} ${first.hostPublicKey}\n`)
    .join('');
  const extra: RunningSshd[] = [];
  try {
    while (endpoints.length < count) {
      const addresses = Math.min(MAX_LOOPBACK_ADDRESSES, count - endpoints.length);
      const instance = await startSshd({ credentialsOf: first, loopbackAddresses: addresses });
      extra.push(instance);
      for (const host of instance.facts.loopbackHosts) endpoints.push({ host, port: instance.facts.port });
      knownHosts += readFileSync(instance.facts.knownHostsPath, 'utf8');
    }
  } catch (error) {
    await Promise.all(extra.map((instance) => instance.stop()));
    throw error;
  }
  return { endpoints, knownHosts, stop: async () => void (await Promise.all(extra.map((instance) => instance.stop()))) };
}
