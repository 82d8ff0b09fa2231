import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ChannelExit, SshChannel, SshConnection } from './connection';
import { SshSessionError } from './errors';
import { cleanTerminalOutput, OutputWindow, type OutputSnapshot } from './output';
import { keysToInput, SCREEN_SWITCH, TerminalScreen, type ScreenSnapshot } from './terminal-screen';

export interface ShellSessionOptions {
  /** Wait for the shell's first marker. Default 15000. */
  readonly startupTimeoutMs?: number;
  /**
   * The login shell (`$SHELL`) when the caller already knows it ({@link openHostShell} asks while
   * probing): skips the exec round trip that asks. Default: asked over an exec channel.
   */
  readonly loginShell?: string;
  /** Output kept per command: head and rolling tail, in characters. Default 2 Mi each (3 MB of output stays whole). */
  readonly outputLimits?: { readonly headChars: number; readonly tailChars: number };
  /** Terminal size; full-screen programs draw to it and {@link ShellSession.readScreen} returns it. Default 200×50. */
  readonly cols?: number;
  readonly rows?: number;
  /**
   * TERM of the PTY. Default `xterm-256color`, so vim, less and top run as on a real terminal
   * (their screen is emulated; colours are stripped from command output).
   */
  readonly term?: string;
  /**
   * A command whose output ends in a prompt-like line (`Enter value: `, `[Y/n] `, `password:`)
   * and then stays quiet this long is reported as awaiting input. Default 300.
   */
  readonly inputPromptQuietMs?: number;
  /**
   * Answers sudo's password prompt, at most once per command: a second prompt means the password
   * is wrong (`SUDO_AUTH_FAILED`; retries count towards PAM lockout). Without it, a sudo prompt
   * fails the command at once instead of waiting forever. Never echoed, never in output.
   */
  readonly sudoPassword?: string;
}

export interface ShellStartOptions {
  /**
   * Runs the command with its stdout and stderr on a pipe that a second (exec) channel streams,
   * instead of the terminal: output-heavy commands skip the remote terminal's line discipline and
   * its small packets, and the output is exactly the bytes the program wrote (UTF-8 decoded; no
   * `\r\n` → `\n`, no ANSI stripping). The program sees a pipe, not a terminal, on stdout and
   * stderr (`isatty` false: no colours, no pager, no full-screen), while stdin, `/dev/tty`, sudo's
   * prompt, Ctrl+C and the exit code stay on the shell's terminal and work as usual; the session's
   * directory and variables are kept. Needs `mkfifo` on the host and a free channel
   * (`CHANNEL_OPEN_FAILED` otherwise). Output a background process writes after the command
   * ended is not waited for. Default false.
   */
  readonly pipeOutput?: boolean;
}

export interface ShellRunOptions extends ShellStartOptions {
  /** Reject with `READ_TIMEOUT` after this long; the command keeps running (see {@link ShellCommand}). */
  readonly timeoutMs?: number;
  /** Aborting interrupts the command (Ctrl+C, escalating). */
  readonly signal?: AbortSignal;
  /**
   * Reject as soon as the command waits for input (`AWAITING_INPUT`) or starts a full-screen
   * program (`FULL_SCREEN`) instead of waiting for the timeout. The command keeps running either
   * way: answer it with {@link ShellCommand.write} / {@link ShellSession.sendKeys}. Default false.
   */
  readonly stopOnInteractive?: boolean;
}

/** How {@link ShellSession.interrupt} ended. */
export type InterruptOutcome =
  /** Nothing was running. */
  | 'idle'
  /** The command was still queued: it was dropped (its `done` rejects with `ABORTED`) and never runs. */
  | 'cancelled'
  /** Ctrl+C (once or twice) brought the shell back to its prompt; the session keeps its state. */
  | 'interrupted'
  /** The command ignored Ctrl+C: its shell was closed and a fresh one opened — cd, variables, functions are lost. */
  | 'restarted';

/** Something that happened to a running command. */
export type ShellCommandEvent =
  /** Cleaned output, as it arrives. */
  | { readonly type: 'output'; readonly text: string }
  /** The command started or stopped looking like it waits for input; `prompt` is the last line. */
  | { readonly type: 'awaiting-input'; readonly prompt: string | undefined }
  /** A full-screen program took (`active`) or released the terminal. */
  | { readonly type: 'screen'; readonly active: boolean };

/** A finished command. */
export interface ShellResult {
  /** Exactly what the command printed: no echo, no prompt, no marker, `\n` line ends, no ANSI. */
  readonly output: string;
  readonly exitCode: number;
  readonly totalChars: number;
  /** Characters dropped between the kept head and tail (0 when complete). */
  readonly droppedChars: number;
  readonly durationMs: number;
  /**
   * True when this command ran in a fresh shell because the previous one exited or ignored
   * Ctrl+C: directory, variables and functions set earlier are gone.
   */
  readonly freshShell: boolean;
}

/**
 * A command running in a persistent session, whatever the dialect: the shape `ShellSession.start()`
 * and `DeviceSession.start()` return and job managers drive. `Result` is how it ends.
 */
export interface CommandHandle<Result> {
  readonly command: string;
  /** `queued` behind another command, `running`, or `finished` (settled). */
  readonly state: 'queued' | 'running' | 'finished';
  /**
   * The prompt line while the command seems to wait for input (its output ends in a prompt-like
   * line and stays quiet), else undefined. A heuristic: a silent `read` is not seen.
   */
  readonly awaitingInput: string | undefined;
  /** True while a full-screen program (vim, less, top) holds the terminal: see {@link ShellSession.readScreen}. */
  readonly fullScreen: boolean;
  /**
   * Interrupts this command: queued → dropped (`cancelled`); running → as
   * {@link ShellSession.interrupt}; finished → `idle`.
   */
  interrupt(graceMs?: number): Promise<InterruptOutcome>;
  /** Calls `listener` for each event until the returned function is called or the command ends. */
  subscribe(listener: (event: ShellCommandEvent) => void): () => void;
  /**
   * Settles when the session is back at its prompt, or rejects with `CONNECTION_CLOSED` or
   * `SHELL_EXITED` — when the command ended the shell (`exit 7`), that error's `details.exitCode`
   * is the shell's exit status (null when it was killed by a signal, then `details.signal`).
   */
  readonly done: Promise<Result>;
  /** Output so far (cleaned), bounded like the result. */
  snapshot(): OutputSnapshot;
  /** The bounded output itself, for reads by offset ({@link OutputWindow.read}). */
  readonly output: OutputWindow;
  /**
   * Types `text` into this command (a program waiting for input). Held until the command starts
   * if it is still queued. Returns false once the command has finished.
   */
  write(text: string): boolean;
}

/** A command running in the shell. */
export type ShellCommand = CommandHandle<ShellResult>;

/** A whole escape sequence at the start: CSI, OSC (ended by BEL or ST), a charset or SS3 one (`ESC ( B`, `ESC O A`), or a two-character one. */
const COMPLETE_ESCAPE = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+#%O][^]|[^[\]()*+#%O])/;

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
  cols: 200,
  rows: 50,
  term: 'xterm-256color',
  inputPromptQuietMs: 300,
});

/**
 * The last line of output looks like a question: `Enter value: `, `Continue? [Y/n] `, `mysql> `,
 * `Password:` — it ends (trailing blanks aside) in one of `:?>#$])` with something visible before.
 * A scan, not a regex: it runs on every chunk, and `/\S[^]*[:?>#$\])]\s*$/` backtracks
 * quadratically (1.8% of the client's time for 100 MB of output).
 */
function looksLikePrompt(line: string): boolean {
  let end = line.length - 1;
  while (end >= 0 && /\s/.test(line[end] as string)) end--;
  if (end < 1 || !':?>#$])'.includes(line[end] as string)) return false;
  return /\S/.test(line.slice(0, end));
}

/** Raw characters held back from a command's output until we know they are not part of the marker. */
const HOLD_BACK_CHARS = 128;

/** Internal: lets run() tell a queued command from a running one, and drop it from the queue. */
interface QueuedControl {
  cancel(error: SshSessionError): boolean;
}

/**
 * One command from start() to its end: its output window, listeners, and what it looks like it is
 * doing (waiting for input, full screen). Public through {@link ShellCommand}.
 */
class CommandRecord {
  state: 'queued' | 'running' | 'finished' = 'queued';
  cancelled: SshSessionError | undefined;
  readonly heldInput: string[] = [];
  readonly window: OutputWindow;
  awaitingInput: string | undefined;
  fullScreen = false;
  readonly #listeners = new Set<(event: ShellCommandEvent) => void>();
  #lastLine = '';
  #lastOutputAt = 0;
  #quietTimer: NodeJS.Timeout | undefined;
  readonly #quietMs: number;

  readonly #heldText: () => string;

  constructor(
    readonly id: number,
    readonly command: string,
    limits: { readonly headChars: number; readonly tailChars: number },
    quietMs: number,
    /** Raw text received but not yet emitted (held back in case it is the marker). */
    heldText: () => string,
  ) {
    this.window = new OutputWindow(limits);
    this.#quietMs = quietMs;
    this.#heldText = heldText;
  }

  subscribe(listener: (event: ShellCommandEvent) => void): () => void {
    if (this.state === 'finished') return () => undefined;
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  output(text: string): void {
    this.window.append(text);
    this.#lastOutputAt = Date.now();
    const newline = text.lastIndexOf('\n');
    this.#lastLine = (newline >= 0 ? text.slice(newline + 1) : this.#lastLine + text).slice(-200);
    if (this.#listeners.size > 0) this.#notify({ type: 'output', text });
    if (this.awaitingInput !== undefined) this.inputGiven();
    // One timer per quiet period, not per chunk: it re-arms itself if output came meanwhile.
    if (this.#quietTimer === undefined && looksLikePrompt(this.#lastLine)) this.#armQuietTimer(this.#quietMs);
  }

  /** Input was typed (or output arrived): no longer waiting. */
  inputGiven(): void {
    if (this.awaitingInput === undefined) return;
    this.awaitingInput = undefined;
    this.#notify({ type: 'awaiting-input', prompt: undefined });
  }

  screen(active: boolean): void {
    if (this.fullScreen === active) return;
    this.fullScreen = active;
    if (active) this.inputGiven();
    this.#notify({ type: 'screen', active });
  }

  finish(): void {
    this.state = 'finished';
    clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    this.awaitingInput = undefined;
    this.fullScreen = false;
    this.#listeners.clear();
  }

  #armQuietTimer(ms: number): void {
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = undefined;
      if (this.state !== 'running' || this.fullScreen || !looksLikePrompt(this.#lastLine)) return;
      const quietFor = Date.now() - this.#lastOutputAt;
      if (quietFor < this.#quietMs) {
        this.#armQuietTimer(this.#quietMs - quietFor);
        return;
      }
      // A line end held back (it could start the marker) means the line is finished: not a prompt.
      if (this.awaitingInput !== undefined || /^[\r\n]/.test(this.#heldText())) return;
      this.awaitingInput = this.#lastLine.trim();
      this.#notify({ type: 'awaiting-input', prompt: this.awaitingInput });
    }, ms);
    this.#quietTimer.unref();
  }

  #notify(event: ShellCommandEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not break the shell's reader.
      }
    }
  }
}

interface Running {
  readonly record: CommandRecord;
  /** Until the shell prints this command's start line, what arrives is not its output. */
  started: boolean;
  /** Called once the start line arrived (interrupt waits for it: a Ctrl+C earlier would discard the typed command). */
  readonly onStarted: (() => void)[];
  readonly startedAt: number;
  readonly freshShell: boolean;
  pending: string;
  /** Terminal modes a full-screen program switched on: the alternate screen, keypad transmit. */
  readonly screenModes: Set<'alt' | 'keypad'>;
  sudoAnswered: boolean;
  /** After answering sudo, the newline sudo prints is not the command's output. */
  skipNewline: boolean;
  failure: SshSessionError | undefined;
  /** With `pipeOutput`: the exec channel streaming the command's stdout and stderr. */
  pipe: OutputPipe | undefined;
  resolve(result: ShellResult): void;
  reject(error: unknown): void;
}

interface OutputPipe {
  readonly channel: SshChannel;
  /** The FIFO on the host, quoted for the shell. */
  readonly quotedPath: string;
  /** What the shell writes to the FIFO after the command: the end of its output, in band. */
  readonly sentinel: string;
  /** Resolves once every byte arrived: the channel closed, or went quiet after the marker. */
  drained(): Promise<void>;
}

/**
 * Without its end sentinel (the command was interrupted, or closed its stdout), how long the pipe
 * may stay quiet after the marker, and how long it is read at most, before the command ends.
 */
const PIPE_DRAIN_QUIET_MS = 2_000;
const PIPE_DRAIN_MAX_MS = 10_000;

/** One shell process on one channel; a session replaces it when it exits or ignores Ctrl+C. */
interface ShellProcess {
  readonly channel: SshChannel;
  readonly decoder: StringDecoder;
  readonly stderrDecoder: StringDecoder;
}

/**
 * One persistent POSIX shell on a PTY (bash, dash/sh, busybox ash, zsh). Completion comes from a
 * marker the shell itself prints whenever it returns to its prompt — carrying a per-session nonce,
 * the command's id and `$?` — never from idle time and never from a line typed after the command,
 * so a command reading stdin cannot eat it. Echo is off, so output is exactly what the command
 * printed. Commands run one at a time, in order. When the shell exits (a command ran `exit`) or
 * ignores Ctrl+C, the next command starts in a fresh shell and says so (`freshShell`).
 */
export class ShellSession {
  readonly #connection: SshConnection;
  readonly #marker: RegExp;
  readonly #nonce: string;
  readonly #sudoPrompt: RegExp;
  /** What every marker contains: {@link #findMarker} runs the regex only where it occurs. */
  readonly #markerLiteral: string;
  #sudoPassword: string | undefined;
  readonly #limits: { readonly headChars: number; readonly tailChars: number };
  readonly #startupTimeoutMs: number;
  readonly #pty: { readonly term: string; readonly cols: number; readonly rows: number };
  readonly #quietMs: number;
  #info: ShellInfo = { loginShell: '', notice: undefined };
  #shell: ShellProcess | undefined;
  /** Opening a replacement shell (after an exit or a failed interrupt). */
  #opening: Promise<void> | undefined;
  /** The next command runs in a shell that replaced one that exited. */
  #fresh = false;
  #buffer = '';
  #running: Running | undefined;
  /** The last command to run, for {@link readScreen} once it has finished. */
  #lastRecord: CommandRecord | undefined;
  #startup: { resolve(): void; reject(error: unknown): void } | undefined;
  #closed: SshSessionError | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #screen: TerminalScreen | undefined;
  #interrupting: Promise<InterruptOutcome> | undefined;
  /** The shell's process id (`$$`), for {@link workingDirectory}. */
  #pid: number | undefined;

  private constructor(connection: SshConnection, options: ShellSessionOptions, nonce: string) {
    this.#connection = connection;
    this.#nonce = nonce;
    this.#sudoPassword = options.sudoPassword;
    this.#limits = options.outputLimits ?? DEFAULTS.outputLimits;
    this.#startupTimeoutMs = options.startupTimeoutMs ?? DEFAULTS.startupTimeoutMs;
    this.#pty = shellPty(options);
    this.#quietMs = options.inputPromptQuietMs ?? DEFAULTS.inputPromptQuietMs;
    // Our fixed prompt (the `sudo` function below passes it with -p), or sudo's own as a fallback.
    this.#sudoPrompt = new RegExp(`(?:__SUDO_${nonce}__: |\\[sudo\\] password for [^\\r\\n:]{1,64}: )$`);
    // On every prompt the shell prints "\n__END_<nonce>_<status>_<id>__\n", then its prompt, which
    // ends with "__PS_<nonce>__". Whatever a venv or a script prepends to PS1 lands between the
    // two and is dropped. The echo of our setup line shows `$?`/`%s` where this wants digits.
    this.#marker = new RegExp(`\\r?\\n__END_${nonce}_(\\d+)_(\\d+)__\\r?\\n[^]*?__PS_${nonce}__`);
    this.#markerLiteral = `__END_${nonce}_`;
  }

  /**
   * Opens a PTY shell on `connection` and puts it in marker mode.
   *
   * @throws SshSessionError `PROMPT_NOT_FOUND` when the shell never prints the marker (not a POSIX
   *   shell?), `CONNECTION_CLOSED`, `CHANNEL_OPEN_FAILED`.
   */
  static async open(connection: SshConnection, options: ShellSessionOptions = {}): Promise<ShellSession> {
    return ShellSession.openOn(connection, options, undefined);
  }

  /**
   * {@link open}, on a shell channel the caller already asked for with {@link shellPty}'s PTY
   * ({@link openHostShell} asks while its probe runs, saving the channel's round trips). A
   * login shell we cannot drive discards it; a channel that failed is asked for again.
   * @internal
   */
  static async openOn(connection: SshConnection, options: ShellSessionOptions, early: Promise<SshChannel> | undefined): Promise<ShellSession> {
    if (options.sudoPassword !== undefined && /[\0-\x1f\x7f]/.test(options.sudoPassword)) {
      throw new TypeError('sudoPassword must not contain control characters (a newline would be run as a command)');
    }
    if (options.term !== undefined && !/^[\w.+-]{1,64}$/.test(options.term)) throw new TypeError('term must be a terminal name such as xterm-256color');
    // Which login shell? One exec round trip (~2 ms warm). A shell we cannot drive (fish, csh…)
    // runs bash (or sh) for us instead, and the session says so.
    // The shell channel is asked for meanwhile (its open, pty-req and shell requests overlap the
    // exec's round trips); discarded if the login shell turns out to be one we cannot drive.
    let loginShell = options.loginShell;
    if (loginShell === undefined) {
      early ??= connection.shellChannel(shellPty(options));
      early.catch(() => undefined);
      try {
        loginShell = (await connection.exec('printf %s "$SHELL"')).stdout.trim();
      } catch (error) {
        await discardChannel(early);
        early = undefined;
        // One session channel at a time (MaxSessions 1): ask again, alone.
        if (!(error instanceof SshSessionError) || error.code !== 'CHANNEL_OPEN_FAILED') throw error;
        loginShell = (await withOpenRetry(() => connection.exec('printf %s "$SHELL"'))).stdout.trim();
      }
    }
    const name = loginShell.split('/').pop() ?? '';
    const session = new ShellSession(connection, options, randomBytes(6).toString('hex'));
    session.#info = POSIX_SHELLS.has(name)
      ? { loginShell, notice: undefined }
      : { loginShell, notice: `login shell ${loginShell || '(unknown)'} is not a POSIX shell; started bash (or sh) instead` };
    if (early && session.#info.notice !== undefined) {
      // Closed before the replacement is asked for: a host may allow one session channel.
      await discardChannel(early);
      early = undefined;
    }
    await session.#spawn(early);
    return session;
  }

  /** Opens a shell channel (or takes `early`, asked for by the opener), sets it up and waits for its first marker. */
  async #spawn(early?: Promise<SshChannel>): Promise<void> {
    const pty = this.#pty;
    const channel =
      (early && (await early.catch(() => undefined))) ??
      (await withOpenRetry(() => (this.#info.notice === undefined ? this.#connection.shellChannel(pty) : this.#connection.execChannel('bash -i || sh -i', { pty }))));
    if (this.#closed) {
      channel.destroy();
      throw this.#closed;
    }
    const shell: ShellProcess = { channel, decoder: new StringDecoder('utf8'), stderrDecoder: new StringDecoder('utf8') };
    this.#shell = shell;
    this.#buffer = '';
    channel.on('data', (data: Buffer) => {
      if (this.#shell === shell) this.#onData(shell.decoder.write(data));
    });
    channel.stderr.on('data', (data: Buffer) => {
      if (this.#shell === shell) this.#onData(shell.stderrDecoder.write(data));
    });
    channel.once('close', () => this.#onClose(shell));
    // A write racing the channel's end (input typed as the shell exits) must not become an
    // uncaught 'error': the close that follows reports the outcome.
    channel.on('error', () => undefined);
    const timeoutMs = this.#startupTimeoutMs;
    const ready = new Promise<void>((resolve, reject) => {
      this.#startup = { resolve, reject };
    });
    const timer = setTimeout(() => {
      this.#startup?.reject(
        new SshSessionError(
          'PROMPT_NOT_FOUND',
          `the shell on ${this.#connection.key} did not print its completion marker within ${timeoutMs} ms; ` +
            `is the login shell POSIX (bash, sh, zsh, ash)? Last output: ${JSON.stringify(cleanTerminalOutput(this.#buffer).slice(-200))}`,
        ),
      );
    }, timeoutMs);
    channel.write(setupScript(this.#nonce));
    try {
      await ready;
    } catch (error) {
      if (this.#shell === shell) this.#shell = undefined;
      channel.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
      this.#startup = undefined;
    }
  }

  /** A shell to run the next command in: the current one, or a fresh one when it exited. */
  async #ensureShell(): Promise<void> {
    // A replacement still starting up is not ready for a command yet.
    if (this.#opening) await this.#opening;
    if (this.#shell) return;
    if (this.#closed) throw this.#closed;
    if (!this.#connection.isOpen || this.#connection.closedError) {
      this.#closed = this.#connection.closedError ?? new SshSessionError('CONNECTION_CLOSED', `connection to ${this.#connection.key} closed`);
      throw this.#closed;
    }
    this.#opening ??= this.#spawn().finally(() => {
      this.#opening = undefined;
    });
    await this.#opening;
  }

  /**
   * The shell's current directory, read from `/proc/<pid>/cwd` over an exec channel — so it works
   * while a command is running (Linux; undefined where that is not available).
   */
  async workingDirectory(): Promise<string | undefined> {
    const pid = this.#pid;
    if (pid === undefined || !this.#shell) return undefined;
    try {
      const result = await this.#connection.exec(`readlink /proc/${pid}/cwd`);
      const path = result.stdout.replace(/\n$/, '');
      return result.exitCode === 0 && path.startsWith('/') ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /** Sets (or clears) the password that answers sudo prompts, for the commands started from now on. */
  setSudoPassword(password: string | undefined): void {
    if (password !== undefined && /[\0-\x1f\x7f]/.test(password)) {
      throw new TypeError('sudoPassword must not contain control characters (a newline would be run as a command)');
    }
    this.#sudoPassword = password;
  }

  /** The login shell, and a notice when another shell had to be started. */
  get info(): ShellInfo {
    return this.#info;
  }

  /** False once {@link close}d or the connection closed. (A shell that exited is replaced on the next command.) */
  get isOpen(): boolean {
    return this.#closed === undefined;
  }

  /** Starts a command now if the shell is idle, else after the commands queued before it. */
  start(command: string, options: ShellStartOptions = {}): ShellCommand {
    if (typeof command !== 'string' || command.length === 0) throw new TypeError('command must be a non-empty string');
    // The terminal would act on these (signals, line editing) before the shell sees the text.
    if (/[\0-\x08\x0b-\x1f\x7f]/.test(command.replace(/\r\n?/g, '\n'))) {
      throw new TypeError('command must not contain control characters other than tab and newline (use write() for keys)');
    }
    const record: CommandRecord = new CommandRecord(this.#nextId++, command, this.#limits, this.#quietMs, () =>
      this.#running?.record === record ? this.#running.pending + this.#buffer : '',
    );
    const done = new Promise<ShellResult>((resolve, reject) => {
      const fail = (error: unknown): void => {
        record.finish();
        reject(error);
      };
      const begin = async (): Promise<void> => {
        if (this.#closed || record.cancelled) {
          fail(record.cancelled ?? this.#closed);
          return;
        }
        if (!this.#shell || this.#opening) {
          try {
            await this.#ensureShell();
          } catch (error) {
            fail(error);
            return;
          }
        }
        if (record.cancelled || this.#closed) {
          fail(record.cancelled ?? this.#closed);
          return;
        }
        let pipe: OutputPipe | undefined;
        if (options.pipeOutput) {
          try {
            pipe = await this.#openPipe(record);
          } catch (error) {
            fail(error);
            return;
          }
        }
        const shell = this.#shell;
        if (!shell || record.cancelled || this.#closed) {
          pipe?.channel.destroy();
          fail(record.cancelled ?? this.#closed ?? new SshSessionError('SHELL_EXITED', 'the shell exited before the command could start'));
          return;
        }
        await new Promise<void>((finished) => {
          this.#running = {
            record,
            started: false,
            onStarted: [],
            startedAt: Date.now(),
            freshShell: this.#fresh,
            pending: '',
            screenModes: new Set(),
            sudoAnswered: false,
            skipNewline: false,
            failure: undefined,
            pipe,
            resolve: (result) => {
              record.finish();
              finished();
              resolve(result);
            },
            reject: (error) => {
              record.finish();
              finished();
              reject(error);
            },
          };
          this.#fresh = false;
          this.#lastRecord = record;
          this.#buffer = '';
          record.state = 'running';
          shell.channel.write(toShellInput(command, record.id, this.#nonce, pipe));
          for (const text of record.heldInput.splice(0)) shell.channel.write(text);
        });
      };
      this.#queue = this.#queue.then(begin, begin);
    });
    // A command started and never awaited (its outcome read from state or events instead) must
    // not surface as an unhandled rejection; awaiting `done` still gets the error.
    done.catch(() => undefined);
    return {
      command,
      done,
      get state() {
        return record.state;
      },
      get awaitingInput() {
        return record.awaitingInput;
      },
      get fullScreen() {
        return record.fullScreen;
      },
      subscribe: (listener) => record.subscribe(listener),
      interrupt: async (graceMs?: number): Promise<InterruptOutcome> => {
        if (record.state === 'queued') {
          record.cancelled = new SshSessionError('ABORTED', 'interrupted before it started: the command never ran');
          return 'cancelled';
        }
        if (record.state === 'running' && this.#running?.record === record) return this.interrupt(graceMs);
        return 'idle';
      },
      snapshot: () => record.window.snapshot(),
      output: record.window,
      write: (text: string): boolean => {
        if (record.state === 'finished') return false;
        if (record.state === 'queued') record.heldInput.push(text);
        else this.#type(text);
        return true;
      },
      cancel: (error: SshSessionError) => {
        if (record.state !== 'queued') return false;
        record.cancelled = error;
        return true;
      },
    } as ShellCommand & QueuedControl;
  }

  /**
   * Runs a command and waits for it.
   *
   * @throws SshSessionError `READ_TIMEOUT` (the command keeps running; interrupt it or wait on a
   *   {@link start}ed command), `AWAITING_INPUT` / `FULL_SCREEN` (with `stopOnInteractive`),
   *   `SHELL_EXITED`, `CONNECTION_CLOSED`, `ABORTED`, `SESSION_BUSY` (still queued at the timeout).
   */
  async run(command: string, options: ShellRunOptions = {}): Promise<ShellResult> {
    const running = this.start(command, { pipeOutput: options.pipeOutput }) as ShellCommand & QueuedControl;
    const waits: Promise<ShellResult>[] = [running.done];
    const busy = (): SshSessionError =>
      new SshSessionError('SESSION_BUSY', 'the command never started: the shell was still busy with an earlier command', {
        details: { command: running.command },
      });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let unsubscribe: (() => void) | undefined;
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
    if (options.stopOnInteractive) {
      waits.push(
        new Promise((_resolve, reject) => {
          unsubscribe = running.subscribe((event) => {
            if (event.type === 'awaiting-input' && event.prompt !== undefined) {
              reject(
                new SshSessionError('AWAITING_INPUT', `the command is waiting for input: ${JSON.stringify(event.prompt)} (it keeps running; send input or interrupt it)`, {
                  details: { prompt: event.prompt },
                }),
              );
            } else if (event.type === 'screen' && event.active) {
              reject(
                new SshSessionError('FULL_SCREEN', 'the command started a full-screen program (it keeps running; read the screen, send keys, or interrupt it)'),
              );
            }
          });
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
            if (!running.cancel(error)) void running.interrupt();
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
      unsubscribe?.();
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Sends Ctrl+C to the running command and resolves once the shell is back at its prompt.
   * Escalates: a second Ctrl+C after `graceMs`; if the shell is still not back, its channel is
   * closed and a fresh shell opened (`restarted`: the command fails with `SHELL_EXITED`, and the
   * session's directory, variables and functions are lost).
   */
  async interrupt(graceMs = 1_000): Promise<InterruptOutcome> {
    // One escalation at a time: a second caller (an abort and an explicit interrupt) shares it.
    this.#interrupting ??= this.#interrupt(graceMs).finally(() => {
      this.#interrupting = undefined;
    });
    return this.#interrupting;
  }

  async #interrupt(graceMs: number): Promise<InterruptOutcome> {
    const running = this.#running;
    const shell = this.#shell;
    if (!running || !shell) return 'idle';
    const back = new Promise<InterruptOutcome>((resolve) => {
      const original = { resolve: running.resolve, reject: running.reject };
      running.resolve = (result) => {
        original.resolve(result);
        resolve('interrupted');
      };
      running.reject = (error) => {
        original.reject(error);
        // The shell itself exited on Ctrl+C: the next command gets a fresh one.
        resolve(this.#fresh ? 'restarted' : 'interrupted');
      };
    });
    if (!running.started) {
      // Ctrl+C before the shell read the command line would flush that line from the terminal's
      // input: the command would never start and no marker would come. Wait for its start line.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        back,
        new Promise<void>((resolve) => {
          running.onStarted.push(resolve);
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (this.#running !== running) return back;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      shell.channel.write('\x03');
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(resolve, graceMs, false);
      });
      const settled = await Promise.race([back, expired]);
      clearTimeout(timer);
      if (settled) return settled;
    }
    this.#replaceShell(
      shell,
      new SshSessionError(
        'SHELL_EXITED',
        'the command ignored Ctrl+C twice: its shell was closed and a fresh one opened — directory, variables and functions are lost',
      ),
    );
    try {
      await this.#ensureShell();
    } catch {
      // Reported to the next command (CONNECTION_CLOSED, PROMPT_NOT_FOUND).
    }
    return 'restarted';
  }

  /**
   * Types keys into the running command: text, plus `<enter>`, `<esc>`, `<tab>`, arrows, `<ctrl-c>`
   * and more (see {@link keysToInput}). For full-screen programs and prompts.
   *
   * @returns whether a command was running to receive them.
   */
  sendKeys(keys: string): boolean {
    // In keypad mode (smkx) full-screen programs expect the SS3 forms of arrows, Home and End.
    return this.write(keysToInput(keys, { applicationCursor: this.#running?.screenModes.has('keypad') === true }));
  }

  /**
   * The terminal as text. While a full-screen program runs, its emulated screen (`@xterm/headless`);
   * otherwise the last lines of the running (or last) command's output.
   */
  async readScreen(maxLines?: number): Promise<ScreenSnapshot> {
    if (this.#running?.record.fullScreen && this.#screen) return { ...(await this.#screen.snapshot(maxLines)), fullScreen: true };
    const text = this.#lastRecord?.window.snapshot().text ?? '';
    const lines = text.replace(/\n$/, '').split('\n');
    const kept = lines.slice(-Math.max(1, Math.min(maxLines ?? this.#pty.rows, this.#pty.rows)));
    return {
      fullScreen: false,
      lines: text === '' ? [] : kept,
      cursorX: 0,
      cursorY: text === '' ? 0 : kept.length - 1,
      width: this.#pty.cols,
      height: this.#pty.rows,
    };
  }

  /** Closes the shell channel; the running and queued commands fail with `SHELL_EXITED`. */
  close(): void {
    this.#fail(new SshSessionError('SHELL_EXITED', 'the shell session was closed'));
    this.#startup?.reject(this.#closed);
    const shell = this.#shell;
    this.#shell = undefined;
    shell?.channel.end('exit\n');
    shell?.channel.destroy();
    this.#screen?.dispose();
    this.#screen = undefined;
  }

  /**
   * Types `text` into the running command (a program waiting for input). Nothing is written when
   * no command runs.
   *
   * @returns whether a command was running to receive it.
   */
  write(text: string): boolean {
    if (!this.#running || !this.#shell) return false;
    this.#type(text);
    return true;
  }

  #type(text: string): void {
    this.#running?.record.inputGiven();
    this.#shell?.channel.write(text);
  }

  /** The first marker in the buffer, or null. */
  #findMarker(): RegExpExecArray | null {
    return this.#buffer.includes(this.#markerLiteral) ? this.#marker.exec(this.#buffer) : null;
  }

  #onData(text: string): void {
    if (text.length === 0) return;
    this.#buffer += text;
    // The marker's literal first (one indexOf): the regex, tried at every line start, only
    // where it can match.
    let match = this.#findMarker();
    if (this.#startup) {
      if (match) {
        const pid = new RegExp(`__PID_${this.#nonce}_(\\d+)__`).exec(this.#buffer.slice(0, match.index));
        this.#pid = pid ? Number(pid[1]) : undefined;
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
      const begin = `__BEGIN_${this.#nonce}_${this.#running.record.id}__`;
      const at = this.#buffer.indexOf(begin);
      if (at < 0) {
        this.#buffer = this.#buffer.slice(-(begin.length + 2));
        return;
      }
      // The start line's own line end may still be on its way (a packet can end between \r and \n).
      const lineEnd = this.#buffer.indexOf('\n', at + begin.length);
      if (lineEnd < 0) {
        this.#buffer = this.#buffer.slice(at);
        return;
      }
      this.#running.started = true;
      for (const notify of this.#running.onStarted.splice(0)) notify();
      this.#buffer = this.#buffer.slice(lineEnd + 1);
      match = this.#findMarker();
    }
    // A marker for another command (a stray one after the start line): drop it and what preceded it.
    while (match && this.#running && Number(match[2]) !== this.#running.record.id) {
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      match = this.#findMarker();
    }
    const running = this.#running;
    if (!running) {
      // Output between commands (a background job's line): nobody asked for it.
      this.#buffer = this.#buffer.slice(-HOLD_BACK_CHARS);
      return;
    }
    // A full-screen program draws into the emulator, not into the command's output.
    if (running.record.fullScreen || this.#buffer.includes('\x1b[?')) {
      const followed = this.#followScreen(running, match);
      if (followed === 'consumed') return;
      match = followed;
    }
    if (!match) {
      // The prompt ends the buffer (at most ~90 characters): only its end is looked at.
      if (this.#sudoPrompt.test(this.#buffer.slice(-128))) {
        this.#buffer = this.#buffer.replace(this.#sudoPrompt, '');
        this.#answerSudo(running);
      }
      // Flush everything but a tail that could still become the marker, a sudo prompt or an
      // escape sequence (a full-screen switch must be seen whole).
      const hold = Math.min(
        this.#markerPrefixStart(this.#buffer),
        this.#sudoPrefixStart(this.#buffer),
        incompleteEscapeStart(this.#buffer),
      );
      if (hold > 0) {
        this.#emit(running, this.#buffer.slice(0, hold), false);
        this.#buffer = this.#buffer.slice(hold);
      }
      return;
    }
    this.#emit(running, this.#buffer.slice(0, match.index), true);
    this.#buffer = this.#buffer.slice(match.index + match[0].length);
    this.#running = undefined;
    const exitCode = Number(match[1]);
    // Piped output may still be on its way on the other channel: the command ends when it arrived.
    if (running.pipe) void running.pipe.drained().then(() => this.#settle(running, exitCode));
    else this.#settle(running, exitCode);
  }

  #settle(running: Running, exitCode: number): void {
    if (running.failure) {
      running.reject(running.failure);
      return;
    }
    const snapshot = running.record.window.snapshot();
    running.resolve({
      output: snapshot.text,
      exitCode,
      totalChars: snapshot.totalChars,
      droppedChars: snapshot.droppedChars,
      durationMs: Date.now() - running.startedAt,
      freshShell: running.freshShell,
    });
  }

  /**
   * Opens the exec channel that streams a `pipeOutput` command's output: it makes a FIFO only we
   * can open (umask 077, a name with this session's random nonce; mkfifo fails on an existing
   * name), says where on stderr, then `cat`s it. The shell's redirect opens the other end and
   * removes the name, so nothing is left behind once both ends are open.
   */
  async #openPipe(record: CommandRecord): Promise<OutputPipe> {
    const tag = `__PIPE_${this.#nonce}_${record.id}__`;
    // sh -c: the login shell running exec may be fish or csh. No single quote or backslash inside.
    // A watcher holds only the channel's stdin: when the channel ends before the command opened the
    // FIFO (its session closed, the command interrupted first), stdin ends, and the watcher opens
    // the FIFO read-write, which never blocks (so a cat blocked in open sees its end, and no cat is
    // no wait), and removes the name. Nothing of it is left on the host, and the watcher never
    // holds stdout, so a normal end is unchanged.
    const watcher = `{ cat <&3 >/dev/null 2>&1; [ -p "$f" ] && : <>"$f"; rm -f "$f"; } >/dev/null 2>&1 &`;
    const script = `umask 077; f="\${TMPDIR:-/tmp}/.mcp-ssh-${this.#nonce}-${record.id}"; mkfifo "$f" || exit 97; exec 3<&0; ${watcher} exec 3<&-; printf "${tag} %s\\n" "$f" >&2; exec cat "$f"`;
    let channel: SshChannel;
    try {
      channel = await this.#connection.execChannel(`sh -c '${script}'`);
    } catch (error) {
      throw new SshSessionError(
        'CHANNEL_OPEN_FAILED',
        `pipeOutput needs a second channel on ${this.#connection.key}, which was refused (run without pipeOutput): ${(error as Error).message}`,
        { cause: error, details: { pipe: true } },
      );
    }
    channel.on('error', () => undefined);
    let stderr = '';
    const path = await new Promise<string>((resolve, reject) => {
      const onStderr = (chunk: Buffer): void => {
        stderr += chunk.toString('utf8');
        const at = stderr.indexOf(`${tag} `);
        const end = at < 0 ? -1 : stderr.indexOf('\n', at);
        if (end >= 0) done(undefined, stderr.slice(at + tag.length + 1, end));
      };
      const onClose = (): void => done(new Error(stderr.trim().slice(-200) || 'the channel closed'));
      const timer = setTimeout(() => done(new Error('no answer within 10 s')), 10_000);
      const done = (error: Error | undefined, found?: string): void => {
        clearTimeout(timer);
        channel.stderr.off('data', onStderr);
        channel.off('close', onClose);
        if (!error) return resolve(found as string);
        channel.destroy();
        reject(new SshSessionError('CHANNEL_OPEN_FAILED', `pipeOutput could not make its FIFO on ${this.#connection.key} (run without pipeOutput): ${error.message}`, { details: { pipe: true } }));
      };
      channel.stderr.on('data', onStderr);
      channel.once('close', onClose);
      // Flowing, so a script that failed (mkfifo) ends and closes at once: nothing comes on stdout
      // before the command opens the FIFO, which waits for this path.
      channel.resume();
    });
    channel.stderr.resume();
    const decoder = new StringDecoder('utf8');
    const sentinel = `__MCP_PIPE_END_${this.#nonce}_${record.id}__`;
    let closed = false;
    let markerSeen = false;
    let sentinelSeen = false;
    /** The end of what arrived that could be the start of the sentinel. */
    let held = '';
    let quiet: NodeJS.Timeout | undefined;
    let cap: NodeJS.Timeout | undefined;
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => {
      finish = () => {
        clearTimeout(quiet);
        clearTimeout(cap);
        resolve();
      };
      channel.once('close', () => {
        closed = true;
        finish();
      });
    });
    const output = (text: string): void => {
      if (text.length > 0 && record.state === 'running') record.output(text);
    };
    // The command's own output ends at the sentinel: what a background process writes after it
    // is not waited for, and nothing before it is cut however slow the link.
    const stop = (): void => {
      finish();
      channel.destroy();
    };
    const armQuiet = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(stop, PIPE_DRAIN_QUIET_MS);
    };
    channel.on('data', (chunk: Buffer) => {
      if (sentinelSeen) return;
      const text = held + decoder.write(chunk);
      const at = text.indexOf(sentinel);
      if (at >= 0) {
        sentinelSeen = true;
        held = '';
        output(text.slice(0, at));
        if (markerSeen) stop();
        return;
      }
      let keep = Math.min(text.length, sentinel.length - 1);
      while (keep > 0 && !sentinel.startsWith(text.slice(text.length - keep))) keep--;
      held = text.slice(text.length - keep);
      output(text.slice(0, text.length - keep));
      if (markerSeen) armQuiet();
    });
    channel.once('end', () => {
      if (sentinelSeen) return;
      output(held + decoder.end());
      held = '';
    });
    return {
      channel,
      quotedPath: shellQuote(path),
      sentinel,
      drained: () => {
        markerSeen = true;
        if (sentinelSeen || closed) {
          if (!closed) stop();
          return ended;
        }
        // No sentinel yet: it is on its way, or it never comes (an interrupted command).
        armQuiet();
        cap = setTimeout(stop, PIPE_DRAIN_MAX_MS);
        return ended;
      },
    };
  }

  /**
   * Splits the buffer at full-screen switches (alternate screen, keypad mode): what a program
   * draws goes to the emulator, the rest stays output. The marker ends screen mode too (a program
   * that crashed without restoring the terminal). Returns the marker match left in the buffer
   * (null: none yet), or `consumed` when the buffer went to the screen.
   */
  #followScreen(running: Running, match: RegExpExecArray | null): RegExpExecArray | null | 'consumed' {
    const record = running.record;
    let from = 0;
    for (;;) {
      SCREEN_SWITCH.lastIndex = from;
      const found = SCREEN_SWITCH.exec(this.#buffer);
      if (!record.fullScreen) {
        if (!found || (match && match.index < found.index)) return match;
        if (found[2] === 'l' || found[3] === 'l') {
          from = found.index + found[0].length; // leaving a mode nobody entered: plain output
          continue;
        }
        this.#emit(running, this.#buffer.slice(0, found.index), true);
        this.#buffer = this.#buffer.slice(found.index);
        // A clean terminal for each program: nothing left over from the previous one.
        this.#terminalScreen().write('\x1bc');
        record.screen(true);
        running.screenModes.clear();
        from = 0;
        match = this.#findMarker();
        continue;
      }
      if (match && (!found || match.index < found.index)) {
        this.#terminalScreen().write(this.#buffer.slice(0, match.index));
        this.#buffer = this.#buffer.slice(match.index);
        record.screen(false);
        return this.#findMarker();
      }
      if (!found) {
        const hold = Math.min(this.#markerPrefixStart(this.#buffer), incompleteEscapeStart(this.#buffer));
        this.#terminalScreen().write(this.#buffer.slice(0, hold));
        this.#buffer = this.#buffer.slice(hold);
        return 'consumed';
      }
      const end = found.index + found[0].length;
      this.#terminalScreen().write(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end);
      const mode = found[1] ? 'alt' : 'keypad';
      if ((found[2] ?? found[3]) === 'h') running.screenModes.add(mode);
      else running.screenModes.delete(mode);
      if (running.screenModes.size === 0) record.screen(false);
      from = 0;
      match = this.#findMarker();
    }
  }

  #terminalScreen(): TerminalScreen {
    this.#screen ??= new TerminalScreen(this.#pty.cols, this.#pty.rows);
    return this.#screen;
  }

  /**
   * Index where a suffix of `buffer` that could be the start of the marker begins (length if
   * none): the newline (`\r`, `\n` or `\r\n`) before the marker's literal, or before a beginning of
   * it at the very end. Linear in the buffer: the whole literal is looked for with indexOf, and a
   * part of it only in the buffer's last characters (a chunk holds thousands of lines, and a
   * scan per line was quadratic: a third of the client's time on 100 MB of output).
   */
  #markerPrefixStart(buffer: string): number {
    const literal = this.#markerLiteral;
    // After the literal: status, "_", id, "__", a newline, then the prompt up to "__PS_<nonce>__".
    const after = /^\d*(?:_\d*(?:_(?:_(?:\r?(?:\n[^]*)?)?)?)?)?$/;
    /** The newline run `[\r]?[\n]?` that ends right before `pos`, as the index of its first character (-1: none). */
    const newlineBefore = (pos: number): number => {
      if (buffer[pos - 1] === '\n' && buffer[pos - 2] === '\r') return pos - 2;
      return buffer[pos - 1] === '\n' || buffer[pos - 1] === '\r' ? pos - 1 : -1;
    };
    let best = buffer.length;
    for (let at = buffer.indexOf(literal); at >= 0; at = buffer.indexOf(literal, at + 1)) {
      const i = newlineBefore(at);
      if (i >= 0 && buffer.length - at > literal.length && after.test(buffer.slice(at + literal.length))) {
        best = i;
        break;
      }
    }
    // A newline near the end followed by (a beginning of) the literal, or by nothing yet.
    for (let pos = Math.max(1, buffer.length - literal.length); pos <= buffer.length; pos++) {
      const i = newlineBefore(pos);
      if (i < 0 || i >= best) continue;
      if (literal.startsWith(buffer.slice(pos))) return i;
    }
    return best;
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
    // "[sudo] password for <user>" without its ": " yet: only the last characters can hold it.
    const from = Math.max(0, buffer.length - 128);
    const partialUser = /\[sudo\] password for [^\r\n:]{0,64}:?$/.exec(buffer.slice(from));
    return partialUser ? from + partialUser.index : buffer.length;
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
      this.#shell?.channel.write('\x03');
      return;
    }
    running.sudoAnswered = true;
    running.skipNewline = true;
    this.#shell?.channel.write(`${this.#sudoPassword}\n`);
  }

  /** Cleans raw text into the command's window; a trailing `\r` waits for a possible `\n`. */
  #emit(running: Running, raw: string, final: boolean): void {
    let text = running.pending + raw;
    running.pending = '';
    if (running.skipNewline && text.length > 0) {
      if (text === '\r' && !final) {
        running.pending = text; // half of the \r\n to skip
        return;
      }
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
    const cleaned = text.length > 0 ? cleanTerminalOutput(text) : '';
    if (cleaned.length > 0) running.record.output(cleaned);
  }

  #fail(error: SshSessionError): void {
    this.#closed ??= error;
    const running = this.#running;
    this.#running = undefined;
    running?.pipe?.channel.destroy();
    running?.reject(error);
  }

  #onClose(shell: ShellProcess): void {
    if (this.#shell !== shell) return;
    this.#shell = undefined;
    this.#startup?.reject(new SshSessionError('CONNECTION_CLOSED', 'the shell channel closed before it was ready'));
    // ssh2 closes channels just before the connection reports its own close: look at the link
    // a microtask later, with the shell's exit status (its 'exit' comes before the 'close', and
    // `exit` is settled by now).
    void Promise.resolve(shell.channel.exit).then(
      (exit) => this.#afterClose(exit),
      () => this.#afterClose(undefined),
    );
  }

  #afterClose(exit: ChannelExit | undefined): void {
    if (!this.#connection.isOpen) {
      // Told once the connection has said why (behind jump hosts: which hop failed).
      this.#connection.onClose((error) =>
        this.#fail(error ?? new SshSessionError('CONNECTION_CLOSED', `connection to ${this.#connection.key} closed; the command was not re-run`)),
      );
      return;
    }
    if (this.#connection.closedError) {
      this.#fail(this.#connection.closedError);
      return;
    }
    // The shell exited: the running command fails (with the shell's exit status: `exit 7` is a
    // result too), the next one gets a fresh shell.
    this.#fresh = true;
    const running = this.#running;
    this.#running = undefined;
    running?.pipe?.channel.destroy();
    const exitCode = exit?.code ?? null;
    const signal = exit?.signal;
    const how = exitCode !== null ? ` with status ${exitCode}` : signal !== undefined ? ` (killed by ${signal.startsWith('SIG') ? signal : `SIG${signal}`})` : '';
    running?.reject(
      new SshSessionError(
        'SHELL_EXITED',
        `the shell exited${how} (the command ran \`exit\`, or the shell was killed); the next command starts in a fresh shell — directory, variables and functions are lost`,
        { details: { exitCode, ...(signal === undefined ? {} : { signal }) } },
      ),
    );
  }

  /** Drops `shell` (it ignored Ctrl+C): the running command fails with `error`; the next one gets a fresh shell. */
  #replaceShell(shell: ShellProcess, error: SshSessionError): void {
    if (this.#shell === shell) this.#shell = undefined;
    this.#fresh = true;
    const running = this.#running;
    this.#running = undefined;
    running?.pipe?.channel.destroy();
    running?.reject(error);
    shell.channel.destroy();
  }
}

/** Where a trailing escape sequence that is not complete yet starts (length if none). */
function incompleteEscapeStart(text: string): number {
  // Keypad mode is two sequences, `ESC[?1h ESC=`: keep its first half until the second arrives.
  const keypad = /\x1b\[\?1[hl]\x1b?$/.exec(text.slice(-8));
  if (keypad) return text.length - keypad[0].length;
  const esc = text.lastIndexOf('\x1b');
  if (esc < 0 || text.length - esc >= 256) return text.length;
  return COMPLETE_ESCAPE.test(text.slice(esc)) ? text.length : esc;
}

/**
 * Runs `open` again while the host refuses the channel, a few times within about a second. A host
 * that allows one session channel at a time (sshd `MaxSessions 1`) frees the slot of a channel
 * just closed a moment after it said so, and sends no message when it does: there is no event to
 * wait for. Any other error, or a refusal that lasts, is thrown.
 * @internal
 */
export async function withOpenRetry<T>(open: () => Promise<T>): Promise<T> {
  for (const delayMs of [25, 50, 100, 200, 400]) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof SshSessionError) || error.code !== 'CHANNEL_OPEN_FAILED') throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  return open();
}

/** The PTY a {@link ShellSession} opened with `options` asks for. @internal */
export function shellPty(options: ShellSessionOptions): { readonly term: string; readonly cols: number; readonly rows: number } {
  return { term: options.term ?? DEFAULTS.term, cols: options.cols ?? DEFAULTS.cols, rows: options.rows ?? DEFAULTS.rows };
}

/**
 * Closes a channel asked for but not wanted, once it opens; resolves when the far end has closed
 * it too (a device that allows one session at a time is free again), or after a second at most.
 * @internal
 */
export async function discardChannel(early: Promise<SshChannel>): Promise<void> {
  const channel = await early.catch(() => undefined);
  if (!channel) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    channel.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    // Drained, so its end (and then 'close') can be emitted; nothing read here is wanted.
    channel.resume();
    channel.stderr.resume();
    channel.destroy();
  });
}

/**
 * Typed into a new shell: no echo, no continuation prompt, no PROMPT_COMMAND noise, no history
 * file; pagers print instead of waiting for keys (run `less` yourself for a pager); sudo gets a
 * fixed prompt we recognise exactly (-k is not forced: cached credentials are fine). Then the
 * marker: it carries the shell's status and the id of the command that set `__mcp_id`. bash
 * prints it from PROMPT_COMMAND and zsh from a precmd hook (zsh with its line editor off and the
 * tty frozen, so it does not turn echo back on), both before PS1, so a prefix added to PS1 (venv)
 * cannot look like output. dash and ash have no hook: `$?` in a single-quoted PS1 spanning lines
 * (hence PS2 empty first); a PS1 prefix there ends up at the end of the output. bash: no history
 * expansion (`!`), no TAB completion while our text is read.
 */
function setupScript(nonce: string): string {
  return (
    `stty -echo 2>/dev/null; PS2=''; unset PROMPT_COMMAND HISTFILE 2>/dev/null; __mcp_id=0; printf '__PID_${nonce}_%s__\\n' "$$"; ` +
    `export PAGER=cat GIT_PAGER=cat SYSTEMD_PAGER=cat\n` +
    `sudo() { command sudo -p '__SUDO_${nonce}__: ' "$@"; }\n` +
    `if [ -n "$ZSH_VERSION" ]; then stty -echo; ttyctl -f; unsetopt zle prompt_sp prompt_cr bang_hist; ` +
    `precmd() { printf '\\n__END_${nonce}_%s_%s__\\n' "$?" "$__mcp_id"; }; PS1='__PS_${nonce}__'; ` +
    `elif [ -n "$BASH_VERSION" ]; then set +H; bind 'set disable-completion on' 2>/dev/null; ` +
    `PROMPT_COMMAND='printf "\\n__END_${nonce}_%s_%s__\\n" "$?" "$__mcp_id"'; PS1='__PS_${nonce}__'; ` +
    `else PS1='\n__END_${nonce}_$?_\${__mcp_id}__\n__PS_${nonce}__'; fi\n`
  );
}

/**
 * The line(s) to type for `command`: always `__mcp_id=<id>; printf <start line>; eval '<command>'`. Typed raw, a
 * multi-line command would make the shell print its marker after each line; a trailing `\`, an
 * unbalanced quote or `!` would leave it waiting for more input. Inside eval a syntax error is
 * just exit status 2, and `cd`/`export` persist (eval runs in the current shell). Physical lines
 * stay under the terminal's line limit (4095 bytes): long ones are split by closing the quote,
 * a backslash-newline, and reopening it.
 */
function toShellInput(command: string, id: number, nonce: string, pipe?: { readonly quotedPath: string; readonly sentinel: string }): string {
  const text = command.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const quoted = text.replace(/'/g, `'\\''`);
  const lines = quoted.split('\n').map((line) => splitLongLine(line, 1000));
  const run = `eval '${lines.join('\n')}'`;
  // The start line tells this command's output from anything still arriving from before it.
  // Piped: the group's redirect opens the FIFO (its reader already waits), the name goes, and
  // eval runs in the current shell as usual; the group's status is the command's.
  // Then the sentinel, after which the group's status is the command's again.
  const body =
    pipe === undefined
      ? run
      : `{ command rm -f -- ${pipe.quotedPath}; ${run}; __mcp_s=$?; printf %s '${pipe.sentinel}'; (exit $__mcp_s); } >|${pipe.quotedPath} 2>&1`;
  return `__mcp_id=${id}; printf '__BEGIN_${nonce}_%s__\\n' ${id}; ${body}\n`;
}

/** `text` in single quotes for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
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
