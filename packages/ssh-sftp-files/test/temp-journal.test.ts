// The temp-file journal on the local disk: what it records, what a dead process's file hands over,
// and what it leaves alone (a live process's file, another machine's or pid namespace's), and that
// a local file error never escapes it.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasLeftovers, sweepLeftovers } from '../src/internal/leftovers';
import { journalFileName, TempFileJournal } from '../src/temp-journal';

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
      join(dir, journalFileName(dead)),
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
    expect(readdirSync(dir)).toEqual([basename(journal.path)]);
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
      const kept = [journalFileName(live), journalFileName(live, {}, true), 'unrelated.txt'];
      writeFileSync(join(dir, kept[0] as string), lines(['+', 'live@h:22', '/srv/.live.tmp']));
      writeFileSync(join(dir, kept[1] as string), lines(['+', 'claimed@h:22', '/srv/.c.tmp']));
      writeFileSync(join(dir, kept[2] as string), 'x');
      writeFileSync(join(dir, journalFileName(dead, {}, true)), lines(['+', 'orphan@h:22', '/srv/.o.tmp']));
      journal = TempFileJournal.open(dir);
      expect(journal.adopted).toBe(1);
      expect(recorded(journal.path)).toEqual([['+', 'orphan@h:22', '/srv/.o.tmp', expect.any(Number)]]);
      expect(readdirSync(dir).sort()).toEqual([...kept, basename(journal.path)].sort());
      expect(hasLeftovers('live@h:22')).toBe(false);
    } finally {
      sleeper.kill();
    }
  });

  it("judges only its own machine's journals: takes an earlier boot's (even under a live pid) and one under its own pid; leaves another machine's and another pid namespace's", () => {
    const dead = deadPid();
    const foreign = { machine: '0badc0de' };
    const earlierBoot = journalFileName(process.ppid, { boot: '0badc0de' }); // a pid alive now, but from a boot before
    const ownPid = journalFileName(process.pid); // pid reuse: a container's server has the same pid every start
    const otherMachine = journalFileName(dead, foreign);
    const otherNamespace = journalFileName(dead, { pidNamespace: '0badc0de' });
    const silentMachine = journalFileName(dead, foreign);
    writeFileSync(join(dir, earlierBoot), lines(['+', 'boot@h:22', '/srv/.boot.tmp']));
    writeFileSync(join(dir, ownPid), lines(['+', 'own@h:22', '/srv/.own.tmp']));
    writeFileSync(join(dir, otherMachine), lines(['+', 'other@h:22', '/srv/.other.tmp']));
    writeFileSync(join(dir, otherNamespace), lines(['+', 'ns@h:22', '/srv/.ns.tmp']));
    writeFileSync(join(dir, silentMachine), lines(['+', 'silent@h:22', '/srv/.silent.tmp']));
    const longAgo = (Date.now() - 31 * 24 * 3600_000) / 1000;
    utimesSync(join(dir, silentMachine), longAgo, longAgo); // silent for 31 days: every entry on it is too old
    journal = TempFileJournal.open(dir);
    expect(journal.adopted).toBe(2);
    expect(hasLeftovers('boot@h:22') && hasLeftovers('own@h:22')).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([otherMachine, otherNamespace, basename(journal.path)].sort());
    // A second journal in the same process (two servers in one test process) leaves the first's file alone.
    const second = TempFileJournal.open(dir);
    try {
      expect(second.adopted).toBe(0);
      expect(second.path).not.toBe(journal.path);
      expect(existsSync(journal.path)).toBe(true);
    } finally {
      second.close();
    }
  });

  it('never throws on a local file error: a failed compaction keeps the old file, a failed append carries on in memory', () => {
    const errors: Error[] = [];
    journal = TempFileJournal.open(dir, { onError: (error) => void errors.push(error) });
    mkdirSync(`${journal.path}.new`); // compaction cannot make its new file
    journal.begin('u@h:22', '/srv/.kept.tmp');
    for (let i = 0; i < 4200; i++) {
      journal.begin('u@h:22', `/srv/.f${i}.tmp`);
      journal.end('u@h:22', `/srv/.f${i}.tmp`);
    }
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['EISDIR', 'EISDIR']); // tried past 4 096 lines and past twice that, not at every end
    expect(recorded(journal.path).length).toBe(8401); // every line still on the old file
    // The file's descriptor goes bad under it (as a full disk would fail a write): begin and end still work.
    const fd = readdirSync('/proc/self/fd').find((entry) => {
      try {
        return readlinkSync(`/proc/self/fd/${entry}`) === journal?.path;
      } catch {
        return false;
      }
    });
    expect(fd).toBeDefined();
    closeSync(Number(fd));
    errors.length = 0;
    expect(() => journal?.begin('u@h:22', '/srv/.after.tmp')).not.toThrow();
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['EBADF']);
    journal.end('u@h:22', '/srv/.after.tmp');
    expect(journal.size).toBe(1);
    expect(() => journal?.close()).not.toThrow();
    journal = undefined;
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
