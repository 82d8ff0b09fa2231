// BENCH_PROFILE=1 pnpm bench: CPU profiles behind the missed targets — a large output through the
// persistent shell (next to the same output through exec channels with and without a PTY), and
// the MCP server under 50 × 100 concurrent calls. Writes a self-time summary per profile to
// docs/bench/profile/; skipped in a normal bench run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { keyLogin, requireSshd, startSshdFleet } from 'test-utils';
import { SshConnection } from '../packages/ssh-session-core/src/index';
import { endpointAliases, serverHome, startServer } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled } from './lib';

const OUT = fileURLToPath(new URL('../docs/bench/profile/', import.meta.url));
const PROFILE = process.env.BENCH_PROFILE === '1';

function summarize(dir: string, name: string, extra: Record<string, unknown> = {}): void {
  const profileFile = readdirSync(dir).find((file) => file.endsWith('.cpuprofile')) as string;
  const top = selfTimes(JSON.parse(readFileSync(join(dir, profileFile), 'utf8'))).slice(0, 30);
  const summary = { ...extra, topSelfTime: top.map((t) => ({ fn: t.fn, ms: Math.round(t.ms), share: `${(t.share * 100).toFixed(1)}%` })) };
  writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`${JSON.stringify(summary, null, 2)}\n`);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time per function (ms) from a V8 .cpuprofile, the heaviest first. */
function selfTimes(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): { fn: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const delta = (profile.timeDeltas[index] ?? 0) / 1000;
    all += delta;
    const file = frame?.url.replace(/^.*\/(node_modules\/.pnpm\/[^/]+\/node_modules\/|packages\/)/, '') ?? '';
    const key = `${frame?.functionName || '(anonymous)'} ${file}:${(frame?.lineNumber ?? 0) + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + delta);
  });
  return [...totals].map(([fn, ms]) => ({ fn, ms, share: ms / all })).sort((a, b) => b.ms - a.ms);
}

it.skipIf(!PROFILE)('profile: 100 MB through the persistent shell', async () => {
  const f = requireSshd();
  const connection = await SshConnection.connect(keyLogin(f));
  const dir = (await connection.exec('mktemp -d')).stdout.trim();
  const file = `${dir}/big.txt`;
  await connection.exec(`yes 'benchmark output line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ' | head -c 100000000 > ${file}`);
  mkdirSync(OUT, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
  try {
    const child = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profileDir, fileURLToPath(new URL('./profile/output-profile.mjs', import.meta.url))], {
      env: { ...process.env, BENCH_SSHD: JSON.stringify({ host: f.host, port: f.port, user: f.user, keyPath: f.keyPath, knownHostsPath: f.knownHostsPath }), BENCH_FILE: file },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    const figures = JSON.parse(child.stdout) as Record<string, Record<string, { ms: number; bytes: number }[]>>;
    const median = (runs: { ms: number }[]): string => `${(runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number).toFixed(1)} ms`;
    const medians = Object.fromEntries(
      Object.entries(figures).map(([command, paths]) => [command, Object.fromEntries(Object.entries(paths).map(([path, runs]) => [path, median(runs)]))]),
    );
    summarize(profileDir, 'output', { medians });
  } finally {
    await connection.exec(`rm -rf '${dir}'`);
    connection.close();
  }
}, 600_000);

it.skipIf(!PROFILE)('profile: the MCP server under 50 sessions × 100 concurrent calls', async () => {
  const f = requireSshd();
  const fleet = await startSshdFleet(f, 50);
  const { config, aliases } = endpointAliases(f, fleet.endpoints);
  const profileDir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
  mkdirSync(OUT, { recursive: true });
  const server = await startServer(f, { home: serverHome(f, config, fleet.knownHosts), nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir], logLevel: 'info' });
  try {
    await Promise.all(aliases.map((host) => server.call('execute_command', { host, command: 'true' })));
    await configSettled();
    const start = Date.now();
    await Promise.all(aliases.map(async (host) => {
      for (let index = 0; index < 100; index++) await server.call('execute_command', { host, command: `echo ${index}` });
    }));
    const perSecond = (aliases.length * 100 * 1000) / (Date.now() - start);
    await server.close();
    summarize(profileDir, 'mcp-parallel', { commandsPerSecond: Math.round(perSecond) });
  } finally {
    await server.close();
    await fleet.stop();
  }
}, 600_000);
