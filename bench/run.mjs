#!/usr/bin/env node
// `pnpm bench [--quick] [--profile]`: builds, provisions the test host, runs the bench project
// (every scenario against its baselines, side by side, on the loopback sshd of the test harness),
// then prints one table of all results. A full run where every scenario passed publishes them:
// the JSON per scenario in docs/bench/ and the tables in docs/benchmarks.md (between the results
// markers). `--quick` is a smoke run with few rounds and small sizes that publishes nothing.
// `--profile` also runs bench/profile.bench.test.ts (CPU profiles behind the missed targets).
// Nothing here asserts a speed: the exit code is the bench tests' (every answer checked right).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unknown = args.filter((arg) => !['--quick', '--profile'].includes(arg));
if (unknown.length > 0) {
  process.stderr.write(`pnpm bench: unknown option ${unknown.join(' ')} (use --quick, --profile)\n`);
  process.exit(2);
}
const quick = args.includes('--quick');
const profile = args.includes('--profile');

/** Scenarios in report order: the id each bench file writes. */
const SCENARIOS = ['start', 'warm-command', 'first-command', 'latency', 'output', 'parallel', 'parallel-10', 'idle-sessions', 'device', 'audit-overhead', 'tools-list'];

// Results land in a temp dir first; a full run copies them into docs/ only when every scenario
// passed, so a failed or partial run never replaces the published figures.
const out = mkdtempSync(join(tmpdir(), 'mcp-ssh-bench-'));
const published = join(root, 'docs', 'bench');

const step = (command, commandArgs, env = {}) => {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
};
for (const script of ['build', 'provision']) {
  const status = step('pnpm', ['run', '--silent', script]);
  if (status !== 0) process.exit(status);
}
const status = step('pnpm', ['exec', 'vitest', 'run', '--project', 'bench'], {
  BENCH_OUT: out,
  ...(quick ? { BENCH_QUICK: '1' } : {}),
  ...(profile ? { BENCH_PROFILE: '1' } : {}),
});

const results = SCENARIOS.map((id) => join(out, `${id}.json`))
  .filter((path) => existsSync(path))
  .map((path) => JSON.parse(readFileSync(path, 'utf8')));
if (results.length === 0) {
  process.stderr.write('pnpm bench: no results were written\n');
  process.exit(status || 1);
}
const openssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
const report = markdown(results, openssh, quick);
process.stdout.write(`\n${report}\n`);
if (quick) {
  process.stdout.write(`(quick run: results in ${out}, not published)\n`);
} else if (status !== 0 || results.length !== SCENARIOS.length) {
  process.stdout.write(`(not published: ${status !== 0 ? 'a bench failed' : 'some scenarios wrote no result'}; results in ${out})\n`);
} else {
  mkdirSync(published, { recursive: true });
  for (const id of SCENARIOS) copyFileSync(join(out, `${id}.json`), join(published, `${id}.json`));
  publish(report);
  rmSync(out, { recursive: true, force: true });
  process.stdout.write('published: docs/bench/*.json and docs/benchmarks.md\n');
}
process.exit(status || (results.length === SCENARIOS.length ? 0 : 1));

function number(value) {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function markdown(all, sshVersion, isQuick) {
  const m = all[0].machine;
  const date = all.map((r) => r.date).sort()[0];
  const lines = [
    `Run of ${date.slice(0, 10)}${isQuick ? ' (quick smoke run: small sizes, few rounds)' : ''} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB,`,
    `Node ${m.node}, ${m.platform}, ${sshVersion}; sshd on loopback, started by the test harness; ssh2's native crypto add-on ${m.ssh2Binding ? 'built' : '**not built** (JavaScript crypto)'}, for ours and the peer alike.`,
    '',
    '| scenario | target | measured | met |',
    '|---|---|---|---|',
  ];
  for (const r of all) {
    for (const t of r.targets) lines.push(`| ${r.title.split('.')[0]} | ${t.target} | ${t.measured} | ${t.met ? 'met' : '**missed**'} |`);
  }
  for (const r of all) {
    lines.push('', `### ${r.title}`, '', '| path | role | p50 | p95 | value | samples |', '|---|---|---|---|---|---|');
    for (const x of r.measurements) {
      const timed = x.p50 !== undefined;
      lines.push(
        `| ${x.label} | ${x.role} | ${timed ? `${number(x.p50)} ${x.unit}` : ''} | ${timed ? `${number(x.p95)} ${x.unit}` : ''} | ${timed ? '' : `${number(x.value)} ${x.unit}`} | ${x.samples} |`,
      );
    }
    for (const note of r.notes ?? []) lines.push('', note);
  }
  return lines.join('\n');
}

function publish(report) {
  const path = join(root, 'docs', 'benchmarks.md');
  const start = '<!-- results:start (written by pnpm bench) -->';
  const end = '<!-- results:end -->';
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${start}\n${end}\n`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/benchmarks.md lacks the results markers ${start} … ${end}`);
  writeFileSync(path, `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`);
}
