import { closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs';
import type { LogLevel, Logger } from 'ssh-session-core';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ServerLogger extends Logger {
  /** Closes the log file, if any. */
  close(): void;
}

/**
 * A logger that writes one line per entry to stderr (stdout carries the MCP protocol and nothing
 * else) and, when `file` is given, appends the same lines to it. The file is created 0600, and an
 * existing one is narrowed to 0600: logs name hosts and users.
 *
 * @throws Error when the log file cannot be opened.
 */
export function createServerLogger(minLevel: LogLevel | 'silent', file?: string): ServerLogger {
  const threshold = minLevel === 'silent' ? Number.POSITIVE_INFINITY : ORDER[minLevel];
  let fd = file === undefined ? undefined : openPrivateAppend(file, 'the log file', constants.O_WRONLY);
  return {
    log(level, message, fields) {
      if (ORDER[level] < threshold) return;
      const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      const line = `${new Date().toISOString()} ${level} ${message}${suffix}\n`;
      process.stderr.write(line);
      if (fd !== undefined) {
        try {
          writeSync(fd, line);
        } catch {
          // A full disk must not take the server down; stderr still has the line.
        }
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/**
 * Opens `path` for appending, created 0600 and an existing file narrowed to 0600, never through a
 * symlink someone planted (that would append to, and chmod, their target). `access` adds to
 * O_APPEND: O_WRONLY, or O_RDWR to read the file's end too.
 *
 * @throws Error naming `what` and the path.
 */
export function openPrivateAppend(path: string, what: string, access: number): number {
  try {
    const fd = openSync(path, access | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    throw new Error(`cannot open ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
