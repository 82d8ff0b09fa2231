import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { JobInfo } from 'ssh-async-jobs';

interface Recording {
  readonly fd: number;
  readonly file: string;
  /** ms since the epoch when the recording began: event times are seconds from here. */
  readonly startedAt: number;
}

/**
 * Session recordings (`--record-dir`): one asciicast v2 file per session (`<time>_<user@host_port>.cast`,
 * 0600), playable with `asciinema play` or asciinema-player. For each command: a marker naming its
 * job id, the command as typed after a `$ ` prompt, its output as it arrived, input typed into it,
 * and a marker with how it ended. Input sent as a secret is only a marker; secrets the server
 * knows are redacted from everything (the job manager does it before the recorder sees it).
 * What a full-screen program draws goes to the terminal emulator, not to the output, so the
 * recording shows its start and end but not its screens.
 */
export class SessionRecorder {
  readonly dir: string;
  readonly #recordings = new Map<string, Recording>();
  readonly #size: { readonly cols: number; readonly rows: number };

  /** @throws Error when `dir` cannot be made, or is not a directory (a symlink is refused). */
  constructor(dir: string, size: { readonly cols: number; readonly rows: number } = { cols: 200, rows: 50 }) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const info = lstatSync(dir);
      if (!info.isDirectory()) throw new Error('not a directory');
      // Recordings hold whole sessions: the directory is ours alone (another user could delete
      // them or take their names).
      const uid = process.getuid?.();
      if (uid !== undefined && info.uid !== uid) throw new Error(`owned by uid ${info.uid}, not by this server's user`);
      if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    } catch (error) {
      throw new Error(`cannot use the recording directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    this.dir = dir;
    this.#size = size;
  }

  /** The recording file of a session (its name in {@link dir}) and the current time in it, once it has one. */
  where(sessionKey: string): { readonly file: string; readonly time: number } | undefined {
    const recording = this.#recordings.get(sessionKey);
    return recording ? { file: recording.file, time: seconds(recording) } : undefined;
  }

  start(job: JobInfo): void {
    const recording = this.#open(job.sessionKey);
    if (!recording) return;
    this.#event(recording, 'm', `job ${job.id}`);
    this.#event(recording, 'o', `\u001b[1m$ ${job.command.replace(/\r?\n/g, '\r\n> ')}\u001b[0m\r\n`);
  }

  output(job: { readonly sessionKey: string }, text: string): void {
    const recording = this.#recordings.get(job.sessionKey);
    if (recording) this.#event(recording, 'o', text.replace(/\r?\n/g, '\r\n'));
  }

  /** Typed input; `text` undefined: sent as a secret, recorded as a marker only. */
  input(job: JobInfo, text: string | undefined): void {
    const recording = this.#recordings.get(job.sessionKey);
    if (!recording) return;
    if (text === undefined) this.#event(recording, 'm', `secret input to job ${job.id}`);
    else this.#event(recording, 'i', text);
  }

  end(job: JobInfo): void {
    const recording = this.#recordings.get(job.sessionKey);
    if (!recording) return;
    this.#event(recording, 'm', `job ${job.id} ${job.state}${job.exitCode === null ? '' : `, exit ${job.exitCode}`}${job.error ? ` (${job.error.code})` : ''}`);
  }

  close(): void {
    for (const recording of this.#recordings.values()) closeSync(recording.fd);
    this.#recordings.clear();
  }

  #open(sessionKey: string): Recording | undefined {
    const existing = this.#recordings.get(sessionKey);
    if (existing) return existing;
    const startedAt = Date.now();
    const file = `${new Date(startedAt).toISOString().replace(/:/g, '-')}_${sessionKey.replace(/[^\w.@-]+/g, '_')}.cast`;
    let fd: number;
    try {
      fd = openSync(join(this.dir, file), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch {
      return undefined;
    }
    const recording = { fd, file, startedAt };
    const header = { version: 2, width: this.#size.cols, height: this.#size.rows, timestamp: Math.floor(startedAt / 1000), title: sessionKey, env: { TERM: 'xterm-256color' } };
    this.#write(recording, `${JSON.stringify(header)}\n`);
    this.#recordings.set(sessionKey, recording);
    return recording;
  }

  #event(recording: Recording, code: 'o' | 'i' | 'm', data: string): void {
    if (data.length === 0) return;
    this.#write(recording, `${JSON.stringify([seconds(recording), code, data])}\n`);
  }

  #write(recording: Recording, line: string): void {
    try {
      writeSync(recording.fd, line);
    } catch {
      // A full disk must not stop the server.
    }
  }
}

function seconds(recording: Recording): number {
  return Math.round(Date.now() - recording.startedAt) / 1000;
}
