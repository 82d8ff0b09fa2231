// pnpm bench: first command cost — connect + auth + ready (+ one exec) — of SshConnection against
// OpenSSH's `ssh host true` and a raw ssh2 client, run side by side (interleaved) on the loopback
// sshd. Reports medians and ratios; asserts nothing about speed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { expect, it } from 'vitest';
import { requireSshd } from 'test-utils';
import { SshConnection } from '../packages/ssh-session-core/src/index';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

it('connect + auth + ready: SshConnection vs ssh2 vs OpenSSH', async () => {
  const f = requireSshd();
  const key = readFileSync(f.keyPath);
  const ours = async (): Promise<{ ready: number; firstCommand: number }> => {
    const start = performance.now();
    const connection = await SshConnection.connect({
      host: f.host,
      port: f.port,
      username: f.user,
      auth: { privateKeys: [{ key }] },
      hostKeys: { mode: 'strict', knownHostsFiles: [f.knownHostsPath] },
    });
    const ready = performance.now() - start;
    const result = await connection.exec('true');
    const firstCommand = performance.now() - start;
    connection.close();
    expect(result.exitCode).toBe(0);
    return { ready, firstCommand };
  };
  const raw = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const client = new ssh2.Client();
      client.on('error', reject);
      client.on('ready', () =>
        client.exec('true', (error, channel) => {
          if (error) return reject(error);
          channel.on('close', () => {
            resolve(performance.now() - start);
            client.end();
          });
          channel.resume();
        }),
      );
      client.connect({ host: f.host, port: f.port, username: f.user, privateKey: key });
    });
  const openssh = (): number => {
    const start = performance.now();
    const result = spawnSync('ssh', [
      '-F', '/dev/null', '-i', f.keyPath, '-p', String(f.port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${f.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', `${f.user}@${f.host}`, 'true',
    ]);
    const elapsed = performance.now() - start;
    expect(result.status, result.stderr?.toString()).toBe(0);
    return elapsed;
  };

  // Warm up each path once (JIT, page cache), then interleave so drift hits all three alike.
  await ours();
  await raw();
  openssh();
  const samples = { oursReady: [] as number[], oursFirst: [] as number[], raw: [] as number[], openssh: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const o = await ours();
    samples.oursReady.push(o.ready);
    samples.oursFirst.push(o.firstCommand);
    samples.raw.push(await raw());
    samples.openssh.push(openssh());
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    rounds: ROUNDS,
    medianMs: m,
    ratios: {
      firstCommandVsSshTrue: m.oursFirst / m.openssh,
      firstCommandVsRawSsh2: m.oursFirst / m.raw,
    },
    targets: {
      'first command ≤ 1.2× ssh host true': m.oursFirst / m.openssh <= 1.2,
      'first command ≤ 1.2× raw ssh2 connect + exec': m.oursFirst / m.raw <= 1.2,
    },
  };
  mkdirSync(new URL('../docs/bench/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../docs/bench/connect.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `\nconnect benchmark (${ROUNDS} rounds, medians)\n` +
      `  SshConnection ready            ${m.oursReady.toFixed(1)} ms\n` +
      `  SshConnection ready + exec     ${m.oursFirst.toFixed(1)} ms\n` +
      `  raw ssh2 connect + exec        ${m.raw.toFixed(1)} ms   ratio ${report.ratios.firstCommandVsRawSsh2.toFixed(2)}×\n` +
      `  OpenSSH ssh host true          ${m.openssh.toFixed(1)} ms   ratio ${report.ratios.firstCommandVsSshTrue.toFixed(2)}×\n`,
  );
}, 300_000);
