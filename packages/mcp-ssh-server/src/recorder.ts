import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { JobInfo } from 'ssh-async-jobs';
import { privateDir } from './private-dir';

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
 * recording shows its start and end but not its screens. Configuration changes on devices are
 * recorded line by line ({@link change}).
 */
export class SessionRecorder {
  readonly dir: string;
  readonly #recordings = new Map<string, Recording>();
  readonly #size: { readonly cols: number; readonly rows: number };

  /** @throws Error when `dir` cannot be made, or is not a directory (a symlink is refused). */
  constructor(dir: string, size: { readonly cols: number; readonly rows: number } = { cols: 200, rows: 50 }) {
    // Recordings hold whole sessions: the directory is ours alone.
    privateDir(dir, 'recording directory');
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

  /**
   * A configuration change (send_config, confirm_commit), which runs outside the job manager: a
   * marker naming it, each line as typed after the device's prompt with its output, and a marker
   * with the outcome. The caller redacts.
   */
  change(sessionKey: string, title: string, exchanges: readonly { readonly prompt: string; readonly command: string; readonly output: string }[], outcome: string): void {
    const recording = this.#open(sessionKey);
    if (!recording) return;
    this.#event(recording, 'm', title);
    for (const { prompt, command, output } of exchanges) {
      // The prompt's last line: Junos and VyOS show an `[edit]` line above theirs.
      this.#event(recording, 'o', `\u001b[1m${prompt.split('\n').at(-1)?.trimEnd() ?? ''} ${command}\u001b[0m\r\n`);
      this.#event(recording, 'o', output.replace(/\r?\n/g, '\r\n'));
    }
    this.#event(recording, 'm', outcome);
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
