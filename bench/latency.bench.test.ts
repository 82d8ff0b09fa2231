// Scenario: the first and the warm command over a WAN-like link. The run's sshd sits behind the
// test harness's delay proxy (25 ms each way, so one round trip is 50 ms); every path connects to
// the proxy, never to sshd directly. First command: our MCP server with explicit parameters
// (close_session between rounds), the peer (a fresh profile per round, so a new connection: its
// session and its exec mode) and OpenSSH `ssh host true`. Warm `echo hi`: ours over MCP, the
// peer's persistent session, OpenSSH ControlMaster and a raw ssh2 exec channel on an open
// connection. Rows are interleaved round by round, in an order rotated each round, and
// reported in ms and in round trips. A traced call of each path shows, per direction, what
// crossed the link and when: the round trips each path pays. BENCH_LATENCY_TRACE=1 prints every
// chunk of those calls. Asserts only that every answer is right.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as Ssh2Client } from 'ssh2';
import { expect, it } from 'vitest';
import { connectClient, execCommand, requireSshd, startDelayProxy, type DelayProxyEvent } from 'test-utils';
import { serverHome, startServer, text } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, ms, opensshArgs, percentile, size, timing, writeResult, x } from './lib';
import { PEER, PEER_VERSION, startPeer } from './peer';

const ONE_WAY_MS = 25;
const RTT_MS = 2 * ONE_WAY_MS;
const FIRST_ROUNDS = size(15, 3);
const WARM_ROUNDS = size(40, 8);
/**
 * Idle time before each call: an agent thinks between calls, and the previous call's trailing
 * packets (a channel close, a window adjust) have crossed the link by then, so no call pays for
 * another's.
 */
const GAP_MS = 2 * RTT_MS;
const TRACE = process.env.BENCH_LATENCY_TRACE === '1';

type Path = readonly [string, () => Promise<void>];

/**
 * Runs OpenSSH's `ssh` without blocking: the proxy lives in this process, so a spawnSync (as
 * bench/lib.ts's helpers use) would stop it forwarding and the login would never finish.
 */
function ssh(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** An OpenSSH ControlMaster through the proxy, as lib.ts's controlMaster but started with {@link ssh}. */
async function startControlMaster(base: readonly string[], target: string): Promise<{ args: (...command: string[]) => string[]; stop(): Promise<void> }> {
  // -f: ssh returns once logged in, leaving the master in the background.
  const master = await ssh([...base, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=300', '-f', '-N', target]);
  if (master.status !== 0) throw new Error(`ControlMaster did not start: ${master.stderr}`);
  return {
    args: (...command) => [...base, '-o', 'ControlMaster=no', target, ...command],
    stop: async () => void (await ssh([...base, '-O', 'exit', target])),
  };
}

/** Round `round`'s order: rotated by one each round, so each path runs in every position alike. */
const rotated = <T>(items: readonly T[], round: number): T[] => {
  const shift = ((round % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
};

/**
 * The call as its client saw the link, on the connection that carried most of it (other
 * connections' keepalives left out): what it sent (↑, when the proxy received it) and what it got
 * (↓, when the proxy passed it on), chunks of one direction less than 5 ms apart merged into one
 * turn. A round trip the call waited for is a ↓ chunk that comes at least 0.8 RTT after an ↑ chunk
 * not yet answered (a ↓ sooner was already on its way); every ↑ before that time counts as answered.
 */
function turns(events: readonly DelayProxyEvent[], startMs: number): { roundTrips: number; line: string } {
  const bytesBy = new Map<number, number>();
  for (const event of events) bytesBy.set(event.connection, (bytesBy.get(event.connection) ?? 0) + event.bytes);
  const busiest = [...bytesBy].sort((a, b) => b[1] - a[1])[0]?.[0];
  const seen = events
    .filter((event) => event.connection === busiest && event.receivedMs >= startMs)
    .map((event) => ({ direction: event.direction, bytes: event.bytes, atMs: (event.direction === 'up' ? event.receivedMs : event.forwardedMs) - startMs }))
    .sort((a, b) => a.atMs - b.atMs);
  let roundTrips = 0;
  let answeredUntilMs = Number.NEGATIVE_INFINITY;
  for (const event of seen) {
    if (event.direction !== 'down') continue;
    const askedBeforeMs = event.atMs - 0.8 * RTT_MS;
    if (seen.some((up) => up.direction === 'up' && up.atMs > answeredUntilMs && up.atMs <= askedBeforeMs)) {
      roundTrips++;
      answeredUntilMs = askedBeforeMs;
    }
  }
  const merged: { direction: DelayProxyEvent['direction']; bytes: number[]; atMs: number; lastMs: number }[] = [];
  for (const event of seen) {
    const last = merged.at(-1);
    if (last?.direction === event.direction && event.atMs - last.lastMs < 5) {
      last.bytes.push(event.bytes);
      last.lastMs = event.atMs;
    } else {
      merged.push({ direction: event.direction, bytes: [event.bytes], atMs: event.atMs, lastMs: event.atMs });
    }
  }
  const line = merged.map((turn) => `${turn.direction === 'up' ? '↑' : '↓'}${turn.bytes.join('+')} B @${turn.atMs.toFixed(0)}`).join(', ');
  return { roundTrips, line };
}

it('latency: first and warm command through a 50 ms round trip', async () => {
  const f = requireSshd();
  let recording: DelayProxyEvent[] | undefined;
  const proxy = await startDelayProxy({ target: { host: f.host, port: f.port }, oneWayMs: ONE_WAY_MS, onForward: (event) => recording?.push(event) });
  // Every client trusts sshd's host key under the proxy's address and port.
  const knownHostsLine = `[${proxy.host}]:${proxy.port} ${f.hostPublicKey}\n`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-latency-'));
  const knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, knownHostsLine);
  const viaProxy = { keyPath: f.keyPath, port: proxy.port, knownHostsPath };
  const server = await startServer(f, { home: serverHome(f, '', knownHostsLine), logLevel: 'info' });
  // p0 holds the warm session; each first-command round (and the warm-up round) takes two fresh
  // profiles, one for the session and one for exec mode, so each connects anew.
  const peer = await startPeer(f, { profiles: 1 + 2 * (FIRST_ROUNDS + 1), endpoints: [{ host: proxy.host, port: proxy.port }] });
  const explicit = { host: proxy.host, port: proxy.port, username: f.user, key_filename: f.keyPath };
  let cm: Awaited<ReturnType<typeof startControlMaster>> | undefined;
  let raw: Ssh2Client | undefined;
  const traces: string[] = [];
  /** Runs `run` once more with the proxy recording, and notes the round trips it waited for. */
  const traced = async (label: string, run: () => Promise<void>): Promise<number> => {
    await sleep(GAP_MS);
    recording = [];
    const startMs = performance.now();
    await run();
    const elapsedMs = performance.now() - startMs;
    const events = recording;
    recording = undefined;
    const { roundTrips, line } = turns(events, startMs);
    traces.push(`${label}: ${roundTrips} round trips waited for, ${elapsedMs.toFixed(0)} ms (${(elapsedMs / RTT_MS).toFixed(2)} RTT): ${line}`);
    if (TRACE) {
      const chunks = events.map((e) => `  #${e.connection} ${e.direction === 'up' ? '↑' : '↓'} ${e.kind} ${e.bytes} B in @${(e.receivedMs - startMs).toFixed(1)} out @${(e.forwardedMs - startMs).toFixed(1)}`);
      process.stderr.write(`\n${label}:\n${chunks.join('\n')}\n`);
    }
    return roundTrips;
  };
  try {
    await configSettled();

    // First command on a new host.
    const oursFirst = async (): Promise<void> => {
      const result = await server.call('execute_command', { ...explicit, command: 'true' });
      expect(result.structuredContent?.exit_code, text(result)).toBe(0);
      expect(result.structuredContent?.output).toBe('');
      // Not timed: the next round must connect again.
      const closed = await server.call('close_session', { host: proxy.host, port: proxy.port, username: f.user });
      expect(closed.structuredContent?.closed).toHaveLength(1);
    };
    let nextProfile = 1;
    const peerFirstSession = async (): Promise<void> => {
      const profile = `p${nextProfile++}`;
      await peer.open('first', profile);
      const result = await peer.run('true', profile, 'first');
      expect(result.isError, result.text).toBe(false);
      expect(result.text).toBe('');
    };
    const peerFirstExec = async (): Promise<void> => {
      const result = await peer.run('true', `p${nextProfile++}`);
      expect(result.isError, result.text).toBe(false);
      expect(result.text).toBe('');
    };
    const opensshFirst = async (): Promise<void> => {
      const result = await ssh([...opensshArgs(viaProxy), `${f.user}@${proxy.host}`, 'true']);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe('');
    };
    const first = { ours: [] as number[], peerSession: [] as number[], peerExec: [] as number[], openssh: [] as number[] };
    const firstPaths: [number[], () => Promise<void>][] = [
      [first.ours, oursFirst],
      [first.peerSession, peerFirstSession],
      [first.peerExec, peerFirstExec],
      [first.openssh, opensshFirst],
    ];
    // Round -1 warms each path (JIT, page cache) and is not kept.
    for (let round = -1; round < FIRST_ROUNDS; round++) {
      for (const [into, run] of rotated(firstPaths, round)) {
        await sleep(GAP_MS);
        const start = performance.now();
        await run();
        if (round >= 0) into.push(performance.now() - start);
      }
    }
    // The traced first command, timed up to the answer (close_session after the trace).
    const firstTrips = await traced('execute_command explicit, first command (connect + auth + shell + `true`)', async () => {
      const result = await server.call('execute_command', { ...explicit, command: 'true' });
      expect(result.structuredContent?.exit_code, text(result)).toBe(0);
    });
    await server.call('close_session', { host: proxy.host, port: proxy.port, username: f.user });
    await traced('OpenSSH ssh host true', opensshFirst);

    // Warm `echo hi`.
    await peer.open('warm', 'p0');
    cm = await startControlMaster([...opensshArgs(viaProxy), '-S', join(dir, 'cm')], `${f.user}@${proxy.host}`);
    const multiplexed = cm;
    const hostKey = Buffer.from(f.hostPublicKey.split(' ')[1] as string, 'base64');
    const rawClient = await connectClient({ host: proxy.host, port: proxy.port, username: f.user, privateKey: readFileSync(f.keyPath), hostVerifier: (key: Buffer) => key.equals(hostKey) });
    raw = rawClient;
    const oursWarm = async (): Promise<void> => {
      const result = await server.call('execute_command', { ...explicit, command: 'echo hi' });
      expect(result.isError, text(result)).toBeFalsy();
      expect(result.structuredContent?.output).toBe('hi\n');
    };
    // The peer trims its session output.
    const peerWarm = async (): Promise<void> => {
      const result = await peer.run('echo hi', 'p0', 'warm');
      expect(result.isError, result.text).toBe(false);
      expect(result.text).toBe('hi');
    };
    const controlMasterWarm = async (): Promise<void> => {
      const result = await ssh(multiplexed.args('echo hi'));
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe('hi\n');
    };
    const rawWarm = async (): Promise<void> => {
      const result = await execCommand(rawClient, 'echo hi');
      expect(result.stdout).toBe('hi\n');
    };
    const warm = { ours: [] as number[], peer: [] as number[], controlMaster: [] as number[], raw: [] as number[] };
    const warmPaths: [number[], () => Promise<void>][] = [
      [warm.ours, oursWarm],
      [warm.peer, peerWarm],
      [warm.controlMaster, controlMasterWarm],
      [warm.raw, rawWarm],
    ];
    for (let round = -3; round < WARM_ROUNDS; round++) {
      for (const [into, run] of rotated(warmPaths, round)) {
        await sleep(GAP_MS);
        const start = performance.now();
        await run();
        if (round >= 0) into.push(performance.now() - start);
      }
    }
    const warmTrips = await traced('execute_command explicit, warm `echo hi`', oursWarm);
    const tracedWarm: Path[] = [
      [`${PEER} session, warm`, peerWarm],
      ['raw ssh2 exec, warm', rawWarm],
      ['OpenSSH ControlMaster, warm', controlMasterWarm],
    ];
    for (const [label, run] of tracedWarm) await traced(label, run);

    const p50 = (values: number[]): number => percentile(values, 50);
    const rtt = (value: number): string => `${(value / RTT_MS).toFixed(2)} RTT`;
    const vs = (target: string, ours: number[], base: number[], limit: number) => {
      const r = p50(ours) / p50(base);
      return { target, measured: `${x(r)} (${ms(p50(ours))} = ${rtt(p50(ours))} vs ${ms(p50(base))} = ${rtt(p50(base))})`, ratio: r, met: r <= limit };
    };
    const rows = [
      timing('first: execute_command explicit host/port/username/key_filename, new session', 'ours', first.ours),
      timing(`first: ${PEER} ${PEER_VERSION} open-session + run-command, new profile`, 'baseline', first.peerSession),
      timing(`first: ${PEER} ${PEER_VERSION} run-command exec mode, new profile`, 'baseline', first.peerExec),
      timing('first: OpenSSH ssh host true', 'baseline', first.openssh),
      timing('warm: execute_command explicit parameters', 'ours', warm.ours),
      timing(`warm: ${PEER} ${PEER_VERSION} run-command in its persistent session`, 'baseline', warm.peer),
      timing('warm: OpenSSH ssh with ControlMaster', 'baseline', warm.controlMaster),
      timing('warm: raw ssh2 exec channel, open connection', 'baseline', warm.raw),
    ];
    writeResult({
      id: 'latency',
      title: `Latency over a ${RTT_MS} ms round trip. ${ONE_WAY_MS} ms each way through a userspace proxy; first command ${FIRST_ROUNDS} rounds, warm \`echo hi\` ${WARM_ROUNDS} rounds, interleaved (${GAP_MS} ms before each call, order rotated)`,
      measurements: rows,
      targets: [
        { target: `warm over MCP ≤ 1.2 RTT (${1.2 * RTT_MS} ms, p50)`, measured: `${ms(p50(warm.ours))} = ${rtt(p50(warm.ours))}`, ratio: p50(warm.ours) / RTT_MS, met: p50(warm.ours) <= 1.2 * RTT_MS },
        vs('first command over MCP ≤ OpenSSH ssh host true (p50)', first.ours, first.openssh, 1),
        vs(`first command over MCP ≤ 0.8× ${PEER}'s first command in a session (p50)`, first.ours, first.peerSession, 0.8),
        vs(`first command over MCP ≤ 0.8× ${PEER}'s first command in exec mode (p50)`, first.ours, first.peerExec, 0.8),
        vs(`warm over MCP ≤ 0.7× ${PEER}'s session (p50)`, warm.ours, warm.peer, 0.7),
      ],
      notes: [
        `p50 in round trips of ${RTT_MS} ms: ${rows.map((row) => `${row.label} ${rtt(row.p50 ?? Number.NaN)}`).join('; ')}.`,
        `Round trips counted on the wire (one traced call each, after the rounds; ↑ what the client sent, ↓ what it got, ms from the call's start): ${traces.join(' — ')}.`,
        `Ours: ${firstTrips} round trips waited for the first command, ${warmTrips} warm.`,
        // Read from the traces above (ssh2 1.17, OpenSSH 9.2 sshd); the code is cited so a change shows.
        'Where the first command over MCP spends its round trips (trace of one call): ssh2 sends KEXINIT only after the server ident (~0.6 RTT), ECDH init after the server KEXINIT → KEX reply (1), NEWKEYS + service request (1), publickey query without signature → PK_OK (1: ssh2 lib/client.js always queries before signing, no option), signed publickey → success (1), then two channels opened at once (ssh-session-core asks for the shell while the POSIX detection probe runs; ssh2 answers sshd\'s hostkeys-00 with hostkeys-prove-00 in parallel, no wait): the probe\'s open and exec `printf %s "$SHELL"` (2) overlap the shell\'s open (1), pty-req → success (1: ssh2 Client.shell sends the shell request only after the pty reply) and shell → success and prompt (1), then the setup line → its marker (1: ShellSession waits for it before typing the command), the command → its marker (1). Before the overlap it was 13 round trips. Pipelining pty-req and shell (−1, needs ssh2 internals) and typing the first command behind the setup line (−1, but a CLI behind an exec-capable shell would get the command typed into it) are left out; OpenSSH pays 10 (it also sends a `none` auth first), the peer\'s exec mode 8.9 (no shell, no setup).',
        `Warm, ours pays exactly one round trip (the command line up, output and marker down in one turn); the rest of its ${ms(p50(warm.ours) - RTT_MS)} over ${RTT_MS} ms is local. ${PEER}'s session also pays one, so the ≤ 0.7× target cannot be met over a link this slow: it would take less than one round trip.`,
        'The proxy ends TCP on loopback: the TCP handshake, slow start and any Nagle wait for an ACK are not delayed, so a real link adds one round trip to every first command (the SYN) and can add stalls this bench does not show.',
      ],
    });
  } finally {
    raw?.end();
    await cm?.stop();
    await peer.close();
    await server.close();
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 600_000);
