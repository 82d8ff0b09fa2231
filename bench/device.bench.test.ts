// pnpm bench: how long after a fake device hands its prompt to ssh2 does DeviceSession resolve the
// command? No idle wait means a few milliseconds at most. Reports; asserts no speed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { FakeHost, fakeDevice, fakeLogin } from 'test-utils';
import { DeviceSession, SshConnection } from '../packages/ssh-session-core/src/index';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

it('device command: prompt arrival → result', async () => {
  let promptSentAt = 0;
  const host = await FakeHost.start({ split: 'none', onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'bench1', onPromptSent: () => (promptSentAt = performance.now()) }) });
  const connection = await SshConnection.connect(fakeLogin(host.address));
  const session = await DeviceSession.open(connection, { deviceType: 'cisco_ios' });
  try {
    const afterPrompt: number[] = [];
    const total: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      const result = await session.run('show clock', { timeoutMs: 5_000 });
      const end = performance.now();
      expect(result.output).toBe('*10:00:00.000 UTC Wed Nov 25 2026\n');
      afterPrompt.push(end - promptSentAt);
      total.push(end - start);
    }
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      rounds: ROUNDS,
      promptToResultMs: { p50: percentile(afterPrompt, 50), p95: percentile(afterPrompt, 95), max: Math.max(...afterPrompt) },
      commandMs: { p50: percentile(total, 50), p95: percentile(total, 95) },
      targets: { 'device result within a few ms of its prompt (p95 ≤ 5 ms)': percentile(afterPrompt, 95) <= 5 },
    };
    mkdirSync(new URL('../docs/bench/', import.meta.url), { recursive: true });
    writeFileSync(new URL('../docs/bench/device.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(
      `\ndevice benchmark (${ROUNDS} rounds, fake cisco_ios)\n` +
        `  prompt → result   p50 ${report.promptToResultMs.p50.toFixed(2)} ms  p95 ${report.promptToResultMs.p95.toFixed(2)} ms\n` +
        `  whole command     p50 ${report.commandMs.p50.toFixed(2)} ms  p95 ${report.commandMs.p95.toFixed(2)} ms\n`,
    );
  } finally {
    session.close();
    connection.close();
    await host.close();
  }
}, 120_000);
