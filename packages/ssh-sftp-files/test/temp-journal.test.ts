// The temp-file journal on the local disk: what it records, what a dead process's file hands over,
// and what it leaves alone (a live process's file).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasLeftovers, sweepLeftovers } from '../src/internal/leftovers';
import { TempFileJournal } from '../src/temp-journal';

/** A pid that no process has any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}

const lines = (...entries: Array<[string, string, string, number?]>): string => entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
const recorded = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('TempFileJournal', () => {
  let dir: string;
  let journal: TempFileJournal | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-'));
  });
  afterEach(() => {
    journal?.close();
    journal = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a temp file before it is made and after it is gone; a clean close with nothing live removes the file', () => {
    journal = TempFileJournal.open(join(dir, 'state'));
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    expect(statSync(journal.path).mode & 0o777).toBe(0o600);
    journal.begin('u@h:22', '/srv/.a.tmp');
    expect(recorded(journal.path)).toEqual([['+', 'u@h:22', '/srv/.a.tmp', expect.any(Number)]]);
    expect(journal.size).toBe(1);
    journal.end('u@h:22', '/srv/.a.tmp');
    journal.end('u@h:22', '/srv/.a.tmp'); // twice: recorded once
    expect(recorded(journal.path)).toEqual([
      ['+', 'u@h:22', '/srv/.a.tmp', expect.any(Number)],
      ['-', 'u@h:22', '/srv/.a.tmp'],
    ]);
    const path = journal.path;
    journal.close();
    journal = undefined;
    expect(existsSync(path)).toBe(false);
  });

  it('a close with a temp file still live keeps the file for the next process', () => {
    journal = TempFileJournal.open(dir);
    journal.begin('u@h:22', '/srv/.b.tmp');
    const path = journal.path;
    journal.close();
    journal = undefined;
    expect(recorded(path)).toEqual([['+', 'u@h:22', '/srv/.b.tmp', expect.any(Number)]]);
  });

  it("adopts a dead process's live entries (a torn last line skipped, one over 30 days old dropped) as leftovers of their hosts, and removes its file", async () => {
    const dead = deadPid();
    const host = `adopt-${dead}@h:22`;
    const fiveDaysAgo = Date.now() - 5 * 24 * 3600_000;
    writeFileSync(
      join(dir, `temp-files-${dead}.jsonl`),
      `${lines(
        ['+', host, '/srv/.done.tmp', Date.now()],
        ['+', host, '/srv/.left.tmp', fiveDaysAgo],
        ['+', host, '/srv/.tab\there\n.tmp', Date.now() - 3600_000],
        ['+', host, '/srv/.ancient.tmp', Date.now() - 31 * 24 * 3600_000],
        ['-', host, '/srv/.done.tmp'],
      )}["+","${host}","/srv/.to`,
    );
    journal = TempFileJournal.open(dir);
    expect(journal.adopted).toBe(2);
    expect(readdirSync(dir)).toEqual([`temp-files-${process.pid}.jsonl`]);
    // Older than 30 days: dropped (its host was never connected to again); the others keep their time.
    expect(recorded(journal.path)).toEqual([
      ['+', host, '/srv/.left.tmp', fiveDaysAgo],
      ['+', host, '/srv/.tab\there\n.tmp', expect.any(Number)],
    ]);
    expect(hasLeftovers(host)).toBe(true);
    // The next connection to the host removes them; each removal is recorded.
    const unlinked: string[] = [];
    await sweepLeftovers(
      host,
      async (path) => void unlinked.push(path),
      (path) => journal?.end(host, path),
    );
    expect(unlinked).toEqual(['/srv/.left.tmp', '/srv/.tab\there\n.tmp']);
    expect(hasLeftovers(host)).toBe(false);
    expect(journal.size).toBe(0);
  });

  it("leaves a live process's journal alone, and one a live process has claimed; takes one whose claimer died", () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const live = sleeper.pid as number;
      const dead = deadPid();
      writeFileSync(join(dir, `temp-files-${live}.jsonl`), lines(['+', 'live@h:22', '/srv/.live.tmp']));
      writeFileSync(join(dir, `temp-files-${dead}.jsonl.claimed-${live}`), lines(['+', 'claimed@h:22', '/srv/.c.tmp']));
      writeFileSync(join(dir, `temp-files-${live + 1_000_000}.jsonl.claimed-${dead}`), lines(['+', 'orphan@h:22', '/srv/.o.tmp']));
      writeFileSync(join(dir, 'unrelated.txt'), 'x');
      journal = TempFileJournal.open(dir);
      expect(journal.adopted).toBe(1);
      expect(recorded(journal.path)).toEqual([['+', 'orphan@h:22', '/srv/.o.tmp', expect.any(Number)]]);
      expect(readdirSync(dir).sort()).toEqual(
        [`temp-files-${live}.jsonl`, `temp-files-${dead}.jsonl.claimed-${live}`, `temp-files-${process.pid}.jsonl`, 'unrelated.txt'].sort(),
      );
      expect(hasLeftovers('live@h:22')).toBe(false);
    } finally {
      sleeper.kill();
    }
  });

  it('compacts itself: after thousands of writes the file holds only what is live', () => {
    journal = TempFileJournal.open(dir);
    journal.begin('u@h:22', '/srv/.kept.tmp');
    for (let i = 0; i < 5000; i++) {
      journal.begin('u@h:22', `/srv/.f${i}.tmp`);
      journal.end('u@h:22', `/srv/.f${i}.tmp`);
    }
    const entries = recorded(journal.path);
    expect(entries.length).toBeLessThanOrEqual(4097);
    expect(entries[0]).toEqual(['+', 'u@h:22', '/srv/.kept.tmp', expect.any(Number)]);
    expect(journal.size).toBe(1);
    // What a new process would adopt from it: the one live file.
    journal.close();
    journal = undefined;
  });
});
