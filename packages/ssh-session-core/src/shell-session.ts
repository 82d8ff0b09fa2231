import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { SshChannel, SshConnection } from './connection';
import { SshSessionError } from './errors';
import { cleanTerminalOutput, OutputWindow, type OutputSnapshot } from './output';

export interface ShellSessionOptions {
  /** Wait for the shell's first marker. Default 15000. */
  readonly startupTimeoutMs?: number;
  /** Output kept per command: head and rolling tail, in characters. Default 2 Mi each (3 MB of output stays whole). */
  readonly outputLimits?: { readonly headChars: number; readonly tailChars: number };
  readonly cols?: number;
  readonly rows?: number;
  /**
   * Answers sudo's password prompt, at most once per command: a second prompt means the password
   * is wrong (`SUDO_AUTH_FAILED`; retries count towards PAM lockout). Without it, a sudo prompt
   * fails the command at once instead of waiting forever. Never echoed, never in output.
   */
  readonly sudoPassword?: string;
}

export interface ShellRunOptions {
  /** Reject with `READ_TIMEOUT` after this long; the command keeps running (see {@link ShellCommand}). */
  readonly timeoutMs?: number;
  /** Aborting interrupts the command (Ctrl+C, escalating). */
  readonly signal?: AbortSignal;
}

/** A finished command. */
export interface ShellResult {
  /** Exactly what the command printed: no echo, no prompt, no marker, `\n` line ends, no ANSI. */
  readonly output: string;
  readonly exitCode: number;
  readonly totalChars: number;
  /** Characters dropped between the kept head and tail (0 when complete). */
  readonly droppedChars: number;
  readonly durationMs: number;
}

/** A command running in the shell. */
export interface ShellCommand {
  readonly command: string;
  /** Settles when the shell is back at its prompt (or rejects with `SHELL_EXITED`, `CONNECTION_CLOSED`). */
  readonly done: Promise<ShellResult>;
  /** Output so far (cleaned), bounded like the result. */
  snapshot(): OutputSnapshot;
  /**
   * Types `text` into this command (a program waiting for input). Held until the command starts
   * if it is still queued. Returns false once the command has finished.
   */
  write(text: string): boolean;
}

/** A whole escape sequence at the start: CSI, OSC (ended by BEL or ST), or a two-character one. */
const COMPLETE_ESCAPE = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[^[\]])/;

/** Login shells driven directly; any other runs `bash -i || sh -i`. */
const POSIX_SHELLS: ReadonlySet<string> = new Set(['bash', 'sh', 'dash', 'zsh', 'ash', 'busybox', 'ksh', 'mksh', 'yash', 'posh']);

/** What runs in a {@link ShellSession}. */
export interface ShellInfo {
  /** The user's login shell (`$SHELL`). */
  readonly loginShell: string;
  /** Set when the login shell could not be driven and bash or sh was started instead. */
  readonly notice: string | undefined;
}

const DEFAULTS = Object.freeze({
  startupTimeoutMs: 15_000,
  outputLimits: { headChars: 2_097_152, tailChars: 2_097_152 },
});

/** Raw characters held back from a command's output until we know they are not part of the marker. */
const HOLD_BACK_CHARS = 128;

/** Internal: lets run() tell a queued command from a running one, and drop it from the queue. */
interface QueuedControl {
  readonly state: 'queued' | 'running' | 'finished';
  cancel(error: SshSessionError): boolean;
}

interface Running {
  /** Printed back in the marker: a marker with another id (a stray Ctrl+C at the prompt) is not ours. */
  readonly id: number;
  /** Until the shell prints this command's start line, what arrives is not its output. */
  started: boolean;
  readonly command: string;
  readonly window: OutputWindow;
  readonly startedAt: number;
  pending: string;
  sudoAnswered: boolean;
  /** After answering sudo, the newline sudo prints is not the command's output. */
  skipNewline: boolean;
  failure: SshSessionError | undefined;
  resolve(result: ShellResult): void;
  reject(error: unknown): void;
}

/**
 * One persistent POSIX shell on a PTY (bash, dash/sh, busybox ash, zsh in sh mode). Completion
 * comes from a marker the shell itself prints whenever it returns to its prompt — PS1 carrying a
 * per-session nonce and `$?` — never from idle time and never from a line typed after the command,
 * so a command reading stdin cannot eat it. Echo is off, so output is exactly what the command
 * printed. Commands run one at a time.
 */
export class ShellSession {
  readonly #channel: SshChannel;
  readonly #connection: SshConnection;
  readonly #marker: RegExp;
  readonly #nonce: string;
  readonly #sudoPrompt: RegExp;
  readonly #sudoPassword: string | undefined;
  readonly #limits: { readonly headChars: number; readonly tailChars: number };
  readonly #decoder = new StringDecoder('utf8');
  #buffer = '';
  #running: Running | undefined;
  #startup: { resolve(): void; reject(error: unknown): void } | undefined;
  #closed: SshSessionError | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #info: ShellInfo = { loginShell: '', notice: undefined };

  private constructor(
    connection: SshConnection,
    channel: SshChannel,
    nonce: string,
    limits: { headChars: number; tailChars: number },
    sudoPassword: string | undefined,
  ) {
    this.#connection = connection;
    this.#nonce = nonce;
    this.#sudoPassword = sudoPassword;
    // Our fixed prompt (the `sudo` function below passes it with -p), or sudo's own as a fallback.
    this.#sudoPrompt = new RegExp(`(?:__SUDO_${nonce}__: |\\[sudo\\] password for [^\\r\\n:]{1,64}: )$`);
    this.#channel = channel;
    this.#limits = limits;
    // On every prompt the shell prints "\n__END_<nonce>_<status>__\n", then its prompt, which ends
    // with "__PS_<nonce>__". Whatever a venv or a script prepends to PS1 lands between the two and
    // is dropped. The echo of our setup line shows `$?`/`%s` where this wants digits: no match.
    this.#marker = new RegExp(`\\r?\\n__END_${nonce}_(\\d+)_(\\d+)__\\r?\\n[^]*?__PS_${nonce}__`);
    const stderrDecoder = new StringDecoder('utf8');
    channel.on('data', (data: Buffer) => this.#onData(this.#decoder.write(data)));
    channel.stderr.on('data', (data: Buffer) => this.#onData(stderrDecoder.write(data)));
    channel.once('close', () => this.#onClose());
    // A write racing the channel's end (input typed as the shell exits) must not become an
    // uncaught 'error': the close that follows reports the outcome.
    channel.on('error', () => undefined);
  }

  /**
   * Opens a PTY shell on `connection` and puts it in marker mode.
   *
   * @throws SshSessionError `PROMPT_NOT_FOUND` when the shell never prints the marker (not a POSIX
   *   shell?), `CONNECTION_CLOSED`, `CHANNEL_OPEN_FAILED`.
   */
  static async open(connection: SshConnection, options: ShellSessionOptions = {}): Promise<ShellSession> {
    if (options.sudoPassword !== undefined && /[\0-\x1f\x7f]/.test(options.sudoPassword)) {
      throw new TypeError('sudoPassword must not contain control characters (a newline would be run as a command)');
    }
    // Which login shell? One exec round trip (~2 ms warm). A shell we cannot drive (fish, csh…)
    // runs bash (or sh) for us instead, and the session says so.
    const loginShell = (await connection.exec('printf %s "$SHELL"')).stdout.trim();
    const name = loginShell.split('/').pop() ?? '';
    const pty = { term: 'dumb', cols: options.cols ?? 200, rows: options.rows ?? 50 };
    const isPosix = POSIX_SHELLS.has(name);
    const channel = isPosix
      ? await connection.shellChannel(pty)
      : await connection.execChannel('bash -i || sh -i', { pty });
    const shellInfo: ShellInfo = isPosix
      ? { loginShell, notice: undefined }
      : { loginShell, notice: `login shell ${loginShell || '(unknown)'} is not a POSIX shell; started bash (or sh) instead` };
    const nonce = randomBytes(6).toString('hex');
    const session = new ShellSession(connection, channel, nonce, options.outputLimits ?? DEFAULTS.outputLimits, options.sudoPassword);
    session.#info = shellInfo;
    const timeoutMs = options.startupTimeoutMs ?? DEFAULTS.startupTimeoutMs;
    const ready = new Promise<void>((resolve, reject) => {
      session.#startup = { resolve, reject };
    });
    const timer = setTimeout(() => {
      session.#startup?.reject(
        new SshSessionError(
          'PROMPT_NOT_FOUND',
          `the shell on ${connection.key} did not print its completion marker within ${timeoutMs} ms; ` +
            `is the login shell POSIX (bash, sh, zsh, ash)? Last output: ${JSON.stringify(cleanTerminalOutput(session.#buffer).slice(-200))}`,
        ),
      );
    }, timeoutMs);
    // No echo from here on, no continuation prompt, no PROMPT_COMMAND noise, no history file.
    channel.write(`stty -echo 2>/dev/null; PS2=''; unset PROMPT_COMMAND HISTFILE 2>/dev/null; __mcp_id=0\n`);
    // sudo gets a fixed prompt we can recognise exactly; -k is not forced (cached credentials are fine).
    channel.write(`sudo() { command sudo -p '__SUDO_${nonce}__: ' "$@"; }\n`);
    // The marker carries the shell's status and the id of the command that set `__mcp_id`. bash
    // prints it from PROMPT_COMMAND and zsh from a precmd hook (zsh with its line editor off and
    // the tty frozen, so it does not turn echo back on), both before PS1, so a prefix added to PS1
    // (venv) cannot look like output. dash and ash have no hook: `$?` in a single-quoted PS1
    // spanning lines (hence PS2 empty first); a PS1 prefix there ends up at the end of the output.
    // bash: no history expansion (`!`), no TAB completion while our text is read.
    channel.write(
      `if [ -n "$ZSH_VERSION" ]; then stty -echo; ttyctl -f; unsetopt zle prompt_sp prompt_cr bang_hist; ` +
        `precmd() { printf '\\n__END_${nonce}_%s_%s__\\n' "$?" "$__mcp_id"; }; PS1='__PS_${nonce}__'; ` +
        `elif [ -n "$BASH_VERSION" ]; then set +H; bind 'set disable-completion on' 2>/dev/null; ` +
        `PROMPT_COMMAND='printf "\\n__END_${nonce}_%s_%s__\\n" "$?" "$__mcp_id"'; PS1='__PS_${nonce}__'; ` +
        `else PS1='\n__END_${nonce}_$?_\${__mcp_id}__\n__PS_${nonce}__'; fi\n`,
    );
    try {
      await ready;
    } catch (error) {
      channel.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
      session.#startup = undefined;
    }
    return session;
  }

  /** The login shell, and a notice when another shell had to be started. */
  get info(): ShellInfo {
    return this.#info;
  }

  /** False once the shell exited or its channel closed. */
  get isOpen(): boolean {
    return this.#closed === undefined;
  }

  /** Starts a command now if the shell is idle, else after the commands queued before it. */
  start(command: string): ShellCommand {
    if (typeof command !== 'string' || command.length === 0) throw new TypeError('command must be a non-empty string');
    // The terminal would act on these (signals, line editing) before the shell sees the text.
    if (/[\0-\x08\x0b-\x1f\x7f]/.test(command.replace(/\r\n?/g, '\n'))) {
      throw new TypeError('command must not contain control characters other than tab and newline (use write() for keys)');
    }
    const window = new OutputWindow(this.#limits);
    let state: 'queued' | 'running' | 'finished' = 'queued';
    let cancelled: SshSessionError | undefined;
    const heldInput: string[] = [];
    const id = this.#nextId++;
    const done = new Promise<ShellResult>((resolve, reject) => {
      const begin = (): Promise<unknown> => {
        if (this.#closed || cancelled) {
          state = 'finished';
          reject(cancelled ?? this.#closed);
          return Promise.resolve();
        }
        return new Promise<void>((finished) => {
          this.#running = {
            id,
            started: false,
            command,
            window,
            startedAt: Date.now(),
            pending: '',
            sudoAnswered: false,
            skipNewline: false,
            failure: undefined,
            resolve: (result) => {
              state = 'finished';
              finished();
              resolve(result);
            },
            reject: (error) => {
              state = 'finished';
              finished();
              reject(error);
            },
          };
          this.#buffer = '';
          state = 'running';
          this.#channel.write(toShellInput(command, id, this.#nonce));
          for (const text of heldInput.splice(0)) this.#channel.write(text);
        });
      };
      this.#queue = this.#queue.then(begin, begin);
    });
    const write = (text: string): boolean => {
      if (state === 'finished') return false;
      if (state === 'queued') heldInput.push(text);
      else this.#channel.write(text);
      return true;
    };
    return {
      command,
      done,
      snapshot: () => window.snapshot(),
      write,
      get state() {
        return state;
      },
      cancel: (error: SshSessionError) => {
        if (state !== 'queued') return false;
        cancelled = error;
        return true;
      },
    } as ShellCommand & QueuedControl;
  }

  /**
   * Runs a command and waits for it.
   *
   * @throws SshSessionError `READ_TIMEOUT` (the command keeps running; interrupt it or wait on a
   *   {@link start}ed command), `SHELL_EXITED`, `CONNECTION_CLOSED`, `ABORTED`.
   */
  async run(command: string, options: ShellRunOptions = {}): Promise<ShellResult> {
    const running = this.start(command) as ShellCommand & QueuedControl;
    const waits: Promise<ShellResult>[] = [running.done];
    const busy = (): SshSessionError =>
      new SshSessionError('SESSION_BUSY', 'the command never started: the shell was still busy with an earlier command', {
        details: { command: running.command },
      });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      waits.push(
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => {
            // Still queued: drop it, so nothing runs behind the caller's back.
            if (running.cancel(busy())) {
              reject(busy());
              return;
            }
            const seen = running.snapshot();
            reject(
              new SshSessionError(
                'READ_TIMEOUT',
                `command still running after ${timeoutMs} ms (it keeps running; interrupt it or wait). ` +
                  `Last output: ${JSON.stringify(seen.text.slice(-200))}`,
                { details: { timeoutMs, totalChars: seen.totalChars } },
              ),
            );
          }, timeoutMs);
        }),
      );
    }
    if (options.signal) {
      const signal = options.signal;
      waits.push(
        new Promise((_resolve, reject) => {
          onAbort = () => {
            const error = new SshSessionError('ABORTED', 'command aborted', { cause: signal.reason });
            // Queued: it never starts. Running: interrupt it — and only it.
            if (!running.cancel(error) && running.state === 'running') void this.interrupt();
            reject(error);
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      );
    }
    try {
      return await Promise.race(waits);
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Sends Ctrl+C to the running command and resolves once the shell is back at its prompt.
   * Escalates: a second Ctrl+C after `graceMs`; if the shell is still not back, the channel is
   * closed and `false` is returned (the session's state is lost; open a new one).
   */
  async interrupt(graceMs = 1_000): Promise<boolean> {
    const running = this.#running;
    if (!running) return true;
    const back = new Promise<boolean>((resolve) => {
      const settle = (): void => resolve(true);
      const original = { resolve: running.resolve, reject: running.reject };
      running.resolve = (result) => {
        original.resolve(result);
        settle();
      };
      running.reject = (error) => {
        original.reject(error);
        settle();
      };
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      this.#channel.write('\x03');
      const timer = new Promise<false>((resolve) => setTimeout(resolve, graceMs, false).unref());
      if (await Promise.race([back, timer])) return true;
    }
    this.#fail(new SshSessionError('SHELL_EXITED', 'the command ignored Ctrl+C twice; the shell was closed and its state is lost'));
    this.#channel.destroy();
    return false;
  }

  /** Closes the shell channel; the running and queued commands fail with `SHELL_EXITED`. */
  close(): void {
    this.#fail(new SshSessionError('SHELL_EXITED', 'the shell session was closed'));
    this.#channel.end('exit\n');
    this.#channel.destroy();
  }

  #onData(text: string): void {
    if (text.length === 0) return;
    this.#buffer += text;
    let match = this.#marker.exec(this.#buffer);
    if (this.#startup) {
      if (match) {
        this.#buffer = this.#buffer.slice(match.index + match[0].length);
        this.#startup.resolve();
      } else if (this.#buffer.length > 65_536) {
        this.#buffer = this.#buffer.slice(-65_536);
      }
      return;
    }
    // Before this command's start line, everything belongs to something else (output of input
    // nobody read, a marker from a Ctrl+C at the idle prompt): drop it.
    if (this.#running && !this.#running.started) {
      const begin = `__BEGIN_${this.#nonce}_${this.#running.id}__`;
      const at = this.#buffer.indexOf(begin);
      if (at < 0) {
        this.#buffer = this.#buffer.slice(-(begin.length + 2));
        return;
      }
      this.#running.started = true;
      this.#buffer = this.#buffer.slice(at + begin.length).replace(/^\r?\n/, '');
      match = this.#marker.exec(this.#buffer);
    }
    // A marker for another command (a stray one after the start line): drop it and what preceded it.
    while (match && this.#running && Number(match[2]) !== this.#running.id) {
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      match = this.#marker.exec(this.#buffer);
    }
    const running = this.#running;
    if (!running) {
      // Output between commands (a background job's line): nobody asked for it.
      this.#buffer = this.#buffer.slice(-HOLD_BACK_CHARS);
      return;
    }
    if (!match) {
      if (this.#sudoPrompt.test(this.#buffer)) {
        this.#buffer = this.#buffer.replace(this.#sudoPrompt, '');
        this.#answerSudo(running);
      }
      // Flush everything but a tail that could still become the marker or a sudo prompt.
      const hold = Math.min(this.#markerPrefixStart(this.#buffer), this.#sudoPrefixStart(this.#buffer));
      if (hold > 0) {
        this.#emit(running, this.#buffer.slice(0, hold), false);
        this.#buffer = this.#buffer.slice(hold);
      }
      return;
    }
    this.#emit(running, this.#buffer.slice(0, match.index), true);
    if (running.failure) {
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#running = undefined;
      running.reject(running.failure);
      return;
    }
    this.#buffer = this.#buffer.slice(match.index + match[0].length);
    this.#running = undefined;
    const snapshot = running.window.snapshot();
    running.resolve({
      output: snapshot.text,
      exitCode: Number(match[1]),
      totalChars: snapshot.totalChars,
      droppedChars: snapshot.droppedChars,
      durationMs: Date.now() - running.startedAt,
    });
  }

  /** Index where a suffix of `buffer` that could be the start of the marker begins (length if none). */
  #markerPrefixStart(buffer: string): number {
    const literal = `__END_${this.#nonce}_`;
    // After the literal: status, "_", id, "__", a newline, then the prompt up to "__PS_<nonce>__".
    const after = /^\d*(?:_\d*(?:_(?:_(?:\r?(?:\n[^]*)?)?)?)?)?$/;
    // No slicing per newline: output chunks hold thousands of lines.
    for (let i = indexOfNewline(buffer, 0); i >= 0; i = indexOfNewline(buffer, i + 1)) {
      let pos = i;
      if (buffer[pos] === '\r') pos++;
      if (buffer[pos] === '\n') pos++;
      if (buffer.length - pos <= literal.length) {
        if (literal.startsWith(buffer.slice(pos))) return i;
        continue;
      }
      if (buffer.startsWith(literal, pos) && after.test(buffer.slice(pos + literal.length))) return i;
    }
    return buffer.length;
  }

  /** Index where an ending of `buffer` that could grow into a sudo prompt begins (length if none). */
  #sudoPrefixStart(buffer: string): number {
    const own = `__SUDO_${this.#nonce}__: `;
    const fallback = '[sudo] password for ';
    for (const literal of [own, fallback]) {
      for (let length = Math.min(literal.length, buffer.length); length > 0; length--) {
        if (buffer.endsWith(literal.slice(0, length))) return buffer.length - length;
      }
    }
    // "[sudo] password for <user>" without its ": " yet.
    const partialUser = /\[sudo\] password for [^\r\n:]{0,64}:?$/.exec(buffer);
    return partialUser ? partialUser.index : buffer.length;
  }

  #answerSudo(running: Running): void {
    if (this.#sudoPassword === undefined || running.sudoAnswered) {
      running.failure = new SshSessionError(
        'SUDO_AUTH_FAILED',
        this.#sudoPassword === undefined
          ? 'sudo asked for a password and none was given (pass sudo_password, or allow NOPASSWD)'
          : 'sudo asked again: the sudo password is wrong (not retried: failures count towards lockout)',
      );
      // Ctrl+C ends sudo; the shell returns to its prompt and the command fails with the code above.
      this.#channel.write('\x03');
      return;
    }
    running.sudoAnswered = true;
    running.skipNewline = true;
    this.#channel.write(`${this.#sudoPassword}\n`);
  }

  /**
   * Types `text` into the running command (a program waiting for input). Nothing is written when
   * no command runs.
   *
   * @returns whether a command was running to receive it.
   */
  write(text: string): boolean {
    if (!this.#running) return false;
    this.#channel.write(text);
    return true;
  }

  /** Cleans raw text into the command's window; a trailing `\r` waits for a possible `\n`. */
  #emit(running: Running, raw: string, final: boolean): void {
    let text = running.pending + raw;
    running.pending = '';
    if (running.skipNewline && text.length > 0) {
      running.skipNewline = false;
      text = text.replace(/^\r?\n/, '');
    }
    if (!final) {
      // An escape sequence cut by a chunk boundary is kept until its end arrives, so that
      // stripping removes it whole; so is a trailing \r that may be half of \r\n.
      const esc = text.lastIndexOf('\x1b');
      if (esc >= 0 && text.length - esc < 256 && !COMPLETE_ESCAPE.test(text.slice(esc))) {
        running.pending = text.slice(esc);
        text = text.slice(0, esc);
      } else if (text.endsWith('\r')) {
        running.pending = '\r';
        text = text.slice(0, -1);
      }
    }
    if (text.length > 0) running.window.append(cleanTerminalOutput(text));
  }

  #fail(error: SshSessionError): void {
    this.#closed ??= error;
    const running = this.#running;
    this.#running = undefined;
    running?.reject(error);
  }

  #onClose(): void {
    this.#startup?.reject(new SshSessionError('CONNECTION_CLOSED', 'the shell channel closed before it was ready'));
    // ssh2 closes channels just before the connection reports its own close: look at the link.
    queueMicrotask(() => this.#afterClose());
  }

  #afterClose(): void {
    if (!this.#connection.isOpen || this.#connection.closedError) {
      this.#fail(
        this.#connection.closedError ??
          new SshSessionError('CONNECTION_CLOSED', `connection to ${this.#connection.key} closed; the command was not re-run`),
      );
      return;
    }
    this.#fail(
      new SshSessionError(
        'SHELL_EXITED',
        'the shell exited (a command ran `exit`, or the connection closed); open a new shell session — state such as the directory is lost',
      ),
    );
  }
}

/**
 * The line(s) to type for `command`: always `__mcp_id=<id>; printf <start line>; eval '<command>'`. Typed raw, a
 * multi-line command would make the shell print its marker after each line; a trailing `\`, an
 * unbalanced quote or `!` would leave it waiting for more input. Inside eval a syntax error is
 * just exit status 2, and `cd`/`export` persist (eval runs in the current shell). Physical lines
 * stay under the terminal's line limit (4095 bytes): long ones are split by closing the quote,
 * a backslash-newline, and reopening it.
 */
function toShellInput(command: string, id: number, nonce: string): string {
  const text = command.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const quoted = text.replace(/'/g, `'\\''`);
  const lines = quoted.split('\n').map((line) => splitLongLine(line, 1000));
  // The start line tells this command's output from anything still arriving from before it.
  return `__mcp_id=${id}; printf '__BEGIN_${nonce}_%s__\\n' ${id}; eval '${lines.join('\n')}'\n`;
}

function splitLongLine(line: string, max: number): string {
  if (line.length <= max) return line;
  const parts: string[] = [];
  let start = 0;
  while (start < line.length) {
    let end = Math.min(line.length, start + max);
    // Never split a surrogate pair, nor the escape sequence '\'' written for a quote.
    while (end < line.length && (/[\udc00-\udfff]/.test(line[end] ?? '') || line.slice(end - 3, end + 1).includes("'\\'"))) end++;
    parts.push(line.slice(start, end));
    start = end;
  }
  return parts.join("'\\\n'");
}

function indexOfNewline(text: string, from: number): number {
  const cr = text.indexOf('\r', from);
  const lf = text.indexOf('\n', from);
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return Math.min(cr, lf);
}
