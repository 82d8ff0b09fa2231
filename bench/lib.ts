// Shared by the bench files: sample statistics, quick/full sizing, and the result file every
// scenario writes (bench/run.mjs turns them into the printed table and docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `pnpm bench --quick`: a smoke run with few rounds and small sizes; its numbers are not published. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Where result JSON goes (bench/run.mjs sets a temp dir and publishes from it); docs/bench when run directly. */
export const OUT_DIR = process.env.BENCH_OUT ?? fileURLToPath(new URL('../docs/bench/', import.meta.url));

/** `full` rounds normally, `quick` under --quick. */
export const size = (full: number, quick: number): number => (QUICK ? quick : full);

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (rank - low);
}

export interface Measurement {
  /** What ran, e.g. "mcp-ssh-server over stdio". */
  readonly label: string;
  /** Ours, or a baseline run side by side. */
  readonly role: 'ours' | 'baseline';
  readonly unit: 'ms' | 'MB/s' | 'commands/s' | 'MB' | 'KB' | 'count';
  readonly p50?: number;
  readonly p95?: number;
  /** A single figure (throughput, memory, a count). */
  readonly value?: number;
  readonly samples: number;
}

export interface Target {
  readonly target: string;
  /** The measured figure, with the ratio where the target is one. */
  readonly measured: string;
  readonly ratio?: number;
  readonly met: boolean;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly measurements: readonly Measurement[];
  readonly targets: readonly Target[];
  readonly notes?: readonly string[];
}

export const timing = (label: string, role: Measurement['role'], samples: readonly number[]): Measurement => ({
  label,
  role,
  unit: 'ms',
  p50: percentile(samples, 50),
  p95: percentile(samples, 95),
  samples: samples.length,
});

export const figure = (label: string, role: Measurement['role'], unit: Measurement['unit'], value: number, samples = 1): Measurement => ({
  label,
  role,
  unit,
  value,
  samples,
});

/** Writes `<OUT_DIR>/<id>.json` with the machine facts and prints a short summary to stderr. */
export function writeResult(result: ScenarioResult): void {
  const record = { ...result, date: new Date().toISOString(), quick: QUICK, machine: machineFacts() };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, `${result.id}.json`), `${JSON.stringify(record, null, 2)}\n`);
  const lines = [`\n${result.title}`];
  for (const m of result.measurements) lines.push(`  ${m.label.padEnd(48)} ${formatMeasurement(m)}`);
  for (const t of result.targets) lines.push(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

export function formatMeasurement(m: Measurement): string {
  const n = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  if (m.value !== undefined) return `${n(m.value)} ${m.unit}`;
  return `p50 ${n(m.p50 ?? Number.NaN)} ${m.unit}, p95 ${n(m.p95 ?? Number.NaN)} ${m.unit}`;
}

export function machineFacts(): { cpus: number; cpuModel: string; memoryGB: number; node: string; platform: string; ssh2Binding: boolean } {
  const list = cpus();
  return { cpus: list.length, cpuModel: list[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 1024 ** 3), node: process.version, platform: `${process.platform} ${process.arch}`, ssh2Binding: ssh2BindingBuilt() };
}

/**
 * Whether ssh2's optional native crypto add-on is built (its install script, which pnpm runs for
 * this workspace and npm runs for users). Without it ssh2 encrypts in JavaScript and writes each
 * packet in three pieces: the first command takes about twice as long.
 */
export function ssh2BindingBuilt(): boolean {
  const ssh2Dir = dirname(createRequire(import.meta.url).resolve('ssh2/package.json'));
  return existsSync(join(ssh2Dir, 'lib', 'protocol', 'crypto', 'build', 'Release', 'sshcrypto.node'));
}

/** A seeded PRNG, so a bench's shuffled order can be replayed. */
export { seeded } from 'test-utils';

/** A shuffled copy of `items` (Fisher–Yates with `random`). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

export const ratio = (ours: number, baseline: number): number => ours / baseline;
export const x = (value: number): string => `${value.toFixed(2)}×`;
export const ms = (value: number): string => `${value >= 100 ? value.toFixed(0) : value.toFixed(2)} ms`;

/** What OpenSSH's `ssh` needs to reach the test sshd: the run's key, strict host-key checking. */
export function opensshArgs(f: { keyPath: string; port: number; knownHostsPath: string }): string[] {
  return [
    '-F', '/dev/null', '-i', f.keyPath, '-p', String(f.port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${f.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
  ];
}

/**
 * An OpenSSH ControlMaster connection to the test sshd (the multiplexing baseline): `args` run a
 * command over it without a new login; `stop()` ends the master and removes its socket directory.
 */
export function controlMaster(f: { keyPath: string; port: number; knownHostsPath: string; user: string; host: string }): { args: (...command: string[]) => string[]; stop(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cm-'));
  const base = [...opensshArgs(f), '-S', join(dir, 'cm')];
  const target = `${f.user}@${f.host}`;
  const master = spawnSync('ssh', [...base, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=300', '-f', '-N', target]);
  if (master.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`ControlMaster did not start: ${master.stderr.toString()}`);
  }
  return {
    args: (...command) => [...base, '-o', 'ControlMaster=no', target, ...command],
    stop: () => {
      spawnSync('ssh', [...base, '-O', 'exit', target]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits out the ssh_config "racily clean" window: the server re-reads a config changed in the last
 * 2 s on every call, and a bench has just written one. Measure the steady state, not that window.
 */
export function configSettled(): Promise<void> {
  return sleep(2_100);
}
