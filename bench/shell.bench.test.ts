// pnpm bench: a trivial command on a warm ShellSession vs a raw exec channel on the same open
// connection (interleaved), and `seq 1 100000` through the shell. Reports; asserts no speed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { keyLogin, requireSshd } from 'test-utils';
import { ShellSession, SshConnection } from '../packages/ssh-session-core/src/index';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

it('warm command: ShellSession vs raw exec channel; seq 1 100000', async () => {
  const f = requireSshd();
  const connection = await SshConnection.connect(keyLogin(f));
  const shell = await ShellSession.open(connection);
  try {
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < 10; i++) {
      await shell.run('echo warm');
      await connection.exec('echo warm');
    }
    for (let round = 0; round < ROUNDS; round++) {
      let start = performance.now();
      const a = await shell.run('echo hi');
      ours.push(performance.now() - start);
      start = performance.now();
      const b = await connection.exec('echo hi');
      raw.push(performance.now() - start);
      expect(a.output).toBe('hi\n');
      expect(b.stdout).toBe('hi\n');
    }
    const seqTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const result = await shell.run('seq 1 100000');
      seqTimes.push(performance.now() - start);
      expect(result.totalChars).toBe(588_895);
    }
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      rounds: ROUNDS,
      warmCommandMs: { p50: percentile(ours, 50), p95: percentile(ours, 95) },
      rawExecMs: { p50: percentile(raw, 50), p95: percentile(raw, 95) },
      ratioP50: percentile(ours, 50) / percentile(raw, 50),
      seq100000Ms: { median: percentile(seqTimes, 50) },
      targets: {
        'warm command ≤ raw exec (p50)': percentile(ours, 50) <= percentile(raw, 50),
        'warm command ≤ 5 ms (p50)': percentile(ours, 50) <= 5,
        'seq 1 100000 < 300 ms': percentile(seqTimes, 50) < 300,
      },
    };
    mkdirSync(new URL('../docs/bench/', import.meta.url), { recursive: true });
    writeFileSync(new URL('../docs/bench/shell.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(
      `\nshell benchmark (${ROUNDS} rounds)\n` +
        `  ShellSession echo   p50 ${report.warmCommandMs.p50.toFixed(2)} ms  p95 ${report.warmCommandMs.p95.toFixed(2)} ms\n` +
        `  raw exec echo       p50 ${report.rawExecMs.p50.toFixed(2)} ms  p95 ${report.rawExecMs.p95.toFixed(2)} ms  (ratio ${report.ratioP50.toFixed(2)}×)\n` +
        `  seq 1 100000        ${report.seq100000Ms.median.toFixed(1)} ms\n`,
    );
  } finally {
    shell.close();
    connection.close();
  }
}, 300_000);
