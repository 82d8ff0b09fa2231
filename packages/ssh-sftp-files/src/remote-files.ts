import { randomBytes } from 'node:crypto';
import { chmod as localChmod, mkdir, rename, stat as localStat, unlink } from 'node:fs/promises';
import { dirname, posix, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSshError, Redactor, SshSessionError, type SFTPWrapper, type SshConnection } from 'ssh-session-core';
import { SftpFileError } from './errors';
import type { TempFileJournal } from './temp-journal';
import { hasLeftovers, lostDuring, rememberLeftover, sweepLeftovers } from './internal/leftovers';
import { ownerGroupFromLongname } from './internal/longname';
import { toSftpFileError } from './internal/sftp-status';
import { decodeText, encodeContent, type ContentEncoding, type EncodingErrors } from './text-codec';

export type { ContentEncoding, EncodingErrors } from './text-codec';

export interface RemoteFilesOptions {
  /** Default cap of `readFile`. 2 MiB. */
  readonly maxReadBytes?: number;
  /** Default cap of `writeFile`. 64 MiB. */
  readonly maxWriteBytes?: number;
  /** Password for the sudo fallback (sent on stdin, never in a command line). */
  readonly sudoPassword?: string;
  /** Secrets to keep out of error messages. */
  readonly redactor?: Redactor;
  /**
   * Where the temp files of writes and uploads are recorded while they exist on the host, so
   * that those a crash of this process cuts short are removed by the next process (its next
   * connection to the host). Without it, only the temp files of a lost connection are removed
   * (by the next connection of this process).
   */
  readonly tempJournal?: TempFileJournal;
}

export interface ReadFileOptions {
  /** Default `utf-8`. Binary content asked for as text comes back as base64, and says so (unless `errors` is given). */
  readonly encoding?: ContentEncoding;
  /**
   * Decode the bytes as text whatever they hold, as Python's `bytes.decode(encoding, errors)`:
   * invalid sequences fail (`strict`: `DECODE_FAILED` with their offset), become U+FFFD
   * (`replace`) or are dropped (`ignore`). Absent: text that is not valid (NUL bytes, invalid
   * UTF-8) comes back whole as base64 instead (`binary: true`), so no byte is lost.
   */
  readonly errors?: EncodingErrors;
  readonly maxBytes?: number;
  /** On permission denied, read through `sudo` (over an exec channel without a PTY: byte-exact). */
  readonly useSudo?: boolean;
  readonly sudoPassword?: string;
}

export interface ReadFileResult {
  /** The absolute path read (`~` expanded). */
  readonly path: string;
  readonly content: string;
  /** The encoding of `content`: the one asked for, or `base64` for binary content. */
  readonly encoding: ContentEncoding;
  /** NUL bytes or invalid UTF-8 were found, and `content` is base64 (never with `errors`: the bytes are decoded as asked). */
  readonly binary: boolean;
  /** Invalid sequences replaced (`errors: 'replace'`) or dropped (`'ignore'`); 0 otherwise. */
  readonly decodeErrors: number;
  readonly bytesRead: number;
  /** The file's size (bytes). */
  readonly size: number;
  /** Only the first `bytesRead` of `size` bytes were read (`maxBytes`). */
  readonly truncated: boolean;
  readonly viaSudo: boolean;
}

export interface WriteFileOptions {
  /** How a string `content` is encoded. Default `utf-8`; `base64` for bytes. */
  readonly encoding?: ContentEncoding;
  /**
   * A character `encoding` cannot carry (a lone surrogate, `é` in ASCII): fail with
   * `ENCODE_FAILED` (`strict`, the default, as Python's `str.encode`), write `?` (`replace`) or
   * drop it (`ignore`). Checked, like the size, before anything is written.
   */
  readonly errors?: EncodingErrors;
  /** Append instead of replacing (not atomic: appended in place). */
  readonly append?: boolean;
  /** Create missing parent directories. */
  readonly makeDirs?: boolean;
  /** Mode of the file: a number (0o600) or an octal string ('600', '0644'). Default: the existing file's mode, else 0644. */
  readonly permissions?: number | string;
  readonly maxBytes?: number;
  /** On permission denied, write through `sudo`: staged in a private temp file, installed atomically. */
  readonly useSudo?: boolean;
  readonly sudoPassword?: string;
  /** Called as bytes are written. */
  readonly onProgress?: (progress: TransferProgress) => void;
}

export interface WriteFileResult {
  readonly path: string;
  readonly bytesWritten: number;
  /** Replaced in one rename (`posix-rename@openssh.com` or `mv` under sudo): readers saw the old or the new file, never a half. */
  readonly atomic: boolean;
  /** Why not atomic, when it was not. */
  readonly notice: string | undefined;
  readonly viaSudo: boolean;
  readonly created: boolean;
  /** The file's permission bits after the write. */
  readonly mode: number;
}

export type FileType = 'file' | 'directory' | 'symlink' | 'other';

export interface FileInfo {
  readonly name: string;
  readonly path: string;
  readonly type: FileType;
  readonly size: number;
  /** Permission bits (0o7777). */
  readonly mode: number;
  /** Owner; null when the server did not say. */
  readonly uid: number | null;
  readonly gid: number | null;
  /**
   * Owner and group names as `ls -l` shows them. {@link RemoteFiles.list} takes them from the
   * server's long listing (OpenSSH's sftp-server puts names there); when it gives none (and
   * always for {@link RemoteFiles.stat}, as SFTP attributes carry ids only) the id as text; null
   * when the server said neither.
   */
  readonly owner: string | null;
  readonly group: string | null;
  /** Modification time, ISO 8601; null when the server did not say. */
  readonly modifiedAt: string | null;
}

export interface TransferProgress {
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface TransferOptions {
  /** Give the destination the source's permission bits. */
  readonly preserveMode?: boolean;
  /** Create missing parent directories of the destination. */
  readonly makeDirs?: boolean;
  /** Permission bits for the destination (wins over `preserveMode`). */
  readonly mode?: number;
  readonly onProgress?: (progress: TransferProgress) => void;
  /**
   * Cancels the transfer: it runs on an SFTP session of its own, ended on abort; the destination
   * is left as it was and the temp file removed. Rejects with `CANCELLED`.
   */
  readonly signal?: AbortSignal;
}

export interface TransferResult {
  readonly localPath: string;
  readonly remotePath: string;
  readonly bytes: number;
  readonly durationMs: number;
}

const DEFAULTS = Object.freeze({ maxReadBytes: 2 * 1024 * 1024, maxWriteBytes: 64 * 1024 * 1024 });
const CHUNK = 32 * 1024;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * Files on a host over SFTP: byte-exact reads with a size cap, atomic writes that keep mode and
 * owner, listing, and streamed transfers. When the user may not touch a file and sudo is allowed,
 * reads and writes go through `sudo` on an exec channel without a PTY — password on stdin,
 * content never in a command line.
 */
export class RemoteFiles {
  readonly #connection: SshConnection;
  readonly #maxReadBytes: number;
  readonly #maxWriteBytes: number;
  readonly #sudoPassword: string | undefined;
  readonly #redactor: Redactor;
  readonly #journal: TempFileJournal | undefined;
  #home: Promise<string> | undefined;
  /** Removal of the temp files an earlier, lost connection to this host left (internal/leftovers). */
  #swept: Promise<void> | undefined;

  constructor(connection: SshConnection, options: RemoteFilesOptions = {}) {
    this.#connection = connection;
    this.#maxReadBytes = options.maxReadBytes ?? DEFAULTS.maxReadBytes;
    this.#maxWriteBytes = options.maxWriteBytes ?? DEFAULTS.maxWriteBytes;
    this.#sudoPassword = options.sudoPassword;
    this.#redactor = options.redactor ?? new Redactor();
    this.#redactor.add(options.sudoPassword);
    this.#journal = options.tempJournal;
    // The connection is back: remove what the lost one left, without waiting for a file operation.
    if (hasLeftovers(connection.key)) void this.#session().catch(() => undefined);
  }

  /**
   * Reads a file: at most `maxBytes` (default 2 MiB), truncation reported.
   *
   * @throws SftpFileError `NOT_FOUND`, `NOT_A_FILE` (a directory…), `PERMISSION_DENIED` (without
   *   `useSudo`), `SUDO_FALLBACK_FAILED`, `SFTP_FAILED`.
   */
  async readFile(remotePath: string, options: ReadFileOptions = {}): Promise<ReadFileResult> {
    const path = await this.resolvePath(remotePath);
    const maxBytes = checkSize(options.maxBytes ?? this.#maxReadBytes, 'maxBytes');
    const decoding = { encoding: options.encoding ?? 'utf-8', errors: options.errors };
    try {
      const sftp = await this.#session();
      const stats = await call<SftpStats>(sftp, (cb) => sftp.stat(path, cb)).catch((error: unknown) => {
        throw toSftpFileError(error, 'read', path);
      });
      if (!isRegularFile(stats.mode)) throw notAFile(path, stats.mode);
      const bytes = await readBounded(sftp, path, maxBytes);
      return decoded(path, bytes.subarray(0, maxBytes), decoding, Math.max(stats.size, bytes.length), bytes.length > maxBytes, false);
    } catch (error) {
      if (!(isCode(error, 'PERMISSION_DENIED') && options.useSudo)) throw error;
      return this.#readWithSudo(path, maxBytes, decoding, options.sudoPassword);
    }
  }

  /**
   * Writes a file atomically: a temp file in the same directory, then one rename over the target
   * (`posix-rename@openssh.com`). The existing file's mode and owner are kept unless
   * `permissions` is given.
   *
   * Encoding, size and mode are checked first: a refused write creates nothing (no file, no
   * directory, no temp file).
   *
   * @throws SftpFileError `FILE_TOO_LARGE`, `ENCODE_FAILED`, `NOT_FOUND` (missing directory
   *   without `makeDirs`), `NOT_A_FILE`, `PERMISSION_DENIED` (without `useSudo`),
   *   `SUDO_FALLBACK_FAILED`, `SFTP_FAILED`; RangeError for bad `permissions`.
   */
  async writeFile(remotePath: string, content: string | Uint8Array, options: WriteFileOptions = {}): Promise<WriteFileResult> {
    const bytes = typeof content === 'string' ? encodeContent(content, options.encoding ?? 'utf-8', options.errors ?? 'strict') : Buffer.from(content);
    const maxBytes = checkSize(options.maxBytes ?? this.#maxWriteBytes, 'maxBytes');
    if (bytes.length > maxBytes) {
      throw new SftpFileError('FILE_TOO_LARGE', `write ${remotePath}: ${bytes.length} bytes is over the cap of ${maxBytes} (maxBytes); nothing was written`, {
        details: { path: remotePath, bytes: bytes.length, maxBytes },
      });
    }
    const mode = options.permissions === undefined ? undefined : parseMode(options.permissions);
    const path = await this.resolvePath(remotePath);
    try {
      return await this.#writeWithSftp(path, bytes, options, mode);
    } catch (error) {
      if (!(isCode(error, 'PERMISSION_DENIED') && options.useSudo)) throw error;
      return this.#writeWithSudo(path, bytes, options, mode);
    }
  }

  /** The entries of a directory, sorted by name (without `.` and `..`). */
  async list(remotePath: string): Promise<FileInfo[]> {
    const path = await this.resolvePath(remotePath);
    const sftp = await this.#session();
    const entries = await call<{ filename: string; longname?: string; attrs: SftpStats }[]>(sftp, (cb) => sftp.readdir(path, cb)).catch((error: unknown) => {
      throw toSftpFileError(error, 'list', path);
    });
    return entries
      .filter((entry) => entry.filename !== '.' && entry.filename !== '..')
      .map((entry) => fileInfo(entry.filename, posix.join(path, entry.filename), entry.attrs, ownerGroupFromLongname(entry.longname)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Facts about one path (a symlink itself, not its target). */
  async stat(remotePath: string): Promise<FileInfo> {
    const path = await this.resolvePath(remotePath);
    const sftp = await this.#session();
    const stats = await call<SftpStats>(sftp, (cb) => sftp.lstat(path, cb)).catch((error: unknown) => {
      throw toSftpFileError(error, 'stat', path);
    });
    return fileInfo(posix.basename(path), path, stats);
  }

  /** Copies a local file to the host, streamed (parallel SFTP writes, bounded memory). */
  async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<TransferResult> {
    const path = await this.resolvePath(remotePath);
    const started = Date.now();
    const source = await localStat(localPath).catch((error: NodeJS.ErrnoException) => {
      throw new SftpFileError(error.code === 'ENOENT' ? 'NOT_FOUND' : 'PERMISSION_DENIED', `upload ${localPath}: ${error.code === 'ENOENT' ? 'no such local file' : (error.code ?? error.message)}`, {
        details: { localPath },
      });
    });
    if (!source.isFile()) throw new SftpFileError('NOT_A_FILE', `upload ${localPath}: not a regular file`, { details: { localPath } });
    const sftp = await this.#session();
    if (options.makeDirs) await this.#makeDirs(sftp, posix.dirname(path));
    const existing = await call<SftpStats>(sftp, (cb) => sftp.stat(path, cb)).catch(() => undefined);
    const finalMode = (options.mode === undefined ? undefined : parseMode(options.mode)) ?? (options.preserveMode ? source.mode & 0o7777 : existing ? existing.mode & 0o7777 : 0o644);
    // Into a temp file next to the target, then one rename: a dropped connection never leaves a
    // truncated file behind.
    const temp = tempPathFor(path);
    let handedOver = false;
    try {
      // Created private first: fastPut opens without a mode (0644 under the usual umask) and
      // sets it a round trip later, time for another user to open the file and read it all.
      // 'wx' also refuses a name someone planted (a symlink) instead of following it. fastPut's
      // 'w' then truncates it and keeps that mode, so it is given no mode of its own.
      this.#journal?.begin(this.#connection.key, temp);
      const handle = await call<Buffer>(sftp, (cb) => sftp.open(temp, 'wx', { mode: 0o600 }, cb));
      await call<void>(sftp, (cb) => sftp.close(handle, cb));
      await this.#cancellable(sftp, options.signal, `upload to ${path}`, (channel, cb) =>
        channel.fastPut(localPath, temp, { step: (transferred: number, _chunk: number, total: number) => options.onProgress?.({ bytes: transferred, totalBytes: total }) }, cb),
      );
      await call<void>(sftp, (cb) => sftp.chmod(temp, finalMode, cb));
      handedOver = true;
      await moveIntoPlace(sftp, temp, path, existing !== undefined, 'upload');
      this.#journal?.end(this.#connection.key, temp);
    } catch (error) {
      throw this.#cutOff(error, sftp, 'upload to', path, temp, handedOver, existing !== undefined);
    } finally {
      if (!handedOver) await this.#discard(sftp, temp);
    }
    return { localPath, remotePath: path, bytes: source.size, durationMs: Date.now() - started };
  }

  /**
   * Copies a file from the host to a local path, streamed (parallel SFTP reads, bounded memory).
   * It arrives in a temp file next to `localPath` and is renamed into place: a failed or
   * interrupted download never leaves a truncated file at `localPath`. A new file gets the remote
   * file's mode without group/other write; an existing one keeps its mode.
   */
  async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<TransferResult> {
    const path = await this.resolvePath(remotePath);
    const started = Date.now();
    const sftp = await this.#session();
    const stats = await call<SftpStats>(sftp, (cb) => sftp.stat(path, cb)).catch((error: unknown) => {
      throw toSftpFileError(error, 'download', path);
    });
    if (!isRegularFile(stats.mode)) throw notAFile(path, stats.mode);
    const target = resolve(localPath);
    const existing = await localStat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw new SftpFileError('NOT_A_FILE', `download to ${localPath}: it is a directory; name the file`, { details: { localPath } });
    if (options.makeDirs) await mkdir(dirname(target), { recursive: true });
    const temp = tempPathFor(target);
    try {
      await this.#cancellable(sftp, options.signal, `download of ${path}`, (channel, cb) =>
        channel.fastGet(path, temp, { step: (transferred: number, _chunk: number, total: number) => options.onProgress?.({ bytes: transferred, totalBytes: total }) }, cb),
      ).catch((error: unknown) => {
        throw toSftpFileError(asLost(error, sftp), 'download', path);
      });
      // A new file gets the remote mode without group/other write (0600 secrets stay 0600).
      const mode = (options.mode === undefined ? undefined : parseMode(options.mode)) ?? (options.preserveMode ? stats.mode & 0o7777 : existing ? existing.mode & 0o7777 : stats.mode & 0o755);
      if (mode !== undefined) await localChmod(temp, mode);
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return { localPath: target, remotePath: path, bytes: stats.size, durationMs: Date.now() - started };
  }

  /** `~` and `~/…` → the home directory; relative paths are relative to it too (as in SFTP). */
  async resolvePath(remotePath: string): Promise<string> {
    if (typeof remotePath !== 'string' || remotePath.length === 0) throw new TypeError('remote path must be a non-empty string');
    if (remotePath.includes('\0')) throw new TypeError('remote path must not contain NUL');
    if (remotePath.startsWith('/')) return posix.normalize(remotePath);
    this.#home ??= this.#session()
      .then((sftp) => call<string>(sftp, (cb) => sftp.realpath('.', cb)))
      .catch((error: unknown) => {
        this.#home = undefined;
        throw error;
      });
    const home = await this.#home;
    const relative = remotePath === '~' ? '' : remotePath.startsWith('~/') ? remotePath.slice(2) : remotePath;
    return posix.normalize(posix.join(home, relative));
  }

  /**
   * Runs `transfer` on the shared session, or, with a signal, on an SFTP session of its own that
   * an abort ends (ssh2's parallel transfers have no other way to stop). A host that refuses one
   * more session (MaxSessions) gets the transfer on the shared one: it then cannot be cancelled
   * midway, only before it starts. Once aborted, the transfer's own callback is awaited (at most
   * 5 s) before anything touches its temp file: a request still in flight must not create it
   * again after its removal.
   */
  async #cancellable(shared: SFTPWrapper, signal: AbortSignal | undefined, what: string, transfer: (channel: SFTPWrapper, cb: (error?: Error | null) => void) => void): Promise<void> {
    const cancelled = (): SftpFileError => new SftpFileError('CANCELLED', `the ${what} was cancelled; the destination is unchanged`, { cause: signal?.reason });
    if (signal?.aborted) throw cancelled();
    const channel = signal ? await this.#connection.openSftp().catch(() => undefined) : undefined;
    if (!signal || !channel) {
      await call<void>(shared, (cb) => transfer(shared, cb));
      if (signal?.aborted) throw cancelled();
      return;
    }
    let settle: (error: Error | null | undefined) => void = () => undefined;
    const done = new Promise<Error | null | undefined>((resolve) => {
      settle = resolve;
    });
    const abort = (): void => channel.end();
    signal.addEventListener('abort', abort, { once: true });
    // Aborted while the session opened: the event is gone, the check is not.
    if (signal.aborted) abort();
    else {
      try {
        transfer(channel, (error) => settle(error));
      } catch (error) {
        settle(error as Error);
      }
    }
    const closed = new Promise<Error>((resolve) => channel.once('close', () => resolve(lostError())));
    try {
      const error = signal.aborted ? undefined : await Promise.race([done, closed]);
      if (signal.aborted) {
        // The transfer's callback, then the host's close: nothing of it is left in flight.
        await within(done, 5_000);
        await ended(channel);
        throw cancelled();
      }
      if (error) throw error;
    } finally {
      signal.removeEventListener('abort', abort);
      await ended(channel);
    }
  }

  /** The connection's SFTP session, watched for its close. */
  async #session(): Promise<SFTPWrapper> {
    const sftp = await this.#connection.sftp();
    isClosed(sftp);
    // Each pending request watches the session's close: many at once are expected.
    if (sftp.getMaxListeners() < 256) sftp.setMaxListeners(256);
    this.#swept ??= sweepLeftovers(
      this.#connection.key,
      (path) => call<void>(sftp, (cb) => sftp.unlink(path, cb)),
      (path) => this.#journal?.end(this.#connection.key, path),
    );
    await this.#swept;
    return sftp;
  }

  /** Removes a temp file of ours; when the connection is lost meanwhile, the next connection will. */
  async #discard(sftp: SFTPWrapper, temp: string): Promise<void> {
    const removed = await call<void>(sftp, (cb) => sftp.unlink(temp, cb)).then(
      () => true,
      (error: unknown) => !isSshError(error),
    );
    if (removed) this.#journal?.end(this.#connection.key, temp);
    else rememberLeftover(this.#connection.key, temp);
  }

  /**
   * A write or upload failed: the error to throw, and the temp file's fate. When the connection
   * was lost after the rename was sent, the temp file may still be there (removed by a later
   * connection); without posix-rename, over a file that `existed`, it may hold the only new copy
   * (the old one removed first), so it is kept. After any other failure of the rename,
   * moveIntoPlace has removed it (or kept it and said so).
   */
  #cutOff(error: unknown, sftp: SFTPWrapper, operation: string, path: string, temp: string, handedOver: boolean, existed: boolean): unknown {
    error = asLost(error, sftp);
    const lost = isSshError(error) && error.code === 'CONNECTION_CLOSED';
    const onlyCopy = existed && !hasPosixRename(sftp);
    if (handedOver) {
      if (lost && !onlyCopy) rememberLeftover(this.#connection.key, temp);
      else this.#journal?.end(this.#connection.key, temp);
    }
    if (!isSshError(error)) return toSftpFileError(error, operation, path);
    if (!lost) return error;
    if (handedOver && onlyCopy) return lostDuring(error, operation, path, 'maybe-removed', temp, true);
    return lostDuring(error, operation, path, handedOver ? 'unknown' : 'unchanged', temp);
  }

  async #writeWithSftp(path: string, bytes: Buffer, options: WriteFileOptions, mode: number | undefined): Promise<WriteFileResult> {
    const sftp = await this.#session();
    const directory = posix.dirname(path);
    if (options.makeDirs) await this.#makeDirs(sftp, directory);
    // A symlink is written through to its target (as an editor would), not replaced.
    const linked = await call<SftpStats>(sftp, (cb) => sftp.lstat(path, cb)).catch(() => undefined);
    if (linked && (linked.mode & S_IFMT) === S_IFLNK) {
      const target = await call<string>(sftp, (cb) => sftp.realpath(path, cb)).catch((error: unknown) => {
        throw toSftpFileError(error, 'write', path);
      });
      if (target !== path) return this.#writeWithSftp(target, bytes, options, mode);
    }
    const existing = await call<SftpStats>(sftp, (cb) => sftp.stat(path, cb)).catch((error: unknown) => {
      if (isSftpStatus(error, 2)) return undefined;
      throw toSftpFileError(error, 'write', path);
    });
    if (existing && !isRegularFile(existing.mode)) throw notAFile(path, existing.mode);
    const finalMode = mode ?? (existing ? existing.mode & 0o7777 : 0o644);
    if (options.append) {
      await writeStream(sftp, path, bytes, { flags: existing ? 'a' : 'w', mode: finalMode }, options.onProgress).catch((error: unknown) => {
        throw toSftpFileError(error, 'append to', path);
      });
      if (mode !== undefined) await call<void>(sftp, (cb) => sftp.chmod(path, mode, cb));
      return {
        path,
        bytesWritten: bytes.length,
        atomic: false,
        notice: 'appended in place (an append is not atomic)',
        viaSudo: false,
        created: !existing,
        mode: finalMode,
      };
    }
    const temp = tempPathFor(path);
    let handedOver = false;
    try {
      // The temp file is private until it is complete and its mode is set.
      this.#journal?.begin(this.#connection.key, temp);
      await writeStream(sftp, temp, bytes, { flags: 'wx', mode: 0o600 }, options.onProgress);
      const notices: string[] = [];
      if (existing) {
        // Keep the owner — first, since chown clears setuid bits. SFTP cannot give a file away
        // unless we are root: then the file becomes ours, and the result says so.
        await call<void>(sftp, (cb) => sftp.chown(temp, existing.uid, existing.gid, cb)).catch(() => {
          notices.push(`the owner changed from uid ${existing.uid} to the SSH user (SFTP cannot give files away; useSudo keeps it)`);
        });
      }
      await call<void>(sftp, (cb) => sftp.chmod(temp, finalMode, cb));
      handedOver = true;
      const atomic = await moveIntoPlace(sftp, temp, path, existing !== undefined, 'write');
      this.#journal?.end(this.#connection.key, temp);
      if (!atomic) notices.push('the server lacks posix-rename@openssh.com: the old file was removed, then the new one renamed into place');
      const after = await call<SftpStats>(sftp, (cb) => sftp.stat(path, cb)).catch(() => undefined);
      return {
        path,
        bytesWritten: bytes.length,
        atomic,
        notice: notices.length > 0 ? notices.join('; ') : undefined,
        viaSudo: false,
        created: !existing,
        mode: after ? after.mode & 0o7777 : finalMode,
      };
    } catch (error) {
      throw this.#cutOff(error, sftp, 'write', path, temp, handedOver, existing !== undefined);
    } finally {
      if (!handedOver) await this.#discard(sftp, temp);
    }
  }

  async #makeDirs(sftp: SFTPWrapper, directory: string): Promise<void> {
    const missing: string[] = [];
    for (let current = directory; current !== '/' && current !== '.'; current = posix.dirname(current)) {
      const exists = await call<SftpStats>(sftp, (cb) => sftp.stat(current, cb)).then(
        (stats) => {
          if ((stats.mode & S_IFMT) !== S_IFDIR) throw notAFile(current, stats.mode);
          return true;
        },
        (error: unknown) => {
          if (isSftpStatus(error, 2)) return false;
          throw toSftpFileError(error, 'create directory', current);
        },
      );
      if (exists) break;
      missing.unshift(current);
    }
    for (const dir of missing) {
      await call<void>(sftp, (cb) => sftp.mkdir(dir, cb)).catch((error: unknown) => {
        throw toSftpFileError(error, 'create directory', dir);
      });
    }
  }

  async #readWithSudo(path: string, maxBytes: number, decoding: Decoding, password: string | undefined): Promise<ReadFileResult> {
    // One exec, no PTY: the first line is "<size> <type>", then the bytes themselves.
    const script = 'export LC_ALL=C; if [ ! -f "$1" ]; then [ -e "$1" ] && echo "not a regular file" >&2 || echo "No such file" >&2; exit 3; fi; stat -L -c "%s regular" -- "$1" && head -c "$2" -- "$1"';
    const result = await this.#sudo(`sh -c ${quote(script)} sh ${quote(path)} ${maxBytes + 1}`, password, path, 'read');
    const newline = result.stdoutBytes.indexOf(0x0a);
    const header = result.stdoutBytes.subarray(0, newline).toString('utf8');
    const [sizeText, ...typeWords] = header.split(' ');
    const type = typeWords.join(' ');
    if (!/regular/.test(type)) {
      throw new SftpFileError('NOT_A_FILE', `read ${path}: not a regular file (${type})`, { details: { path, type } });
    }
    const bytes = result.stdoutBytes.subarray(newline + 1);
    return decoded(path, bytes.subarray(0, maxBytes), decoding, Number(sizeText), bytes.length > maxBytes, true);
  }

  async #writeWithSudo(path: string, bytes: Buffer, options: WriteFileOptions, mode: number | undefined): Promise<WriteFileResult> {
    const sftp = await this.#session();
    // Stage the content in a private file of ours (0600, through SFTP: never a giant shell line),
    // then let root install it: a temp file next to the target, mode and owner copied from the
    // existing file, one rename (`mv`) over it.
    const staged = `/tmp/.ssh-sftp-files-${randomBytes(9).toString('hex')}`;
    // Once sudo runs, a lost connection does not stop it: it installs the new file or nothing.
    let installing = false;
    try {
      this.#journal?.begin(this.#connection.key, staged);
      await writeStream(sftp, staged, bytes, { flags: 'wx', mode: 0o600 }, options.onProgress);
      installing = true;
      const script = [
        'set -e',
        'export LC_ALL=C',
        'src=$1; dst=$2; mode=$3; append=$4; mkdirs=$5',
        // Only our own staged file: a regular file (not a link) owned by the user who ran sudo.
        'if [ ! -f "$src" ] || [ -L "$src" ] || [ "$(stat -c %u -- "$src")" != "${SUDO_UID:-x}" ]; then echo "staged file is not ours" >&2; exit 4; fi',
        // Write through a symlink to its target, as an editor would, instead of replacing the link.
        'if [ -L "$dst" ]; then dst=$(readlink -f -- "$dst"); fi',
        'dir=$(dirname -- "$dst")',
        'if [ "$mkdirs" = 1 ]; then mkdir -p -- "$dir"; fi',
        // Like sudoedit: root does not write into a directory another user can change under it
        // (a planted symlink would redirect root's writes); sticky directories such as /tmp are safe.
        'dmode=$(stat -L -c %a -- "$dir"); downer=$(stat -L -c %u -- "$dir")',
        'if [ "$downer" != 0 ] || { [ $(( 0$dmode & 022 )) -ne 0 ] && [ $(( 0$dmode & 01000 )) -eq 0 ]; }; then echo "unsafe: $dir is writable by a user other than root; not writing there as root" >&2; exit 5; fi',
        'created=0; [ -e "$dst" ] || created=1',
        'if [ -e "$dst" ] && [ ! -f "$dst" ]; then echo "not a regular file" >&2; exit 3; fi',
        'if [ "$append" = 1 ]; then cat -- "$src" >> "$dst"; [ -z "$mode" ] || chmod "$mode" -- "$dst"; echo "$created $(stat -c %a -- "$dst")"; exit 0; fi',
        'tmp=$(mktemp "$dir/.sftp-files.XXXXXX")',
        'trap \'rm -f -- "$tmp"\' EXIT',
        'cat -- "$src" > "$tmp"',
        // Owner first: chown clears setuid/setgid bits that a chmod before it would have set.
        'if [ "$created" = 0 ]; then chown "$(stat -c %u:%g -- "$dst")" -- "$tmp"; chmod "$(stat -c %a -- "$dst")" -- "$tmp"; else chmod 644 -- "$tmp"; fi',
        '[ -z "$mode" ] || chmod "$mode" -- "$tmp"',
        'mv -f -- "$tmp" "$dst"',
        'echo "$created $(stat -c %a -- "$dst")"',
      ].join('\n');
      const args = [staged, path, mode === undefined ? '' : mode.toString(8), options.append ? '1' : '0', options.makeDirs ? '1' : '0'];
      const result = await this.#sudo(`sh -c ${quote(script)} sh ${args.map(quote).join(' ')}`, options.sudoPassword, path, 'write');
      const [created, octal] = result.stdout.trim().split(' ');
      return {
        path,
        bytesWritten: bytes.length,
        atomic: !options.append,
        notice: options.append ? 'appended in place (an append is not atomic)' : undefined,
        viaSudo: true,
        created: created === '1',
        mode: Number.parseInt(octal ?? '0', 8),
      };
    } catch (error) {
      throw lostDuring(error, 'write (sudo)', path, !installing ? 'unchanged' : options.append ? 'maybe-appended' : 'unknown', staged);
    } finally {
      await this.#discard(sftp, staged);
    }
  }

  /** Runs `command` as root through sudo on an exec channel: password on stdin (`-S`), never in argv. */
  async #sudo(command: string, password: string | undefined, path: string, operation: string) {
    const secret = password ?? this.#sudoPassword;
    this.#redactor.add(secret);
    // Without a password: -n fails at once instead of waiting for one.
    const prefix = secret === undefined ? 'sudo -n -- ' : "sudo -S -p '' -- ";
    const result = await this.#connection.exec(prefix + command, secret === undefined ? {} : { stdin: `${secret}\n` });
    if (result.exitCode !== 0) {
      const reason = this.#redactor.redact(result.stderr.trim().split('\n').slice(-3).join(' ')) || `exit status ${result.exitCode}`;
      const code = /not a regular file/.test(reason) ? 'NOT_A_FILE' : /No such file/.test(reason) ? 'NOT_FOUND' : 'SUDO_FALLBACK_FAILED';
      const hint = /password is required|incorrect password|Sorry, try again/i.test(reason)
        ? ' (sudo needs a password: pass sudo_password, or allow NOPASSWD)'
        : '';
      throw new SftpFileError(code, `${operation} ${path} through sudo failed: ${reason}${hint}`, { details: { path, exitCode: result.exitCode } });
    }
    return result;
  }
}

interface SftpStats {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
}

/** `promise` settled, or `ms` passed. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const finish = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(finish, finish);
  });
}

/** Ends `sftp` and waits for the host to close it (at most 5 s). */
function ended(sftp: SFTPWrapper): Promise<void> {
  return new Promise<void>((resolve) => {
    if (isClosed(sftp)) return resolve();
    const timer = setTimeout(resolve, 5_000);
    timer.unref();
    sftp.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sftp.end();
  });
}

/** Calls an ssh2 SFTP method as a promise that also rejects when the SFTP session closes (a lost connection). */
function call<T>(sftp: SFTPWrapper, start: (callback: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // A request on a closed session would never be answered.
    if (isClosed(sftp)) {
      reject(lostError());
      return;
    }
    const onClose = (): void => reject(lostError());
    sftp.once('close', onClose);
    try {
      start((error, value) => {
        sftp.removeListener('close', onClose);
        // ssh2 answers the requests still pending when the session ends with 'No response from server'.
        if (error) reject(isNoResponse(error) ? lostError() : error);
        else resolve(value);
      });
    } catch (error) {
      // ssh2 throws synchronously for an extension the server lacks.
      sftp.removeListener('close', onClose);
      reject(error);
    }
  });
}

const closedSessions = new WeakSet<SFTPWrapper>();
const trackedSessions = new WeakSet<SFTPWrapper>();

function isClosed(sftp: SFTPWrapper): boolean {
  if (!trackedSessions.has(sftp)) {
    trackedSessions.add(sftp);
    sftp.once('close', () => closedSessions.add(sftp));
  }
  return closedSessions.has(sftp);
}

/** A private name next to `path` (same directory, so a rename over `path` stays on one filesystem). */
function tempPathFor(path: string): string {
  return posix.join(posix.dirname(path), `.${posix.basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Moves a complete temp file over `path`: one `posix-rename@openssh.com` where the server has it
 * (atomic: returns true), else remove the old file and rename (SFTP v3 rename does not replace).
 * The temp file is removed if the move fails — except once the old file is gone, when it is the
 * only copy and is kept (the error names it).
 */
async function moveIntoPlace(sftp: SFTPWrapper, temp: string, path: string, existed: boolean, operation: string): Promise<boolean> {
  try {
    if (hasPosixRename(sftp)) {
      await call<void>(sftp, (cb) => sftp.ext_openssh_rename(temp, path, cb));
      return true;
    }
    if (existed) await call<void>(sftp, (cb) => sftp.unlink(path, cb));
  } catch (error) {
    await call<void>(sftp, (cb) => sftp.unlink(temp, cb)).catch(() => undefined);
    throw error;
  }
  await call<void>(sftp, (cb) => sftp.rename(temp, path, cb)).catch(async (error: unknown) => {
    if (!existed) await call<void>(sftp, (cb) => sftp.unlink(temp, cb)).catch(() => undefined);
    // A lost connection stays CONNECTION_CLOSED (passed on as it is): the caller says what is known of the target.
    throw toSftpFileError(error, existed ? `${operation} (the new content is kept in ${temp}) to` : operation, path);
  });
  return false;
}

/** Whether the server announced `posix-rename@openssh.com` (ssh2 keeps the announced extensions). */
function hasPosixRename(sftp: SFTPWrapper): boolean {
  const extensions = (sftp as unknown as { _extensions?: Record<string, unknown> })._extensions;
  return extensions?.['posix-rename@openssh.com'] !== undefined;
}

/**
 * `CONNECTION_CLOSED` for ssh2's own error of a request the session's end cut short (it may come
 * before 'close' is seen); any other error as it is.
 */
function asLost(error: unknown, sftp: SFTPWrapper): unknown {
  return !isSshError(error) && (isClosed(sftp) || isNoResponse(error)) ? lostError() : error;
}

/** ssh2's answer to a request the SFTP session's end left unanswered. */
function isNoResponse(error: unknown): boolean {
  return error instanceof Error && !isSshError(error) && error.message === 'No response from server';
}

function lostError(): SshSessionError {
  return new SshSessionError('CONNECTION_CLOSED', 'the SFTP session closed (connection lost) before the operation finished; it was not retried');
}

/** Reads up to `maxBytes + 1` bytes (one more tells that the file goes on). */
async function readBounded(sftp: SFTPWrapper, path: string, maxBytes: number): Promise<Buffer> {
  const handle = await call<Buffer>(sftp, (cb) => sftp.open(path, 'r', cb)).catch((error: unknown) => {
    throw toSftpFileError(error, 'read', path);
  });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    while (total <= maxBytes) {
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buffer = Buffer.alloc(want);
      const read = await new Promise<number>((resolve, reject) => {
        const onClose = (): void => reject(lostError());
        sftp.once('close', onClose);
        sftp.read(handle, buffer, 0, want, total, (error, bytesRead) => {
          sftp.removeListener('close', onClose);
          // End of file is reported as an error with SSH_FX_EOF (1).
          if (error) return isSftpStatus(error, 1) ? resolve(0) : reject(toSftpFileError(asLost(error, sftp), 'read', path));
          resolve(bytesRead);
        });
      });
      if (read === 0) break;
      chunks.push(buffer.subarray(0, read));
      total += read;
    }
  } finally {
    await call<void>(sftp, (cb) => sftp.close(handle, cb)).catch(() => undefined);
  }
  return Buffer.concat(chunks);
}

/** Streams `bytes` into a remote file with backpressure, reporting progress. */
async function writeStream(
  sftp: SFTPWrapper,
  path: string,
  bytes: Buffer,
  options: { readonly flags: 'w' | 'wx' | 'a'; readonly mode: number },
  onProgress: ((progress: TransferProgress) => void) | undefined,
): Promise<void> {
  let written = 0;
  const source = Readable.from(
    (function* chunks() {
      for (let offset = 0; offset < bytes.length; offset += CHUNK) {
        const chunk = bytes.subarray(offset, offset + CHUNK);
        written += chunk.length;
        onProgress?.({ bytes: written, totalBytes: bytes.length });
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
  const target = sftp.createWriteStream(path, { flags: options.flags, mode: options.mode });
  // ssh2's stream never settles when the session dies under it (its destroy waits for a close
  // the dead session cannot answer): the session's close fails the write instead.
  let onClose: (() => void) | undefined;
  const lost = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(lostError());
    if (isClosed(sftp)) onClose();
    else sftp.once('close', onClose);
  });
  const piped = pipeline(source, target as unknown as Writable);
  piped.catch(() => undefined);
  try {
    await Promise.race([piped, lost]);
  } finally {
    if (onClose) sftp.removeListener('close', onClose);
  }
}

/** How a read turns bytes into `content`. */
interface Decoding {
  readonly encoding: ContentEncoding;
  /** Given: decode as text whatever the bytes are (Python's `errors`); absent: binary → base64. */
  readonly errors: EncodingErrors | undefined;
}

function decoded(path: string, bytes: Buffer, decoding: Decoding, size: number, truncated: boolean, viaSudo: boolean): ReadFileResult {
  const { encoding, errors } = decoding;
  const facts = { path, bytesRead: bytes.length, size, truncated, viaSudo };
  if (errors !== undefined && encoding !== 'base64' && encoding !== 'hex') {
    // A character cut by the truncation is left out, not counted as invalid.
    const text = decodeText(bytes, encoding, errors, { stream: truncated, what: `read ${path}` });
    return { ...facts, content: text.text, encoding, binary: false, decodeErrors: text.invalid };
  }
  // UTF-8 text has no NUL and decodes; other text encodings accept any byte but NUL.
  const binary = encoding === 'utf-8' || encoding === 'utf8' ? isBinary(bytes, truncated) : encoding !== 'utf16le' && bytes.includes(0);
  const asText = encoding !== 'base64' && encoding !== 'hex' && !binary;
  const used: ContentEncoding = asText || encoding === 'hex' ? encoding : 'base64';
  return { ...facts, content: bytes.toString(toBufferEncoding(used)), encoding: used, binary, decodeErrors: 0 };
}

/** NUL bytes or invalid UTF-8 (a multi-byte character cut by truncation does not count). */
function isBinary(bytes: Buffer, truncated: boolean): boolean {
  if (bytes.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: truncated });
    return false;
  } catch {
    return true;
  }
}

function toBufferEncoding(encoding: ContentEncoding): BufferEncoding {
  return encoding === 'utf-8' ? 'utf8' : encoding;
}

function fileInfo(name: string, path: string, stats: SftpStats, names?: { readonly owner: string; readonly group: string }): FileInfo {
  const kind = stats.mode & S_IFMT;
  const uid = Number.isInteger(stats.uid) ? stats.uid : null;
  const gid = Number.isInteger(stats.gid) ? stats.gid : null;
  return {
    name,
    path,
    type: kind === S_IFREG ? 'file' : kind === S_IFDIR ? 'directory' : kind === S_IFLNK ? 'symlink' : 'other',
    size: stats.size,
    mode: stats.mode & 0o7777,
    // Servers may leave attributes out: null, never a made-up owner or 1970.
    uid,
    gid,
    owner: names?.owner ?? (uid === null ? null : String(uid)),
    group: names?.group ?? (gid === null ? null : String(gid)),
    modifiedAt: Number.isFinite(stats.mtime) ? new Date(stats.mtime * 1000).toISOString() : null,
  };
}

function isRegularFile(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}

function notAFile(path: string, mode: number): SftpFileError {
  const kind = (mode & S_IFMT) === S_IFDIR ? 'a directory' : 'not a regular file';
  return new SftpFileError('NOT_A_FILE', `${path} is ${kind}`, { details: { path } });
}

function isSftpStatus(error: unknown, status: number): boolean {
  return (error as { code?: unknown } | null)?.code === status;
}

function isCode(error: unknown, code: string): boolean {
  return isSshError(error) && error.code === code;
}

function checkSize(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

/** `0o600`, `'600'`, `'0644'`, `'0o755'` → permission bits. */
export function parseMode(permissions: number | string): number {
  const mode = typeof permissions === 'number' ? permissions : /^(?:0o?)?[0-7]{1,4}$/.test(permissions) ? Number.parseInt(permissions.replace(/^0o/, ''), 8) : NaN;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new RangeError(`permissions must be octal mode bits such as 644 or 0o600, got ${String(permissions)}`);
  return mode;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
