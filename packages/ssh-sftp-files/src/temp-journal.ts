import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { rememberLeftover } from './internal/leftovers';

/**
 * A local record of the temp files a process's writes have open on hosts, so that those a crash
 * (`kill -9`, power loss) cut short are removed after all: the next process that opens a journal
 * in the same directory adopts a dead process's entries, and its next connection to each host
 * removes them (as it removes those a lost connection left).
 *
 * One file per process (`temp-files-<pid>.jsonl`, one JSON array a line: `["+", host, path, ms]`
 * when a temp file is about to be made, `["-", host, path]` once it is renamed into place or
 * removed).
 * Appends are synchronous and land before the remote file is created: a kill at any moment after
 * leaves its name on record. Only the entries of processes that are gone are adopted, so several
 * live processes sharing a directory never touch each other's files.
 */
export class TempFileJournal {
  /** This process's journal file. */
  readonly path: string;
  /** How many temp files dead processes left on record, now this journal's to remove. */
  readonly adopted: number;
  readonly #dir: string;
  #fd: number | undefined;
  /** Live entries: host → path → when it was first recorded (ms since the epoch). */
  readonly #live = new Map<string, Map<string, number>>();
  #lines = 0;

  private constructor(dir: string, fd: number, path: string) {
    this.#dir = dir;
    this.#fd = fd;
    this.path = path;
    this.adopted = this.#adopt();
  }

  /**
   * Opens this process's journal in `dir` (made 0700 when missing; it must be a directory, not a
   * symlink) and adopts the entries of dead processes' journals there.
   *
   * @throws Error when the directory or the file cannot be used.
   */
  static open(dir: string): TempFileJournal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!lstatSync(dir).isDirectory()) throw new Error(`the temp-file journal's directory ${dir} is not a directory (a symlink?)`);
    const path = join(dir, `temp-files-${process.pid}.jsonl`);
    // 'w': a file under our pid is a dead process's that had it before (pid reuse): nothing on it is live.
    return new TempFileJournal(dir, openSync(path, 'w', 0o600), path);
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
    if (this.#lines > 4096 && this.size * 4 < this.#lines) this.#compact();
  }

  /**
   * Closes the journal. With nothing on record its file is removed; otherwise it stays for the
   * next process to adopt.
   */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    if (this.#live.size === 0) unlinkSync(this.path);
  }

  #append(entry: readonly [string, string, string, number?]): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    this.#lines++;
  }

  /** Rewrites the file with the live entries only (a new file, renamed over the old one). */
  #compact(): void {
    if (this.#fd === undefined) return;
    const next = `${this.path}.new`;
    const fd = openSync(next, 'w', 0o600);
    const lines = [...this.#live].flatMap(([host, paths]) => [...paths].map(([path, since]) => `${JSON.stringify(['+', host, path, since])}\n`));
    writeSync(fd, lines.join(''));
    renameSync(next, this.path);
    closeSync(this.#fd);
    this.#fd = fd;
    this.#lines = lines.length;
  }

  /**
   * Takes over the journals of processes that are gone: each is first renamed to a name that
   * says we claimed it (so two processes starting at once never both take one), then its live
   * entries become ours and leftovers for the next connection to their host, and it is removed.
   * Entries older than MAX_AGE_MS are dropped: a host never connected to again (under the same
   * `user@host:port`) must not keep its entries on record forever.
   */
  #adopt(): number {
    let adopted = 0;
    for (const name of readdirSync(this.#dir)) {
      const match = /^temp-files-(\d+)\.jsonl(?:\.claimed-(\d+))?$/.exec(name);
      if (!match) continue;
      const owner = Number(match[2] ?? match[1]);
      if (owner === process.pid || isAlive(owner)) continue;
      const claimed = join(this.#dir, `temp-files-${match[1]}.jsonl.claimed-${process.pid}`);
      try {
        renameSync(join(this.#dir, name), claimed);
      } catch {
        continue; // another process claimed it first
      }
      const oldest = Date.now() - MAX_AGE_MS;
      for (const [host, path, since] of liveEntries(readFileSync(claimed, 'utf8'))) {
        if (since < oldest) continue;
        this.begin(host, path, since);
        rememberLeftover(host, path);
        adopted++;
      }
      unlinkSync(claimed);
    }
    return adopted;
  }
}

/** How long an adopted entry is kept waiting for a connection to its host: 30 days. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

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

/** Whether a process with this pid exists (one of another user's counts: it is not ours to judge). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
