import { SshSessionError, isSshError } from 'ssh-session-core';

/**
 * Temp files a lost connection kept us from removing (a write's `.name.<hex>.tmp`, a sudo write's
 * staged copy), by host: the connection's `user@host:port`. The next RemoteFiles on a connection
 * to that host removes them as soon as it opens (and before its first file operation). In memory;
 * a TempFileJournal keeps them on disk, so that a killed process's are removed by the next one.
 */
const leftovers = new Map<string, Set<string>>();

export function rememberLeftover(host: string, path: string): void {
  const paths = leftovers.get(host) ?? new Set<string>();
  paths.add(path);
  leftovers.set(host, paths);
}

export function hasLeftovers(host: string): boolean {
  return (leftovers.get(host)?.size ?? 0) > 0;
}

/**
 * Removes the host's leftovers with `unlink`. A removed or already absent one is forgotten; one
 * the connection could not reach (lost again) is kept for the next connection; any other
 * failure (permissions changed) is forgotten too, so the list never grows without bound.
 */
export async function sweepLeftovers(host: string, unlink: (path: string) => Promise<void>, forgotten?: (path: string) => void): Promise<void> {
  const paths = leftovers.get(host);
  if (!paths) return;
  for (const path of [...paths]) {
    try {
      await unlink(path);
    } catch (error) {
      if (isSshError(error)) continue;
    }
    paths.delete(path);
    forgotten?.(path);
  }
  if (paths.size === 0) leftovers.delete(host);
}

/** What a write cut by a lost connection did to its target. */
export type TargetState = 'unchanged' | 'unknown' | 'maybe-appended' | 'maybe-removed';

/**
 * A lost connection's error, saying what happened to the target and the temp file, so the caller
 * knows whether to read the target back. `tempKept`: the temp file may hold the only copy of the
 * new content, so it is left for the user, not removed later. Other errors pass through.
 */
export function lostDuring(error: unknown, operation: string, path: string, target: TargetState, temp: string | undefined, tempKept = false): unknown {
  if (!isSshError(error) || error.code !== 'CONNECTION_CLOSED') return error;
  const what =
    target === 'unchanged'
      ? `${path} was not changed`
      : target === 'unknown'
        ? `${path} is either unchanged or wholly replaced (never partly written): the replacing step was under way, so read it back`
        : target === 'maybe-removed'
          ? `${path} is the old file, the new one or missing: the server lacks posix-rename, so the old file is removed before the rename, and that step was under way; read it back`
          : `the append to ${path} was under way on the host and may have happened: read it back before appending again`;
  const tempNote =
    temp === undefined
      ? ''
      : tempKept
        ? `; the new content is kept in ${temp} (it may be the only copy: remove it once ${path} is right)`
        : `; the temp file ${temp} is removed when a connection to the host comes back`;
  return new SshSessionError('CONNECTION_CLOSED', `${operation} ${path}: ${error.message}; ${what}${tempNote}`, {
    cause: error,
    details: { ...error.details, path, target, ...(temp === undefined ? {} : { tempFile: temp }), ...(tempKept ? { tempKept: true } : {}) },
  });
}
