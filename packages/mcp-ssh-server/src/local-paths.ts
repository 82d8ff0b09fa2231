import { realpathSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ServerError } from './errors';

/**
 * Where upload_file may read and download_file may write on the server machine: inside the
 * configured roots only, never in a `.ssh` directory. Without this, a model (or a prompt injected
 * into what it reads) could upload `~/.ssh/id_ed25519` to a host, or overwrite `~/.bashrc`.
 */
export class LocalRoots {
  readonly roots: readonly string[];
  readonly #home: string;

  /** `roots` are made absolute and resolved through symlinks; missing ones are dropped. */
  constructor(roots: readonly string[], home: string) {
    this.#home = home;
    this.roots = roots.flatMap((root) => {
      try {
        return [realpathSync(resolve(expandHome(root, home)))];
      } catch {
        return [];
      }
    });
  }

  /**
   * The real path of an existing local file to upload.
   *
   * @throws ServerError `POLICY_DENIED` outside the roots, `LOCAL_NOT_FOUND` when missing.
   */
  async source(path: string): Promise<string> {
    const wanted = this.#absolute(path);
    const real = await realpath(wanted).catch((error: NodeJS.ErrnoException) => {
      throw new ServerError('LOCAL_NOT_FOUND', `local_path ${JSON.stringify(path)}: ${error.code === 'ENOENT' ? 'no such file' : (error.code ?? error.message)}`);
    });
    this.#check(real, path);
    return real;
  }

  /**
   * The local path a download may write: its directory (or, with `makeDirs`, its nearest existing
   * ancestor) inside the roots; an existing file only with `overwrite`.
   *
   * @throws ServerError `POLICY_DENIED`, `LOCAL_EXISTS`, `LOCAL_NOT_FOUND`.
   */
  async destination(path: string, options: { readonly makeDirs: boolean; readonly overwrite: boolean }): Promise<string> {
    const wanted = this.#absolute(path);
    let directory = dirname(wanted);
    const missing: string[] = [];
    for (;;) {
      try {
        directory = await realpath(directory);
        break;
      } catch {
        if (!options.makeDirs) throw new ServerError('LOCAL_NOT_FOUND', `the directory of local_path ${JSON.stringify(path)} does not exist (pass make_dirs: true)`);
        missing.unshift(basename(directory));
        const parent = dirname(directory);
        if (parent === directory) throw new ServerError('LOCAL_NOT_FOUND', `no existing directory above ${JSON.stringify(path)}`);
        directory = parent;
      }
    }
    const target = join(directory, ...missing, basename(wanted));
    this.#check(target, path);
    const existing = await lstat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw new ServerError('LOCAL_EXISTS', `local_path ${JSON.stringify(path)} is a directory; name the file`);
    if (existing && !options.overwrite) throw new ServerError('LOCAL_EXISTS', `local_path ${JSON.stringify(path)} exists; pass overwrite: true to replace it`);
    return target;
  }

  #absolute(path: string): string {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new ServerError('INVALID_ARGUMENT', 'local_path must be a non-empty path');
    if (this.roots.length === 0) {
      throw new ServerError('POLICY_DENIED', 'local file transfers are off: start the server with --local-root <dir> (or MCP_SSH_LOCAL_ROOTS) to allow them');
    }
    const expanded = expandHome(path, this.#home);
    return isAbsolute(expanded) ? resolve(expanded) : resolve(this.roots[0] as string, expanded);
  }

  #check(real: string, asked: string): void {
    const inside = this.roots.some((root) => {
      const rel = relative(root, real);
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
    });
    if (!inside) {
      throw new ServerError('POLICY_DENIED', `local_path ${JSON.stringify(asked)} is outside the server's local roots (${this.roots.join(', ')})`);
    }
    if (real.split(sep).includes('.ssh')) throw new ServerError('POLICY_DENIED', `local_path ${JSON.stringify(asked)} is in a .ssh directory: keys and ssh config are never transferred`);
  }
}

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}
