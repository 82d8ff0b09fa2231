// Scenario: the cost of oversight on a warm command (issue 17: within 5%). Servers over stdio,
// each with its own session to the same sshd: two with nothing on (approval off, no audit log:
// their spread is the noise between two identical servers), one with --audit-log, one with
// --approval changes (a read-only command: classified, let through, nobody asked), one with
// the audit log, approval and --record-dir together, and one serving --dashboard with no page open. Each gets the same warm-up and the same
// back-to-back blocks of `echo hi`, in an order rotated per block. Asserts only that every answer
// is right.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { requireSshd } from 'test-utils';
import { startServer, text } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, ms, percentile, size, timing, writeResult, x } from './lib';

const WARMUP = size(1000, 50);
const BLOCKS = size(8, 2);
const PER_BLOCK = size(200, 20);

it('oversight overhead: warm execute_command with and without the audit log, approval and recordings', async () => {
  const f = requireSshd();
  const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  const auditFile = join(dir, 'audit.jsonl');
  const servers = {
    plainA: await startServer(f, { logLevel: 'info' }),
    plainB: await startServer(f, { logLevel: 'info' }),
    audited: await startServer(f, { logLevel: 'info', args: ['--audit-log', auditFile] }),
    approving: await startServer(f, { logLevel: 'info', args: ['--approval', 'changes'] }),
    everything: await startServer(f, { logLevel: 'info', args: ['--audit-log', join(dir, 'all.jsonl'), '--approval', 'changes', '--record-dir', join(dir, 'rec')] }),
    // The dashboard served, no page open (issue 18: it must add nothing then).
    dashboard: await startServer(f, { logLevel: 'info', args: ['--dashboard', '--dashboard-port', '0'] }),
  };
  type Name = keyof typeof servers;
  const names = Object.keys(servers) as Name[];
  const samples: Record<Name, number[]> = { plainA: [], plainB: [], audited: [], approving: [], everything: [], dashboard: [] };
  const call = async (name: Name): Promise<number> => {
    const start = performance.now();
    const result = await servers[name].call('execute_command', { host: 'testhost', command: 'echo hi' });
    const elapsed = performance.now() - start;
    expect(result.structuredContent?.output, text(result)).toBe('hi\n');
    return elapsed;
  };
  try {
    await configSettled();
    // Per-call cost falls with the JIT's warm-up: every server gets the same calls.
    for (let i = 0; i < WARMUP; i++) for (const name of names) await call(name);
    for (let block = 0; block < BLOCKS; block++) {
      const order = [...names.slice(block % names.length), ...names.slice(0, block % names.length)];
      for (const name of order) for (let i = 0; i < PER_BLOCK; i++) samples[name].push(await call(name));
    }
  } finally {
    for (const server of Object.values(servers)) await server.close();
  }
  const records = readFileSync(auditFile, 'utf8').split('\n').filter((line) => line !== '').length;
  rmSync(dir, { recursive: true, force: true });
  const p50 = (values: number[]): number => percentile(values, 50);
  const plain = (p50(samples.plainA) + p50(samples.plainB)) / 2;
  const ratio = p50(samples.audited) / plain;
  const approvalRatio = p50(samples.approving) / plain;
  const allRatio = p50(samples.everything) / plain;
  const dashboardRatio = p50(samples.dashboard) / plain;
  const spread = Math.max(p50(samples.plainA), p50(samples.plainB)) / Math.min(p50(samples.plainA), p50(samples.plainB));
  writeResult({
    id: 'audit-overhead',
    title: `7. Oversight cost: warm execute_command back to back, ${BLOCKS} rotated blocks of ${PER_BLOCK} per server`,
    measurements: [
      timing('execute_command, server A: approval off, no audit log', 'baseline', samples.plainA),
      timing('execute_command, server B: approval off, no audit log', 'baseline', samples.plainB),
      timing('execute_command, server with --audit-log', 'ours', samples.audited),
      timing('execute_command, server with --approval changes (read-only: nobody asked)', 'ours', samples.approving),
      timing('execute_command, server with --audit-log, --approval changes and --record-dir', 'ours', samples.everything),
      timing('execute_command, server with --dashboard, no page open', 'ours', samples.dashboard),
    ],
    targets: [
      { target: 'audit log on ≤ 1.05× off (p50 against the mean of A and B, issue 17)', measured: `${x(ratio)} (${ms(p50(samples.audited))} vs ${ms(plain)})`, ratio, met: ratio <= 1.05 },
      {
        target: 'approval changes, read-only command ≤ 1.05× approval off (p50)',
        measured: `${x(approvalRatio)} (${ms(p50(samples.approving))} vs ${ms(plain)})`,
        ratio: approvalRatio,
        met: approvalRatio <= 1.05,
      },
      {
        target: 'dashboard served, no page open ≤ 1.05× without it (p50, issue 18)',
        measured: `${x(dashboardRatio)} (${ms(p50(samples.dashboard))} vs ${ms(plain)})`,
        ratio: dashboardRatio,
        met: dashboardRatio <= 1.05,
      },
    ],
    notes: [
      `Spread between the two identical servers with nothing on: ${x(spread)}. The audit log holds ${records} records (two per call: tool_call and job_end).`,
      `Audit log, approval and recordings together: ${x(allRatio)} (${ms(p50(samples.everything))}).`,
      'Approval off is what servers A and B run: the approval path then costs one policy lookup per call (no classification, no directory query).',
    ],
  });
}, 900_000);
