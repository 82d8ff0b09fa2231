// vitest globalSetup of the unit, integration and packaging tiers: the run gets a TMPDIR of its
// own (so os.tmpdir() of every test, worker and child that inherits the environment points
// there), and the teardown fails the run naming whatever the tests left in it, then removes it.
// A run of its own also keeps concurrent runs on one machine from seeing each other's files.
// Literal /tmp paths (the remote side of the loopback sshd, whose sessions do not inherit TMPDIR)
// are the tests' own business: each removes what it creates there. A run killed before its
// teardown leaves its directory; the next run removes those of runs whose process is gone.
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Shared by every project's copy of this module in the vitest main process. */
interface RunTemp {
  readonly dir: string;
  readonly previous: string | undefined;
  users: number;
}
const KEY = Symbol.for('mcp-ssh-server.test-run-tmpdir');
const state = globalThis as { [KEY]?: RunTemp };
const PREFIX = 'mcp-ssh-test-run-';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Directories of earlier runs that were killed before their teardown (`<prefix><pid>-XXXXXX`). */
function removeAbandoned(parent: string): void {
  for (const name of readdirSync(parent)) {
    const pid = name.startsWith(PREFIX) ? Number(/^(\d+)-/.exec(name.slice(PREFIX.length))?.[1]) : 0;
    if (pid > 0 && pid !== process.pid && !isAlive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

export default function setup(): () => void {
  let run = state[KEY];
  if (!run) {
    const previous = process.env.TMPDIR;
    removeAbandoned(tmpdir());
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
    // Like /tmp: tests share directories made here with the test user on the remote side.
    chmodSync(dir, 0o1777);
    run = { dir, previous, users: 0 };
    state[KEY] = run;
    process.env.TMPDIR = dir;
  }
  run.users++;
  const current = run;
  return () => {
    // The projects' teardowns run after every test; the last one checks.
    if (--current.users > 0) return;
    delete state[KEY];
    if (current.previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = current.previous;
    const left = readdirSync(current.dir);
    rmSync(current.dir, { recursive: true, force: true });
    if (left.length > 0) {
      // vitest reports a teardown error but keeps its exit status: set it, so the run fails.
      process.exitCode = 1;
      throw new Error(`the tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in their temp directory (removed now): ${left.sort().join(', ')}. Remove what a test creates in its afterAll/afterEach.`);
    }
  };
}
