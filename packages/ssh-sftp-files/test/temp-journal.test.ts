// The temp-file journal on the local disk: what it records, what a dead process's file hands over,
// and what it leaves alone (a live process's file, another machine's or pid namespace's), and that
// a local file error never escapes it.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, uptime } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { hasLeftovers, sweepLeftovers } from '../src/internal/leftovers';
import { journalFileName, TempFileJournal } from '../src/temp-journal';

/** A pid that no process has any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}

/** Sets a file's times to `ms` (since the epoch). */
const backdate = (path: string, ms: number): void => utimesSync(path, ms / 1000, ms / 1000);
const DAY = 24 * 3600_000;

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

  it("leaves a live process's journal alone, and one a live process has claimed; takes one whose claimer died, and a dead compaction's new file", () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const live = sleeper.pid as number;
      const dead = deadPid();
      const kept = [journalFileName(live), journalFileName(live, {}, true), 'unrelated.txt', journalFileName(live)];
      writeFileSync(join(dir, kept[0] as string), lines(['+', 'live@h:22', '/srv/.live.tmp']));
      writeFileSync(join(dir, kept[1] as string), lines(['+', 'claimed@h:22', '/srv/.c.tmp']));
      writeFileSync(join(dir, kept[2] as string), 'x');
      // A live process's journal untouched for 31 days (a server that only ran commands) is still its own.
      writeFileSync(join(dir, kept[3] as string), lines(['+', 'quiet@h:22', '/srv/.q.tmp']));
      backdate(join(dir, kept[3] as string), Date.now() - 31 * DAY);
      writeFileSync(join(dir, journalFileName(dead, {}, true)), lines(['+', 'orphan@h:22', '/srv/.o.tmp']));
      // A compaction's new file that a crash left (the entry also on its main file: taken once).
      const main = journalFileName(dead);
      const since = Date.now() - 1000;
      writeFileSync(join(dir, main), lines(['+', 'compacted@h:22', '/srv/.n.tmp', since]));
      writeFileSync(join(dir, main.replace(/\.jsonl$/, '.new.jsonl')), lines(['+', 'compacted@h:22', '/srv/.n.tmp', since]));
      journal = TempFileJournal.open(dir);
      expect(journal.adopted).toBe(2);
      expect(recorded(journal.path).sort()).toEqual(
        [
          ['+', 'orphan@h:22', '/srv/.o.tmp', expect.any(Number)],
          ['+', 'compacted@h:22', '/srv/.n.tmp', since],
        ].sort(),
      );
      expect(readdirSync(dir).sort()).toEqual([...kept, basename(journal.path)].sort());
      expect(hasLeftovers('live@h:22')).toBe(false);
    } finally {
      sleeper.kill();
    }
  });

  it("judges only its own machine's journals: takes an earlier boot's (even under a live pid) and one under its own pid written before it started; leaves another machine's and another pid namespace's", () => {
    const dead = deadPid();
    const foreign = { machine: '0badc0de' };
    const beforeBoot = Math.min(Date.now() - uptime() * 1000, Date.now() - 3 * 3600_000) - 60_000; // and silent for over 3 hours
    const beforeStart = Date.now() - process.uptime() * 1000 - 60_000;
    const earlierBoot = journalFileName(process.ppid, { boot: '0badc0de' }); // a pid alive now, but from a boot before
    const otherBootNow = journalFileName(process.ppid, { boot: '0badc0de' }); // written since this boot: a same-named machine's
    const ownPid = journalFileName(process.pid); // pid reuse: a container's server has the same pid every start
    const ownPidNow = journalFileName(process.pid); // open in this process: another copy of the module's
    const otherMachine = journalFileName(dead, foreign);
    const otherNamespace = journalFileName(dead, { pidNamespace: '0badc0de' });
    const silentMachine = journalFileName(dead, foreign);
    writeFileSync(join(dir, earlierBoot), lines(['+', 'boot@h:22', '/srv/.boot.tmp']));
    backdate(join(dir, earlierBoot), beforeBoot);
    writeFileSync(join(dir, otherBootNow), lines(['+', 'boot-now@h:22', '/srv/.boot.tmp']));
    writeFileSync(join(dir, ownPid), lines(['+', 'own@h:22', '/srv/.own.tmp']));
    backdate(join(dir, ownPid), beforeStart);
    writeFileSync(join(dir, ownPidNow), lines(['+', 'own-now@h:22', '/srv/.own.tmp']));
    writeFileSync(join(dir, otherMachine), lines(['+', 'other@h:22', '/srv/.other.tmp']));
    writeFileSync(join(dir, otherNamespace), lines(['+', 'ns@h:22', '/srv/.ns.tmp']));
    writeFileSync(join(dir, silentMachine), lines(['+', 'silent@h:22', '/srv/.silent.tmp']));
    backdate(join(dir, silentMachine), Date.now() - 31 * DAY); // silent for 31 days: every entry on it is too old
    const held = openSync(join(dir, ownPidNow), 'r');
    onTestFinished(() => closeSync(held));
    journal = TempFileJournal.open(dir);
    expect(journal.adopted).toBe(2);
    expect(hasLeftovers('boot@h:22') && hasLeftovers('own@h:22')).toBe(true);
    expect(hasLeftovers('boot-now@h:22') || hasLeftovers('own-now@h:22')).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([otherBootNow, ownPidNow, otherMachine, otherNamespace, basename(journal.path)].sort());
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

  it('never throws on a failed compaction: the old file is kept, tried again only when it has doubled', () => {
    const errors: Error[] = [];
    journal = TempFileJournal.open(dir, { onError: (error) => void errors.push(error) });
    mkdirSync(journal.path.replace(/\.jsonl$/, '.new.jsonl')); // compaction cannot make its new file
    journal.begin('u@h:22', '/srv/.kept.tmp');
    for (let i = 0; i < 4200; i++) {
      journal.begin('u@h:22', `/srv/.f${i}.tmp`);
      journal.end('u@h:22', `/srv/.f${i}.tmp`);
    }
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['EISDIR', 'EISDIR']); // tried past 4 096 lines and past twice that, not at every end
    expect(recorded(journal.path).length).toBe(8401); // every line still on the old file
  });

  it.skipIf(process.platform !== 'linux')('never throws on a failed append: it carries on in memory and says so once', () => {
    const errors: Error[] = [];
    journal = TempFileJournal.open(dir, { onError: (error) => void errors.push(error) });
    journal.begin('u@h:22', '/srv/.kept.tmp');
    // The file's descriptor goes bad under it (as a full disk would fail a write): begin and end still work.
    const real = realpathSync(journal.path);
    const fd = readdirSync('/proc/self/fd').find((entry) => {
      try {
        return readlinkSync(`/proc/self/fd/${entry}`) === real;
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
    journal.begin('u@h:22', '/srv/.later.tmp');
    expect(errors.length).toBe(1);
    expect(journal.size).toBe(2);
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
    // Appends after it land on the new file, and nothing else is left in the directory.
    journal.begin('u@h:22', '/srv/.next.tmp');
    expect(recorded(journal.path).at(-1)).toEqual(['+', 'u@h:22', '/srv/.next.tmp', expect.any(Number)]);
    expect(readdirSync(dir)).toEqual([basename(journal.path)]);
    journal.close();
    journal = undefined;
  });
});

// The built package (pnpm build first), in processes of its own: what one process cannot show.
describe('TempFileJournal across processes', () => {
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  let dir: string;
  beforeAll(() => {
    const source = fileURLToPath(new URL('../src/temp-journal.ts', import.meta.url));
    expect(existsSync(dist) && statSync(dist).mtimeMs >= statSync(source).mtimeMs, `${dist} is missing or older than the source: run pnpm build first`).toBe(true);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A node running `body` (an ES module, with TempFileJournal, DIR and a `require`) when told `go`, alive until `end`. */
  function startNode(body: string): { ready: Promise<void>; go(): Promise<unknown>; end(): Promise<void> } {
    const script = `import { createRequire } from 'node:module'; import { TempFileJournal } from ${JSON.stringify(dist)};
      const require = createRequire(${JSON.stringify(dist)}); const DIR = ${JSON.stringify(dir)};
      process.stdin.once('end', () => process.exit(0));
      process.stdin.once('data', () => { ${body}; });
      process.stdout.write('ready\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.on('error', () => undefined); // it may have exited already: its code says why
    const exited = once(child, 'exit') as Promise<[number | null]>;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    const lines = async (count: number): Promise<string[]> => {
      while (out.split('\n').length <= count && child.exitCode === null && child.signalCode === null) await Promise.race([once(child.stdout, 'data'), exited]);
      expect([child.exitCode, child.signalCode], out).toEqual([null, null]);
      return out.split('\n');
    };
    return {
      ready: lines(1).then(() => undefined),
      go: async () => {
        child.stdin.write('go\n');
        return JSON.parse((await lines(2))[1] as string);
      },
      end: async () => {
        child.stdin.end();
        expect((await exited)[0], out).toBe(0);
      },
    };
  }

  it('four processes starting at once share out a dead journal set: each entry adopted exactly once', async () => {
    const dead = deadPid();
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, journalFileName(dead)), lines(['+', 'race@h:22', `/srv/.r${i}.tmp`, Date.now()]));
    const nodes = Array.from({ length: 4 }, () => startNode('const j = TempFileJournal.open(DIR); console.log(JSON.stringify({ adopted: j.adopted, path: j.path }))'));
    try {
      await Promise.all(nodes.map((node) => node.ready));
      // All four started and waiting, then told at once; all stay alive while their files are read.
      const results = (await Promise.all(nodes.map((node) => node.go()))) as Array<{ adopted: number; path: string }>;
      const taken = results.flatMap(({ path }) => recorded(path).map((entry) => (entry as string[])[2]));
      expect(taken.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `/srv/.r${i}.tmp`).sort());
      expect(results.reduce((sum, { adopted }) => sum + adopted, 0)).toBe(40);
      expect(readdirSync(dir).sort()).toEqual(results.map(({ path }) => basename(path)).sort());
    } finally {
      await Promise.all(nodes.map((node) => node.end()));
    }
  });

  it('two copies of the module in one process (its ESM and CJS builds) never adopt each other', async () => {
    const node = startNode(`
      const a = TempFileJournal.open(DIR); a.begin('u@h:22', '/srv/.a.tmp');
      const b = require('./index.cjs').TempFileJournal.open(DIR);
      console.log(JSON.stringify({ adopted: b.adopted, size: a.size }))`);
    try {
      await node.ready;
      expect(await node.go()).toEqual({ adopted: 0, size: 1 });
      expect(readdirSync(dir)).toHaveLength(2);
    } finally {
      await node.end();
    }
  });
});
