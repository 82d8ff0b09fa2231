import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The server's state directory for this user: `$XDG_STATE_HOME` (`~/.local/state`)`/mcp-ssh-server`. */
export function stateDir(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'mcp-ssh-server');
}

/**
 * Makes `dir` (0700) or checks it for files only this server's user may read: a directory (a
 * symlink is refused), owned by this user, its group and other bits cleared.
 *
 * @throws Error naming `what` and the reason.
 */
export function privateDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = lstatSync(dir);
    if (!info.isDirectory()) throw new Error('not a directory');
    // Another user could delete the files or take their names.
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) throw new Error(`owned by uid ${info.uid}, not by this server's user`);
    if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  } catch (error) {
    throw new Error(`cannot use the ${what} ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
