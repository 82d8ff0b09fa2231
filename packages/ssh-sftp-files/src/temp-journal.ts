import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { join } from 'node:path';
import { rememberLeftover } from './internal/leftovers';

/** How a journal reports a local file error it carried on past (a full disk, say). */
export type TempJournalErrorHandler = (error: Error) => void;

/** Options of {@link TempFileJournal.open}. */
export interface TempJournalOptions {
  /**
   * Told when the journal's file can no longer be written (the journal then carries on in memory:
   * writes never fail because of it, but a crash after that point leaves its temp files behind).
   */
  readonly onError?: TempJournalErrorHandler;
}

/**
 * A local record of the temp files a process's writes have open on hosts, so that those a crash
 * (`kill -9`, an OOM kill) cut short are removed after all: the next process that opens a journal
 * in the same directory adopts a dead process's entries, and its next connection to each host
 * removes them (as it removes those a lost connection left).
 *
 * One file per journal, `temp-files-<machine>-<boot>-<pid namespace>-<pid>-<random>.jsonl` (the
 * first three are short hashes: host name and `/etc/machine-id`, `boot_id`, the pid namespace),
 * one JSON array a line: `["+", host, path, ms]` when a temp file is about to be made,
 * `["-", host, path]` once it is renamed into place or removed. Appends are synchronous and land
 * before the remote file is created: a kill at any moment after leaves its name on record (they
 * are not fsynced: a power loss can lose the last ones; a compaction is fsynced before it
 * replaces the file).
 *
 * A journal is adopted only when its process is known to be gone: same machine, another boot, and
 * last written before this boot began and over three hours ago (an open journal touches its file
 * hourly); or same machine, boot and pid namespace and no process with its pid (or it has our pid
 * and this process does not have it open). Another machine's journals (a shared home directory)
 * and another pid namespace's (a container) are never judged, so several live processes sharing
 * a directory never touch each other's files; one of those silent for 30 days is removed.
 *
 * The journal never throws once open: a local file error is reported to `onError` and the
 * journal carries on in memory.
 */
export class TempFileJournal {
  /** This journal's file. */
  readonly path: string;
  /** How many temp files dead processes left on record, now this journal's to remove. */
  readonly adopted: number;
  readonly #dir: string;
  readonly #onError: TempJournalErrorHandler | undefined;
  #fd: number | undefined;
  /** Live entries: host → path → when it was first recorded (ms since the epoch). */
  readonly #live = new Map<string, Map<string, number>>();
  #lines = 0;
  /** How many lines the file may reach before it is compacted (raised after a failed compaction). */
  #compactAt = 4096;
  /** Touches the file hourly, so that only a journal no process has open goes hours unchanged. */
  readonly #toucher: NodeJS.Timeout;

  private constructor(dir: string, fd: number, path: string, onError: TempJournalErrorHandler | undefined) {
    this.#dir = dir;
    this.#fd = fd;
    this.path = path;
    this.#onError = onError;
    this.#toucher = setInterval(() => this.#touch(), TOUCH_EVERY_MS).unref();
    this.adopted = this.#adopt();
  }

  /**
   * Opens a new journal in `dir` (made 0700 when missing; it must be a directory, not a symlink)
   * and adopts the entries of dead processes' journals there.
   *
   * @throws Error when the directory or the file cannot be used.
   */
  static open(dir: string, options: TempJournalOptions = {}): TempFileJournal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!lstatSync(dir).isDirectory()) throw new Error(`the temp-file journal's directory ${dir} is not a directory (a symlink?)`);
    const path = join(dir, `temp-files-${ownerId(process.pid)}.jsonl`);
    const fd = openSync(path, 'wx', 0o600);
    OPEN_HERE.add(path);
    return new TempFileJournal(dir, fd, path, options.onError);
  }

  /** How many temp files are on record (in flight, or left for a later connection to remove). */
  get size(): number {
    let count = 0;
    for (const paths of this.#live.values()) count += paths.size;
    return count;
  }

  /** `path` on `host` (a connection's `user@host:port`) is about to be created. */
  begin(host: string, path: string, since = Date.now()): void {
    const paths = this.#live.get(host) ?? new Map<string, number>();
    if (paths.has(path)) return;
    paths.set(path, since);
    this.#live.set(host, paths);
    this.#append(['+', host, path, since]);
  }

  /** `path` on `host` is gone (renamed into place, removed) or no longer ours to remove. */
  end(host: string, path: string): void {
    const paths = this.#live.get(host);
    if (!paths?.delete(path)) return;
    if (paths.size === 0) this.#live.delete(host);
    this.#append(['-', host, path]);
    if (this.#lines > this.#compactAt && this.size * 4 < this.#lines) this.#compact();
  }

  /**
   * Closes the journal. With nothing on record its file is removed; otherwise it stays for the
   * next process to adopt.
   */
  close(): void {
    OPEN_HERE.delete(this.path);
    clearInterval(this.#toucher);
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
      if (this.#live.size === 0) unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#onError?.(error as Error);
    }
  }

  #append(entry: readonly [string, string, string, number?]): void {
    if (this.#fd === undefined) return;
    try {
      writeAll(this.#fd, `${JSON.stringify(entry)}\n`);
      this.#lines++;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Rewrites the file with the live entries only (a new file, renamed over the old one). */
  #compact(): void {
    if (this.#fd === undefined) return;
    const next = this.path.replace(/\.jsonl$/, '.new.jsonl');
    const lines = [...this.#live].flatMap(([host, paths]) => [...paths].map(([path, since]) => `${JSON.stringify(['+', host, path, since])}\n`));
    let fd: number | undefined;
    try {
      fd = openSync(next, 'w', 0o600);
      writeAll(fd, lines.join(''));
      fsyncSync(fd); // whole on disk before it replaces the old file (or a power loss could leave neither)
      renameSync(next, this.path);
    } catch (error) {
      // The old file is whole and still ours: carry on appending to it.
      if (fd !== undefined) closeQuietly(fd);
      try {
        unlinkSync(next);
      } catch {
        // never made, or already gone
      }
      this.#compactAt = this.#lines * 2; // not again at every end: when the file has doubled
      this.#onError?.(error as Error);
      return;
    }
    closeQuietly(this.#fd);
    this.#fd = fd;
    this.#lines = lines.length;
    this.#compactAt = 4096;
  }

  /** The file cannot be written: report it once and carry on in memory. */
  #fail(error: unknown): void {
    if (this.#fd !== undefined) closeQuietly(this.#fd);
    this.#fd = undefined;
    clearInterval(this.#toucher);
    this.#onError?.(error as Error);
  }

  #touch(): void {
    if (this.#fd === undefined) return;
    try {
      const now = new Date();
      futimesSync(this.#fd, now, now);
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Takes over the journals of processes that are gone: each is first renamed to a name under
   * our own id (so two processes starting at once never both take one, and one we die holding is
   * the next process's to take), then its live entries become ours and leftovers for the next
   * connection to their host, and it is removed (unless our own file cannot be written: then it
   * stays, the next process's to take). Entries older than MAX_AGE_MS are dropped: a host never
   * connected to again (under the same `user@host:port`) must not keep its entries on record
   * forever; a journal we cannot judge that no process has touched for that long is removed.
   */
  #adopt(): number {
    let adopted = 0;
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch (error) {
      this.#onError?.(error as Error);
      return 0;
    }
    const self = machine();
    for (const name of names) {
      const owner = parseName(name);
      if (!owner) continue;
      const path = join(this.#dir, name);
      try {
        const written = statSync(path).mtimeMs;
        const verdict = judge(owner, self, written, path);
        if (verdict !== 'gone') {
          // Another machine's or namespace's, untouched for MAX_AGE_MS: its process is gone, every entry too old.
          if (verdict === 'unknown' && Date.now() - written >= MAX_AGE_MS) unlinkSync(path);
          continue;
        }
        const claimed = join(this.#dir, `temp-files-${ownerId(process.pid)}.claim.jsonl`);
        try {
          renameSync(path, claimed);
        } catch {
          continue; // another process claimed it first
        }
        // Held open (and touched) until it is done with: another copy of this module judges it ours.
        const held = openSync(claimed, 'r');
        try {
          const now = new Date();
          futimesSync(held, now, now);
          const oldest = Date.now() - MAX_AGE_MS;
          for (const [host, file, since] of liveEntries(readFileSync(held, 'utf8'))) {
            if (since < oldest || this.#live.get(host)?.has(file)) continue;
            this.begin(host, file, since);
            rememberLeftover(host, file);
            adopted++;
          }
          // Only once its entries are on our file: else a crash of ours would lose them.
          if (this.#fd !== undefined) unlinkSync(claimed);
        } finally {
          closeQuietly(held);
        }
      } catch (error) {
        // Gone meanwhile (another process took it); otherwise it stays for a later process. The others are still taken.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#onError?.(error as Error);
      }
    }
    return adopted;
  }
}

/** How long an adopted entry is kept waiting for a connection to its host: 30 days. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;
const TOUCH_EVERY_MS = 3600 * 1000;

/**
 * The journal files this process has open (two journals in one process never adopt each other),
 * shared by every copy of this module in the thread (its ESM and CJS builds).
 */
const OPEN_HERE: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('ssh-sftp-files.openJournals')] ??= new Set<string>()) as Set<string>;

/** Where a process runs, as short hashes. */
export interface Machine {
  readonly machine: string;
  readonly boot: string;
  readonly pidNamespace: string;
}

interface Owner extends Machine {
  readonly pid: number;
  readonly name: string;
}

let thisMachine: Machine | undefined;

/** This machine, boot and pid namespace, as 8-hex-digit hashes (fixed for the process's life). */
function machine(): Machine {
  thisMachine ??= {
    // Two machines may share a host name (cloned images, `ubuntu`); the machine id tells them apart.
    machine: shortHash(`${hostname()}\n${readOr(() => readFileSync('/etc/machine-id', 'utf8').trim())}`),
    // No /proc (macOS, BSD): one boot and one namespace as far as we can tell; pids are then judged.
    boot: shortHash(readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())),
    pidNamespace: shortHash(readOr(() => readlinkSync('/proc/self/ns/pid'))),
  };
  return thisMachine;
}

/** A fresh journal file's id: this machine, boot, pid namespace, pid and a random part. */
function ownerId(pid: number, elsewhere: Partial<Machine> = {}): string {
  const here = { ...machine(), ...elsewhere };
  return `${here.machine}-${here.boot}-${here.pidNamespace}-${pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * The name a journal of process `pid` has (`claim`: the name it gives a journal it is taking
 * over), here or, with `elsewhere`, on another machine, boot or pid namespace. For tests.
 *
 * @internal
 */
export function journalFileName(pid: number, elsewhere: Partial<Machine> = {}, claim = false): string {
  return `temp-files-${ownerId(pid, elsewhere)}${claim ? '.claim' : ''}.jsonl`;
}

function parseName(name: string): Owner | undefined {
  // `.claim`: one being taken over; `.new`: a compaction's, which a crash left.
  const match = /^temp-files-([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{8})-(\d+)-[0-9a-f]{8}(?:\.claim|\.new)?\.jsonl$/.exec(name);
  if (!match) return undefined;
  return { machine: match[1] as string, boot: match[2] as string, pidNamespace: match[3] as string, pid: Number(match[4]), name };
}

/**
 * Whether the process that owns a journal file (last written at `written`, ms) is known to be
 * gone, known to be alive, or not ours to judge (never a guess either way).
 */
function judge(owner: Owner, self: Machine, written: number, path: string): 'gone' | 'alive' | 'unknown' {
  if (owner.machine !== self.machine) return 'unknown';
  if (owner.boot !== self.boot) {
    // Touched since this boot began or in the last hours: a live process on a machine that looks
    // like this one (a clone), or a sandbox's that reads boot_id differently.
    const silent = written < Date.now() - uptime() * 1000 && Date.now() - written > 3 * TOUCH_EVERY_MS;
    return silent ? 'gone' : 'unknown';
  }
  if (owner.pidNamespace !== self.pidNamespace) return 'unknown';
  // Our pid: a process before us had it (a container's server has the same pid every start) and
  // is gone, unless the file is this process's (another copy of this module: its ESM and CJS
  // builds, a worker thread).
  if (owner.pid === process.pid) return isOpenHere(path, written) ? 'alive' : 'gone';
  return isAlive(owner.pid) ? 'alive' : 'gone';
}

/**
 * Whether this process has the file open: one of our journals, or (Linux) any descriptor of ours
 * on it. Without /proc: a file written since this process started (2 s margin for coarse clocks).
 */
function isOpenHere(path: string, written: number): boolean {
  if (OPEN_HERE.has(path)) return true;
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return written >= Date.now() - process.uptime() * 1000 - 2_000;
  }
  const real = realpathSync(path);
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === real;
    } catch {
      return false; // the descriptor of readdir itself, closed by now
    }
  });
}

/** Whether a process with this pid exists (one of another user's counts: it is not ours to judge). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The entries a journal's lines leave live (a torn last line, from a kill mid-append, is skipped). */
function liveEntries(text: string): Array<[string, string, number]> {
  const live = new Map<string, [string, string, number]>();
  for (const line of text.split('\n')) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(entry) || entry.length < 3 || !entry.slice(0, 3).every((part) => typeof part === 'string')) continue;
    const [op, host, path, since] = entry as [string, string, string, unknown];
    const key = JSON.stringify([host, path]);
    if (op === '+') live.set(key, [host, path, typeof since === 'number' ? since : Date.now()]);
    else if (op === '-') live.delete(key);
  }
  return [...live.values()];
}

/** writeSync until all of `text` is written (a write may be short). */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing left to save
  }
}

function readOr(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
