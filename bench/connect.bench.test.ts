// Scenario 2: the first command on a host — connect + auth + shell ready + `true` — through the
// library and through the MCP server (close_session between rounds so each call connects anew),
// against a raw ssh2 connect + exec, OpenSSH's `ssh host true` and the peer (ssh-mcp: a fresh
// profile per round, so a new connection, through its persistent session and its exec mode),
// interleaved round by round. Over MCP ours is called both by ssh_config alias and with explicit
// host/port/username/key_filename, as an agent without a config does.
// The cost of finding out that the host is POSIX (no device_type) is measured against the same
// open told `linux`: the detection probe is the exec that asks for $SHELL, so it should be ~0.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { expect, it } from 'vitest';
import { requireSshd } from 'test-utils';
import { openHostShell, ShellSession, SshConnection, type ConnectOptions } from '../packages/ssh-session-core/src/index';
import { startServer, text } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, opensshArgs, percentile, size, timing, writeResult, x } from './lib';
import { PEER, PEER_VERSION, startPeer } from './peer';

const ROUNDS = size(30, 4);

it('first command: library and MCP vs raw ssh2 connect + exec and ssh host true', async () => {
  const f = requireSshd();
  const key = readFileSync(f.keyPath);
  const server = await startServer(f, { logLevel: 'info' });
  // Two fresh profiles per round (and the warm-up round): one for the session, one for exec mode.
  const peer = await startPeer(f, { profiles: 2 * (ROUNDS + 1) });
  await configSettled();
  const login: ConnectOptions = {
    host: f.host,
    port: f.port,
    username: f.user,
    auth: { privateKeys: [{ key }] },
    hostKeys: { mode: 'strict', knownHostsFiles: [f.knownHostsPath] },
  };
  const library = async (): Promise<void> => {
    const connection = await SshConnection.connect(login);
    const shell = await ShellSession.open(connection);
    const result = await shell.run('true');
    expect(result.exitCode).toBe(0);
    shell.close();
    connection.close();
  };
  const detected = async (): Promise<void> => {
    const { connection, shell, detection } = await openHostShell(() => SshConnection.connect(login));
    expect(detection.kind).toBe('posix');
    const result = await (shell as ShellSession).run('true');
    expect(result.exitCode).toBe(0);
    shell.close();
    connection.close();
  };
  const mcp = async (): Promise<void> => {
    const result = await server.call('execute_command', { host: 'testhost', command: 'true' });
    expect(result.structuredContent?.exit_code, text(result)).toBe(0);
  };
  const mcpLinux = async (): Promise<void> => {
    const result = await server.call('execute_command', { host: 'testhost', command: 'true', device_type: 'linux' });
    expect(result.structuredContent?.exit_code, text(result)).toBe(0);
  };
  const explicit = { host: f.host, port: f.port, username: f.user, key_filename: f.keyPath };
  const mcpExplicit = async (): Promise<void> => {
    const result = await server.call('execute_command', { ...explicit, command: 'true' });
    expect(result.structuredContent?.exit_code, text(result)).toBe(0);
  };
  let nextProfile = 0;
  const peerSession = async (): Promise<void> => {
    const profile = `p${nextProfile++}`;
    await peer.open('first', profile);
    const result = await peer.run('true', profile, 'first');
    expect(result.isError, result.text).toBe(false);
  };
  const peerExec = async (): Promise<void> => {
    const result = await peer.run('true', `p${nextProfile++}`);
    expect(result.isError, result.text).toBe(false);
  };
  const raw = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('error', reject);
      client.on('ready', () =>
        client.exec('true', (error, channel) => {
          if (error) return reject(error);
          channel.on('close', () => {
            resolve();
            client.end();
          });
          channel.resume();
        }),
      );
      client.connect({ host: f.host, port: f.port, username: f.user, privateKey: key });
    });
  const openssh = (): void => {
    const result = spawnSync('ssh', [...opensshArgs(f), `${f.user}@${f.host}`, 'true']);
    expect(result.status, result.stderr?.toString()).toBe(0);
  };
  const samples = {
    library: [] as number[],
    detected: [] as number[],
    mcp: [] as number[],
    mcpExplicit: [] as number[],
    mcpLinux: [] as number[],
    peerSession: [] as number[],
    peerExec: [] as number[],
    raw: [] as number[],
    openssh: [] as number[],
  };
  const timed = async (into: number[] | undefined, run: () => Promise<void> | void): Promise<void> => {
    const start = performance.now();
    await run();
    into?.push(performance.now() - start);
  };
  try {
    // Warm each path once (JIT, page cache), then interleave.
    for (let round = -1; round < ROUNDS; round++) {
      const keep = round >= 0;
      // Told and detected swap places every round, so neither always runs on a warmer machine.
      const pairs: [number[], () => Promise<void>][][] = [
        [
          [samples.library, library],
          [samples.detected, detected],
        ],
        [
          [samples.mcp, mcp],
          [samples.mcpLinux, mcpLinux],
        ],
      ];
      for (const pair of pairs) {
        for (const [into, run] of round % 2 === 0 ? pair : [...pair].reverse()) {
          await timed(keep ? into : undefined, run);
          await server.call('close_session', { host: 'testhost' });
        }
      }
      // Explicit parameters name the same host as the alias: close by host/port/username.
      await timed(keep ? samples.mcpExplicit : undefined, mcpExplicit);
      const closed = await server.call('close_session', { host: f.host, port: f.port, username: f.user });
      expect(closed.structuredContent?.closed, text(closed)).toHaveLength(1);
      const baselines: [number[], () => Promise<void> | void][] = [
        [samples.peerSession, peerSession],
        [samples.peerExec, peerExec],
        [samples.raw, raw],
        [samples.openssh, openssh],
      ];
      for (const [into, run] of round % 2 === 0 ? baselines : [...baselines].reverse()) await timed(keep ? into : undefined, run);
    }
  } finally {
    await server.close();
    await peer.close();
  }
  const p50 = (values: number[]): number => percentile(values, 50);
  const vs = (ours: number[], base: number[], label: string, limit: number) => {
    const r = p50(ours) / p50(base);
    return { target: label, measured: `${x(r)} (${p50(ours).toFixed(0)} vs ${p50(base).toFixed(0)} ms)`, ratio: r, met: r <= limit };
  };
  writeResult({
    id: 'first-command',
    title: `2. First command: connect + auth + shell ready + \`true\`, ${ROUNDS} interleaved rounds`,
    measurements: [
      timing('SshConnection + ShellSession + run (library)', 'ours', samples.library),
      timing('openHostShell (POSIX detected) + run (library)', 'ours', samples.detected),
      timing('execute_command on a new session, MCP stdio', 'ours', samples.mcp),
      timing('execute_command on a new session with device_type linux, MCP stdio', 'ours', samples.mcpLinux),
      timing('execute_command explicit host/port/username/key_filename, new session', 'ours', samples.mcpExplicit),
      timing(`${PEER} ${PEER_VERSION} open-session + run-command, new profile`, 'baseline', samples.peerSession),
      timing(`${PEER} ${PEER_VERSION} run-command exec mode, new profile`, 'baseline', samples.peerExec),
      timing('raw ssh2 connect + exec', 'baseline', samples.raw),
      timing('OpenSSH ssh host true', 'baseline', samples.openssh),
    ],
    targets: [
      vs(samples.mcpExplicit, samples.raw, 'over MCP, explicit ≤ 1.1× raw ssh2 connect + exec (issue 16)', 1.1),
      vs(samples.mcp, samples.raw, 'over MCP, alias ≤ 1.1× raw ssh2 connect + exec (issue 16)', 1.1),
      vs(samples.mcpExplicit, samples.peerSession, `over MCP, explicit ≤ 0.8× ${PEER}'s session (issue 16)`, 0.8),
      vs(samples.mcpExplicit, samples.peerExec, `over MCP, explicit ≤ 0.8× ${PEER}'s exec mode (issue 16)`, 0.8),
      vs(samples.mcp, samples.openssh, 'over MCP ≤ 1.2× ssh host true (issue)', 1.2),
      vs(samples.library, samples.openssh, 'library ≤ 1.2× ssh host true', 1.2),
      vs(samples.library, samples.raw, 'library ≤ 1.2× raw ssh2 connect + exec', 1.2),
      // Detection adds no round trip on a POSIX host: within noise of being told `linux`.
      vs(samples.detected, samples.library, 'library: detected ≤ 1.05× told linux (detection cost)', 1.05),
      vs(samples.mcp, samples.mcpLinux, 'over MCP: no device_type ≤ 1.05× device_type linux (detection cost)', 1.05),
    ],
  });
}, 600_000);
