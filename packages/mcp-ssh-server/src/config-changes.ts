import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir } from './private-dir';

/** One send_config with its running configuration before and after (secrets the server knows redacted). */
export interface ConfigChange {
  /** 8 hex digits, unique per server state. */
  readonly id: string;
  /** `user@host:port`. */
  readonly session: string;
  /** ISO time the change was made. */
  readonly at: string;
  readonly summary: string;
  /** How many configuration lines were sent. */
  readonly lines: number;
  readonly before: string;
  readonly after: string;
}

/**
 * The last {@link ConfigChanges.KEEP} configuration changes per device session, for config_diff.
 * In memory; with a directory (`--config-snapshots`) also one file per change
 * (`<dir>/<session>/<time>_<id>.json`, 0600 in 0700 directories, written whole then renamed), so
 * the diffs outlive a restart. Running configurations hold secrets the server does not know
 * (password hashes, SNMP communities): the directory is as sensitive as the devices' configs.
 */
export class ConfigChanges {
  static readonly KEEP = 20;
  readonly dir: string | undefined;
  readonly #bySession = new Map<string, ConfigChange[]>();
  #lastAt = 0;

  /** @throws Error when `dir` cannot be made or is not this user's private directory. */
  constructor(dir?: string) {
    if (dir !== undefined) privateDir(dir, 'config snapshot directory');
    this.dir = dir;
  }

  add(change: Omit<ConfigChange, 'id' | 'at'>): ConfigChange {
    // Strictly later than the last one: times order the changes, on disk too.
    this.#lastAt = Math.max(Date.now(), this.#lastAt + 1);
    const made: ConfigChange = { ...change, id: randomBytes(4).toString('hex'), at: new Date(this.#lastAt).toISOString() };
    const list = this.list(change.session);
    list.unshift(made);
    const dropped = list.splice(ConfigChanges.KEEP);
    const dir = this.#sessionDir(change.session);
    if (dir !== undefined) {
      try {
        privateDir(dir, 'config snapshot directory');
        const file = join(dir, fileName(made));
        const temporary = `${file}.${process.pid}.tmp`;
        writeFileSync(temporary, `${JSON.stringify(made)}\n`, { mode: 0o600, flag: 'wx' });
        renameSync(temporary, file);
        // The newest KEEP files stay, whoever wrote the others (another server sharing the
        // directory): names start with their time, so they sort by it.
        const kept = readdirSync(dir).filter((name) => name.endsWith('.json')).sort().reverse();
        for (const old of new Set([...kept.slice(ConfigChanges.KEEP), ...dropped.map(fileName)])) rmSync(join(dir, old), { force: true });
      } catch {
        // A full disk must not fail the change, which is made: the diff stays in memory.
      }
    }
    return made;
  }

  /** Newest first (the list itself: callers must not change it). */
  list(session: string): ConfigChange[] {
    let list = this.#bySession.get(session);
    if (!list) {
      list = this.#load(session);
      this.#bySession.set(session, list);
    }
    return list;
  }

  /** The change `id` (or a unique prefix of it) of `session`, else its newest. */
  get(session: string, id?: string): ConfigChange | undefined {
    const list = this.list(session);
    if (id === undefined) return list[0];
    const found = list.filter((change) => change.id.startsWith(id.toLowerCase()));
    return found.length === 1 ? found[0] : undefined;
  }

  #sessionDir(session: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, session.replace(/[^\w.@-]+/g, '_'));
  }

  #load(session: string): ConfigChange[] {
    const dir = this.#sessionDir(session);
    if (dir === undefined) return [];
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      return [];
    }
    const loaded: ConfigChange[] = [];
    for (const name of names) {
      try {
        const change = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ConfigChange;
        if (change.session === session && typeof change.id === 'string' && typeof change.at === 'string' && typeof change.before === 'string' && typeof change.after === 'string') loaded.push(change);
      } catch {
        // A file cut short by a crash: skipped.
      }
    }
    return loaded.sort((a, b) => b.at.localeCompare(a.at)).slice(0, ConfigChanges.KEEP);
  }
}

function fileName(change: ConfigChange): string {
  return `${change.at.replace(/:/g, '-')}_${change.id}.json`;
}
