// The per-run TMPDIR check (temp-check.ts, the tiers' globalSetup): its teardown fails naming what
// the tests left, removes it either way, and a later run removes what a killed run left.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import setup from '../src/temp-check';

const saved = { tmpdir: process.env.TMPDIR, exitCode: process.exitCode };
const made: string[] = [];
afterEach(() => {
  process.env.TMPDIR = saved.tmpdir;
  process.exitCode = saved.exitCode;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A parent directory standing in for /tmp (this worker's TMPDIR is the run's own). */
function parent(): string {
  const dir = mkdtempSync(join(tmpdir(), 'temp-check-test-'));
  made.push(dir);
  process.env.TMPDIR = dir;
  return dir;
}

describe('temp-check globalSetup', () => {
  it('points TMPDIR at a run directory shaped like /tmp, and a clean teardown removes it quietly', () => {
    const outer = parent();
    const teardown = setup();
    const run = tmpdir();
    expect(run.startsWith(join(outer, `mcp-ssh-test-run-${process.pid}-`))).toBe(true);
    expect(teardown()).toBeUndefined();
    expect(existsSync(run)).toBe(false);
    expect(process.env.TMPDIR).toBe(outer);
    expect(process.exitCode).toBe(saved.exitCode);
  });

  it('fails the run naming what the tests left behind, and removes it', () => {
    parent();
    const teardown = setup();
    const run = tmpdir();
    mkdirSync(join(run, 'mcp-config-abc123'));
    writeFileSync(join(run, 'mcp-less-test.txt'), 'x');
    expect(() => teardown()).toThrow(/left 2 entries .*: mcp-config-abc123, mcp-less-test\.txt\. Remove what a test creates/);
    expect(process.exitCode).toBe(1);
    expect(existsSync(run)).toBe(false);
  });

  it('is shared by the projects of one run: the last teardown checks', () => {
    parent();
    const first = setup();
    const run = tmpdir();
    const second = setup();
    expect(tmpdir()).toBe(run);
    writeFileSync(join(run, 'late'), 'x');
    expect(first()).toBeUndefined();
    expect(existsSync(run)).toBe(true);
    expect(() => second()).toThrow(/: late\./);
  });

  it('removes the directories of earlier runs whose process is gone, not of live ones', () => {
    const outer = parent();
    const dead = join(outer, 'mcp-ssh-test-run-999999999-AbCdEf');
    const live = join(outer, `mcp-ssh-test-run-${process.ppid}-AbCdEf`);
    const other = join(outer, 'mcp-ssh-sshd-AbCdEf');
    for (const dir of [dead, live, other]) mkdirSync(dir);
    setup()();
    expect([existsSync(dead), existsSync(live), existsSync(other)]).toEqual([false, true, true]);
  });
});
