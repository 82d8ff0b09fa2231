import { randomUUID } from 'node:crypto';
import {
  isSshError,
  OutputWindow,
  Redactor,
  type CommandHandle,
  type InterruptOutcome,
} from 'ssh-session-core';
import { SshJobError } from './errors';

/**
 * Where a job is. `awaiting_approval`: its command has not started, it waits for a person's
 * decision (see {@link JobRunOptions.approval}). `awaiting_input`: it waits at a prompt or in a
 * full-screen program.
 */
export type JobState = 'awaiting_approval' | 'running' | 'awaiting_input' | 'completed' | 'failed' | 'interrupted' | 'connection_lost';

/** How a job's command ended: a POSIX exit code, or (devices) null and maybe a failure line. */
export interface JobShellResult {
  readonly exitCode: number | null;
  readonly freshShell: boolean;
  /** A device's failure indicator (`% Invalid input…`): the job ends `failed` with `COMMAND_FAILED`. */
  readonly failure?: string | undefined;
}

/** A running command, as `ShellSession.start()` and `DeviceSession.start()` return it. */
export type JobShellCommand = CommandHandle<JobShellResult>;

/** What jobs run in: a `ShellSession` (POSIX) or a `DeviceSession` (network devices). */
export interface JobShell {
  /** `pipeOutput` (ShellSession): stdout and stderr on a pipe instead of the terminal; a DeviceSession has none. */
  start(command: string, options?: { readonly pipeOutput?: boolean }): JobShellCommand;
  run(command: string, options?: { readonly timeoutMs?: number }): Promise<JobShellResult>;
  workingDirectory(): Promise<string | undefined>;
  close(): void;
}

/** Where jobs run: a session's persistent shell, and optionally a way to open another shell. */
export interface JobTarget {
  /** The session key (`user@host:port`), shown in job listings. */
  readonly key: string;
  /** The persistent shell: `cd`, `export` and functions persist between its jobs. */
  readonly shell: JobShell;
  /**
   * Opens another shell on the same connection, for a job started while `shell` is busy: it
   * starts in the busy shell's directory and is closed when the job ends. Without it, such a job
   * is refused with `SESSION_BUSY`.
   */
  openShell?(): Promise<JobShell>;
}

/** A job as reported: secrets redacted, times as ISO strings. */
export interface JobInfo {
  readonly id: string;
  readonly command: string;
  readonly sessionKey: string;
  readonly state: JobState;
  /**
   * The shell's exit status; null while running or when the command did not finish normally. A
   * command that ended its shell (`exit 7`: state `failed`, error `SHELL_EXITED`) has the shell's
   * exit status here.
   */
  readonly exitCode: number | null;
  /** When the job was made (for a job that awaited approval: when approval was asked). */
  readonly startedAt: string;
  /** When its command started running; null while it awaits approval, or when it never ran. */
  readonly ranAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number;
  /** Output characters received so far, and how many of them are no longer kept (head + tail). */
  readonly totalChars: number;
  readonly droppedChars: number;
  /** The prompt line when the job waits for input. */
  readonly awaitingInput: string | null;
  /** True while a full-screen program (vim, less, top) holds the terminal: read the screen, send keys. */
  readonly fullScreen: boolean;
  /** `primary`: the session's persistent shell; `extra`: a second shell because the first was busy. */
  readonly shell: 'primary' | 'extra';
  /** The directory an `extra` shell started in. */
  readonly workingDirectory: string | null;
  /** True when the command ran in a fresh shell (the previous one exited): earlier state is gone. */
  readonly freshShell: boolean;
  /** How an interrupt ended, when one was asked for. */
  readonly interrupt: InterruptOutcome | null;
  /** Why a `failed` / `connection_lost` job ended. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Output read from a job by offset, or its last lines. */
export interface JobOutput {
  readonly text: string;
  /** Offset of `text` in the job's whole output. */
  readonly offset: number;
  /** Pass as `sinceOffset` to read on. */
  readonly nextOffset: number;
  /** Characters dropped (not kept) between the offset asked for and `offset`. */
  readonly skippedChars: number;
  readonly totalChars: number;
  /** More output is available after `nextOffset` right now. */
  readonly more: boolean;
}

export interface JobProgress {
  readonly id: string;
  readonly totalChars: number;
  /** The last complete or partial line, trimmed to 200 characters. */
  readonly lastLine: string;
}

export interface JobRunOptions {
  /** Wait this long for the command to finish before returning it as a running job. Default 30000. */
  readonly timeoutMs?: number;
  /** Return at once with the running job. */
  readonly detached?: boolean;
  /** Aborting interrupts the job. */
  readonly signal?: AbortSignal;
  /** Called as output arrives, at most every `progressIntervalMs`. */
  readonly onProgress?: (progress: JobProgress) => void;
  /** Return early when the job waits for input or starts a full-screen program. Default true. */
  readonly returnWhenInteractive?: boolean;
  /**
   * Run the command with stdout and stderr on a pipe instead of the terminal (ShellSession's
   * `pipeOutput`: fast, exact bytes for big output; the program sees no terminal on them).
   */
  readonly pipeOutput?: boolean;
  /**
   * Ask before running: the job gets its id at once and is listed `awaiting_approval` (no shell,
   * no output) until the promise this returns settles. Resolved, the command starts (in the
   * session's shell, or in a second one if that is busy by then); rejected, the job ends `failed`
   * with the rejection's code (`error.code`, else `NOT_APPROVED`) and message: the command never
   * ran. Interrupting the job (or aborting `signal`) while it waits ends it `interrupted`
   * (`APPROVAL_WITHDRAWN`), never run, and aborts the signal passed here, as does closing its
   * session. `timeoutMs` counts the wait for approval too.
   */
  readonly approval?: (job: { readonly id: string; readonly signal: AbortSignal }) => Promise<void>;
}

export interface JobRunResult {
  readonly job: JobInfo;
  /** False: still running (or waiting for input); follow it with `status`, `sendInput`, `interrupt`. */
  readonly finished: boolean;
  /** The output kept so far: the whole output, or head + tail when the job printed more than the window. */
  readonly output: string;
}

export interface JobStatusOptions {
  /** Read output from this offset (a previous `nextOffset`). Default 0. */
  readonly sinceOffset?: number;
  /** Instead of an offset: the last N lines. */
  readonly tailLines?: number;
  /** Cap of the text returned. Default 65536 characters. */
  readonly maxChars?: number;
}

export interface JobStatus {
  readonly job: JobInfo;
  readonly output: JobOutput;
}

export interface SendInputOptions {
  /** Never stored in the job's input log; also redacted from output. */
  readonly secret?: boolean;
  /** Wait up to this long for the job to react (finish, print, or prompt again). Default 1000. */
  readonly waitMs?: number;
}

export interface JobManagerOptions {
  /** Finished jobs kept, newest first. Default 100. */
  readonly historyLimit?: number;
  /**
   * Output kept by all finished jobs together, in characters. Default 8 Mi. The newest keep their
   * whole window (pageable by offset); when the total grows past this, older jobs are cut down to
   * `historyOutput`.
   */
  readonly historyBudgetChars?: number;
  /** What an older finished job keeps once the budget is exceeded: head and tail. Default 32 Ki each. */
  readonly historyOutput?: { readonly headChars: number; readonly tailChars: number };
  /** Jobs running at once, across sessions. Default 64. */
  readonly maxRunning?: number;
  /** Secrets to keep out of every command, output, error and input log reported. */
  readonly redactor?: Redactor;
  /** Minimum interval between progress calls. Default 250. */
  readonly progressIntervalMs?: number;
  /** Called once per job as it ends, with its final info (secrets redacted); an audit log, say. Its errors are ignored. */
  readonly onJobEnd?: (job: JobInfo) => void;
  /**
   * Follows every job as it runs, for a session recording: its start, its output as it arrives,
   * and input typed into it (`text` undefined when it was sent as a secret). Secrets the manager
   * knows are redacted first; the observer's errors are ignored.
   */
  readonly observer?: JobObserver;
}

/**
 * What {@link JobManager.watch} reports: a job appeared (`start`), printed (`output`: only how
 * much, never the text), changed state (`state`), or ended (`end`).
 */
export interface JobEvent {
  readonly type: 'start' | 'output' | 'state' | 'end';
  readonly id: string;
  readonly sessionKey: string;
  readonly state: JobState;
  readonly totalChars: number;
}

/** See {@link JobManagerOptions.observer}. */
export interface JobObserver {
  start?(job: JobInfo): void;
  /** `job` is only its id and session: output can come in thousands of chunks. */
  output?(job: { readonly id: string; readonly sessionKey: string }, text: string): void;
  input?(job: JobInfo, text: string | undefined): void;
}

const DEFAULTS = Object.freeze({
  historyLimit: 100,
  historyOutput: { headChars: 32_768, tailChars: 32_768 },
  historyBudgetChars: 8_388_608,
  maxRunning: 64,
  progressIntervalMs: 250,
  timeoutMs: 30_000,
  maxChars: 65_536,
  waitMs: 1_000,
});

interface Job {
  readonly id: string;
  readonly command: string;
  readonly sessionKey: string;
  /** The session's shell while the job awaits approval; the one it runs in from then on. */
  shell: JobShell;
  kind: 'primary' | 'extra';
  workingDirectory: string | null;
  readonly startedAt: number;
  /** When the command started; null while awaiting approval or when it never ran. */
  ranAt: number | null;
  /** Settles when the command has started (or the job ended without running it). */
  readonly started: Promise<void>;
  /** While it awaits approval: ends it unrun and withdraws the approval asked for (interrupted, session closed). */
  withdraw: ((state: 'failed' | 'interrupted', error: { code: string; message: string }) => void) | undefined;
  /** Dropped when the job ends, so its full output window can be freed. */
  handle: JobShellCommand | undefined;
  output: OutputWindow;
  state: JobState;
  exitCode: number | null;
  endedAt: number | null;
  freshShell: boolean;
  interruptRequested: boolean;
  /** Why the job was ended from outside (its session closed), if it was. */
  endedBy: string | null;
  interrupt: InterruptOutcome | null;
  error: { code: string; message: string } | null;
  /** Settles when the job has left the running states. */
  readonly ended: Promise<void>;
  readonly markStarted: () => void;
  readonly markEnded: () => void;
}

/**
 * Every command is a job: {@link run} waits for it up to a timeout, then hands back its id while
 * it keeps running. Status reads output incrementally by offset; interrupt, input and a bounded
 * history complete the cycle. One job at a time per shell: a job started while the session's
 * shell is busy runs in a second shell on the same connection (started in the first one's
 * directory), or is refused with `SESSION_BUSY` when the target cannot open one. Never a silent
 * wait, never interleaved output.
 */
export class JobManager {
  readonly #running = new Map<string, Job>();
  /** Jobs between the limit check and their registration (opening a second shell takes a while). */
  #starting = 0;
  readonly #history: Job[] = [];
  /** Which job holds each primary shell. */
  readonly #busy = new Map<JobShell, Job>();
  readonly #historyLimit: number;
  readonly #historyOutput: { readonly headChars: number; readonly tailChars: number };
  readonly #historyBudgetChars: number;
  readonly #maxRunning: number;
  readonly #onJobEnd: ((job: JobInfo) => void) | undefined;
  readonly #observer: JobObserver | undefined;
  readonly #redactor: Redactor;
  readonly #progressIntervalMs: number;
  readonly #watchers = new Set<(event: JobEvent) => void>();

  constructor(options: JobManagerOptions = {}) {
    this.#historyLimit = options.historyLimit ?? DEFAULTS.historyLimit;
    this.#historyOutput = options.historyOutput ?? DEFAULTS.historyOutput;
    this.#historyBudgetChars = options.historyBudgetChars ?? DEFAULTS.historyBudgetChars;
    this.#maxRunning = options.maxRunning ?? DEFAULTS.maxRunning;
    this.#onJobEnd = options.onJobEnd;
    this.#observer = options.observer;
    this.#redactor = options.redactor ?? new Redactor();
    this.#progressIntervalMs = options.progressIntervalMs ?? DEFAULTS.progressIntervalMs;
    if (!(this.#historyLimit >= 0)) throw new RangeError('historyLimit must be ≥ 0');
  }

  /**
   * Starts `command` as a job and waits up to `timeoutMs` for it: `finished: true` with its
   * result, or `finished: false` with the running job (also returned early when the job waits for
   * input or starts a full-screen program).
   *
   * @throws SshJobError `SESSION_BUSY` (the shell is busy and no second shell can be opened),
   *   `JOB_LIMIT_REACHED`; SshSessionError when a second shell cannot be opened.
   */
  async run(target: JobTarget, command: string, options: JobRunOptions = {}): Promise<JobRunResult> {
    const pipeOutput = options.pipeOutput === true;
    const job = options.approval ? this.#awaitApproval(target, command, pipeOutput, options.approval) : await this.#start(target, command, pipeOutput);
    const stopProgress = options.onProgress ? this.#followProgress(job, options.onProgress) : undefined;
    let onAbort: (() => void) | undefined;
    try {
      if (options.signal) {
        const signal = options.signal;
        onAbort = () => void this.interrupt(job.id).catch(() => undefined);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      if (!options.detached) await this.#waitForJob(job, options.timeoutMs ?? DEFAULTS.timeoutMs, options.returnWhenInteractive ?? true);
      const kept = job.output.snapshot().text;
      // Still printing: an end that could be the first part of a secret is held back.
      const shown = isActive(job.state) ? kept.slice(0, kept.length - this.#heldBack(kept)) : kept;
      return { job: this.#info(job), finished: isEnded(job.state), output: this.#redactor.redact(shown) };
    } finally {
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      // Progress only while the caller waits: it has its answer now.
      stopProgress?.();
    }
  }

  /** A job's state and output: from `sinceOffset` (default 0), or its last `tailLines` lines. */
  status(id: string, options: JobStatusOptions = {}): JobStatus {
    const job = this.#find(id);
    return { job: this.#info(job), output: this.#read(job, options) };
  }

  /**
   * Interrupts a running job (Ctrl+C, a second Ctrl+C, then a fresh shell) and resolves once its
   * shell is back, with the outcome.
   *
   * @throws SshJobError `JOB_NOT_FOUND`, `JOB_NOT_RUNNING`.
   */
  async interrupt(id: string, graceMs?: number): Promise<JobInfo> {
    const job = this.#find(id);
    if (isEnded(job.state)) {
      throw new SshJobError('JOB_NOT_RUNNING', `job ${id} is not running (it is ${job.state})`, { details: { id, state: job.state } });
    }
    job.interruptRequested = true;
    if (job.state === 'awaiting_approval') {
      if (job.withdraw) {
        job.interrupt = 'idle';
        job.withdraw('interrupted', { code: 'APPROVAL_WITHDRAWN', message: 'interrupted while it awaited approval: the command never ran' });
        return this.#info(job);
      }
      // Approved, its shell opening: interrupted as soon as it runs.
      await job.started;
      if (isEnded(job.state)) return this.#info(job);
    }
    job.interrupt = (await job.handle?.interrupt(graceMs)) ?? 'idle';
    await job.ended;
    return this.#info(job);
  }

  /**
   * Types `text` into a running job (escapes `\n`, `\r`, `\t`, `\\`, `\xHH` are turned into their
   * characters), then waits up to `waitMs` for it to react: finish, print, or prompt again.
   * Returns its state and the output produced since the input.
   *
   * @throws SshJobError `JOB_NOT_FOUND`, `JOB_NOT_RUNNING`.
   */
  async sendInput(id: string, text: string, options: SendInputOptions = {}): Promise<JobStatus> {
    const job = this.#find(id);
    if (!isActive(job.state)) {
      const why = job.state === 'awaiting_approval' ? 'it awaits approval: its command has not started' : `it is ${job.state}`;
      throw new SshJobError('JOB_NOT_RUNNING', `job ${id} is not running (${why}); input was not sent`, {
        details: { id, state: job.state },
      });
    }
    const input = unescapeInput(text);
    const handle = job.handle;
    if (options.secret) this.#redactor.add(input.replace(/[\r\n]+$/, ''));
    const from = job.output.totalChars;
    let unsubscribe: (() => void) | undefined;
    const reacted = new Promise<void>((resolve) => {
      unsubscribe = handle?.subscribe((event) => {
        if ((event.type === 'awaiting-input' && event.prompt !== undefined) || (event.type === 'screen' && event.active)) resolve();
      });
      void job.ended.then(resolve);
    });
    try {
      if (!handle?.write(input)) {
        throw new SshJobError('JOB_NOT_RUNNING', `job ${id} ended before the input was sent; it was not sent`, { details: { id } });
      }
      const observer = this.#observer;
      if (observer?.input) this.#observe(() => observer.input?.(this.#info(job), options.secret ? undefined : this.#redactor.redact(input)));
      await withTimeout(reacted, options.waitMs ?? DEFAULTS.waitMs);
    } finally {
      unsubscribe?.();
    }
    return { job: this.#info(job), output: this.#read(job, { sinceOffset: from }) };
  }

  /**
   * Waits until the job ends or `timeoutMs` passes (or, with `untilInteractive`, it waits for
   * input), then returns its state.
   *
   * @throws SshJobError `JOB_NOT_FOUND`.
   */
  async wait(id: string, timeoutMs: number, untilInteractive = false): Promise<JobInfo> {
    const job = this.#find(id);
    await this.#waitForJob(job, timeoutMs, untilInteractive);
    return this.#info(job);
  }

  /**
   * Calls `listener` as jobs start, print, change state and end (counts and states only: read
   * output with {@link status}). Returns the unsubscribe. With nobody watching, this costs a
   * check per output chunk.
   */
  watch(listener: (event: JobEvent) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #emit(type: JobEvent['type'], job: Job): void {
    if (this.#watchers.size === 0) return;
    const event: JobEvent = { type, id: job.id, sessionKey: job.sessionKey, state: job.state, totalChars: job.output.totalChars };
    for (const listener of this.#watchers) {
      try {
        listener(event);
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  /** Jobs awaiting approval, running or awaiting input, oldest first. */
  running(): JobInfo[] {
    return [...this.#running.values()].map((job) => this.#info(job));
  }

  /** Finished jobs, newest first (at most `limit`, default 50). */
  history(limit = 50): JobInfo[] {
    return this.#history.slice(0, Math.max(0, limit)).map((job) => this.#info(job));
  }

  /**
   * Ends every running job of a session, because the session is being closed: their shells are
   * closed and they finish as `interrupted` with error `SESSION_CLOSED` and `reason`. Resolves
   * once they have all left the running states.
   *
   * @returns the ids of the jobs ended.
   */
  async endJobsOn(sessionKey: string, reason = `the session ${sessionKey} was closed`): Promise<string[]> {
    return this.#end([...this.#running.values()].filter((job) => job.sessionKey === sessionKey), reason);
  }

  /** Ends every running job (closing their shells), for shutdown. */
  async dispose(reason = 'the job manager was shut down'): Promise<string[]> {
    return this.#end([...this.#running.values()], reason);
  }

  async #end(jobs: Job[], reason: string): Promise<string[]> {
    const ending = jobs.map(async (job) => {
      job.endedBy ??= reason;
      if (job.state === 'awaiting_approval') {
        // Not started: it never will (its approval is withdrawn). Approved and starting: closed once it runs.
        job.withdraw?.('interrupted', { code: 'SESSION_CLOSED', message: reason });
        await job.started;
      }
      if (isActive(job.state)) job.shell.close();
      await job.ended;
    });
    await Promise.all(ending);
    return jobs.map((job) => job.id);
  }

  /** The running jobs of one session (its key). */
  runningOn(sessionKey: string): JobInfo[] {
    return this.running().filter((job) => job.sessionKey === sessionKey);
  }

  #checkStart(command: string): void {
    if (typeof command !== 'string' || command.trim() === '') throw new TypeError('command must be a non-empty string');
    if (this.#running.size + this.#starting >= this.#maxRunning) {
      throw new SshJobError('JOB_LIMIT_REACHED', `${this.#running.size} jobs are running (limit ${this.#maxRunning}); wait for or interrupt one`);
    }
  }

  /**
   * A job that waits for `approval` before its command starts: in #running (it counts against the
   * limit) with no shell of its own and no output, until the approval settles.
   */
  #awaitApproval(target: JobTarget, command: string, pipeOutput: boolean, approval: NonNullable<JobRunOptions['approval']>): Job {
    this.#checkStart(command);
    const job = this.#record(target, command, target.shell, 'primary', null, undefined);
    const controller = new AbortController();
    const endUnrun = (state: 'failed' | 'interrupted', error: { code: string; message: string }): void => {
      if (job.state !== 'awaiting_approval') return;
      job.withdraw = undefined;
      job.state = state;
      job.error = error;
      job.endedAt = Date.now();
      this.#retire(job);
      job.markStarted();
      job.markEnded();
    };
    job.withdraw = (state, error) => {
      endUnrun(state, error);
      controller.abort(new Error(error.message));
    };
    this.#running.set(job.id, job);
    this.#emit('start', job);
    let asked: Promise<void>;
    try {
      asked = Promise.resolve(approval({ id: job.id, signal: controller.signal }));
    } catch (error) {
      asked = Promise.reject(error as Error);
    }
    asked.then(
      async () => {
        if (job.state !== 'awaiting_approval') return;
        job.withdraw = undefined;
        try {
          await this.#startOn(target, command, pipeOutput, () => undefined, job);
        } catch (error) {
          endUnrun('failed', errorOf(error, 'FAILED'));
        }
      },
      (error: unknown) => endUnrun('failed', errorOf(error, 'NOT_APPROVED')),
    );
    return job;
  }

  async #start(target: JobTarget, command: string, pipeOutput: boolean): Promise<Job> {
    this.#checkStart(command);
    // A start counts against the limit from here until its job is in #running (then it counts
    // there): released exactly once, so concurrent starts are never counted twice.
    this.#starting++;
    let reserved = true;
    const release = (): void => {
      if (!reserved) return;
      reserved = false;
      this.#starting--;
    };
    try {
      return await this.#startOn(target, command, pipeOutput, release);
    } finally {
      release();
    }
  }

  /** Starts the command in the session's shell (or a second one); fills in `existing` (an approved job) or makes a new job. */
  async #startOn(target: JobTarget, command: string, pipeOutput: boolean, release: () => void, existing?: Job): Promise<Job> {
    let shell = target.shell;
    let kind: 'primary' | 'extra' = 'primary';
    let workingDirectory: string | null = null;
    const holder = this.#busy.get(shell);
    if (holder) {
      if (!target.openShell) {
        throw new SshJobError(
          'SESSION_BUSY',
          `job ${holder.id} (${JSON.stringify(this.#redactor.redact(holder.command).slice(0, 80))}) is still ${holder.state} on ${target.key}; ` +
            'wait for it (status), answer it (send input) or interrupt it first',
          { details: { runningJobId: holder.id } },
        );
      }
      // The session is busy: a second shell on the same connection, in the same directory.
      workingDirectory = (await target.shell.workingDirectory()) ?? null;
      shell = await target.openShell();
      kind = 'extra';
      if (workingDirectory !== null) {
        const cd = await shell.run(`cd -- ${shellQuote(workingDirectory)}`, { timeoutMs: 10_000 }).catch(() => undefined);
        if (cd?.exitCode !== 0) workingDirectory = null;
      }
    }
    let handle: JobShellCommand;
    try {
      handle = pipeOutput ? shell.start(command, { pipeOutput }) : shell.start(command);
    } catch (error) {
      if (kind === 'extra') shell.close();
      throw error;
    }
    let job: Job;
    if (existing) {
      job = existing;
      job.shell = shell;
      job.kind = kind;
      job.workingDirectory = workingDirectory;
      job.handle = handle;
      job.output = handle.output;
      job.state = 'running';
      job.ranAt = Date.now();
    } else {
      job = this.#record(target, command, shell, kind, workingDirectory, handle);
    }
    release();
    this.#running.set(job.id, job);
    if (kind === 'primary') this.#busy.set(shell, job);
    this.#emit(existing ? 'state' : 'start', job);
    const observer = this.#observer;
    if (observer) {
      this.#observe(() => observer.start?.(this.#info(job)));
      const which = { id: job.id, sessionKey: job.sessionKey };
      // Output is passed on redacted, holding back the end that could be the start of a secret
      // cut between two chunks (redacting each chunk alone would let `hunt` + `er2` through).
      let carry = '';
      const emit = (redacted: string): void => {
        if (redacted.length > 0) this.#observe(() => observer.output?.(which, redacted));
      };
      const redact = (text: string): string => this.#redactor.redact(text);
      handle.subscribe((event) => {
        if (event.type !== 'output') return;
        const text = carry + event.text;
        let cut = Math.max(0, text.length - Math.max(0, this.#redactor.longest - 1));
        // Never cut through a whole secret either: back off until both sides redact as the whole does.
        const whole = redact(text);
        let head = redact(text.slice(0, cut));
        while (cut > 0 && head + redact(text.slice(cut)) !== whole) head = redact(text.slice(0, --cut));
        carry = text.slice(cut);
        emit(head);
      });
      const flush = (): void => {
        emit(redact(carry));
        carry = '';
      };
      handle.done.then(flush, flush);
    }
    handle.subscribe((event) => {
      if (!isActive(job.state)) return;
      if (event.type === 'output') {
        this.#emit('output', job);
        return;
      }
      const before = job.state;
      // Input typed into a full-screen program does not end its `awaiting_input`.
      if (event.type === 'awaiting-input') job.state = event.prompt !== undefined || handle.fullScreen ? 'awaiting_input' : 'running';
      else if (event.type === 'screen') job.state = event.active || handle.awaitingInput !== undefined ? 'awaiting_input' : 'running';
      if (job.state !== before) this.#emit('state', job);
    });
    handle.done.then(
      (result) => this.#finish(job, result, undefined),
      (error: unknown) => this.#finish(job, undefined, error),
    );
    // Settle `ended` only after #finish ran (both hang off `done`, in this order).
    handle.done.then(job.markEnded, job.markEnded);
    job.markStarted();
    // Closed while its shell was opening (it had just been approved). An interrupt asked for
    // meanwhile is sent by interrupt(), which waits for this start.
    if (job.endedBy !== null) shell.close();
    return job;
  }

  /** A new job record: running `handle`, or (no handle) awaiting approval. */
  #record(target: JobTarget, command: string, shell: JobShell, kind: 'primary' | 'extra', workingDirectory: string | null, handle: JobShellCommand | undefined): Job {
    let markStarted!: () => void;
    let markEnded!: () => void;
    const now = Date.now();
    return {
      id: randomUUID(),
      command,
      sessionKey: target.key,
      shell,
      kind,
      workingDirectory,
      startedAt: now,
      ranAt: handle ? now : null,
      started: new Promise<void>((resolve) => {
        markStarted = resolve;
      }),
      withdraw: undefined,
      handle,
      output: handle ? handle.output : new OutputWindow({ headChars: 0, tailChars: 0 }),
      state: handle ? 'running' : 'awaiting_approval',
      exitCode: null,
      endedAt: null,
      freshShell: false,
      interruptRequested: false,
      endedBy: null,
      interrupt: null,
      error: null,
      ended: new Promise<void>((resolve) => {
        markEnded = resolve;
      }),
      markStarted: () => markStarted(),
      markEnded: () => markEnded(),
    };
  }

  #finish(job: Job, result: JobShellResult | undefined, error: unknown): void {
    job.endedAt = Date.now();
    if (result) {
      job.exitCode = result.exitCode;
      job.freshShell = result.freshShell;
      // A program that handled Ctrl+C and exited 0 completed; otherwise the interrupt ended it.
      job.state = job.interruptRequested && result.exitCode !== 0 ? 'interrupted' : 'completed';
      if (result.failure !== undefined && job.state === 'completed') {
        job.state = 'failed';
        job.error = { code: 'COMMAND_FAILED', message: result.failure };
      }
    } else if (job.endedBy !== null) {
      job.error = { code: 'SESSION_CLOSED', message: job.endedBy };
      job.state = 'interrupted';
    } else {
      const code = isSshError(error) ? error.code : 'FAILED';
      const message = error instanceof Error ? error.message : String(error);
      job.error = { code, message };
      // `exit 7` ended the shell: its status is the command's, even though the shell is gone.
      const shellStatus = isSshError(error) && code === 'SHELL_EXITED' ? error.details.exitCode : undefined;
      if (typeof shellStatus === 'number') job.exitCode = shellStatus;
      job.state = job.interruptRequested ? 'interrupted' : code === 'CONNECTION_CLOSED' ? 'connection_lost' : 'failed';
    }
    this.#retire(job);
  }

  /** An ended job leaves the running set for the history, and is reported. */
  #retire(job: Job): void {
    this.#running.delete(job.id);
    if (this.#busy.get(job.shell) === job) this.#busy.delete(job.shell);
    if (job.kind === 'extra') job.shell.close();
    job.handle = undefined;
    this.#history.unshift(job);
    if (this.#history.length > this.#historyLimit) this.#history.length = this.#historyLimit;
    this.#trimHistory();
    this.#emit('end', job);
    if (this.#onJobEnd) {
      try {
        this.#onJobEnd(this.#info(job));
      } catch {
        // An observer's failure must not break the job manager.
      }
    }
  }

  /** Cuts older finished jobs down to `historyOutput` while the history keeps more than its budget. */
  #trimHistory(): void {
    const kept = (entry: Job): number => entry.output.keptChars;
    let total = this.#history.reduce((sum, entry) => sum + kept(entry), 0);
    const floor = this.#historyOutput.headChars + this.#historyOutput.tailChars;
    for (let i = this.#history.length - 1; i >= 0 && total > this.#historyBudgetChars; i--) {
      const entry = this.#history[i] as Job;
      const before = kept(entry);
      if (before <= floor) continue;
      entry.output = entry.output.shrunk(this.#historyOutput);
      total -= before - kept(entry);
    }
  }

  /** Resolves when the job ends, waits for input (when asked), or `timeoutMs` passes. */
  async #waitForJob(job: Job, timeoutMs: number, returnWhenInteractive: boolean): Promise<void> {
    if (job.state === 'awaiting_approval') {
      const asked = Date.now();
      await withTimeout(job.started, timeoutMs);
      if (job.state === 'awaiting_approval' || isEnded(job.state)) return;
      timeoutMs -= Date.now() - asked;
    }
    const waits: Promise<void>[] = [job.ended];
    let unsubscribe: (() => void) | undefined;
    if (returnWhenInteractive) {
      waits.push(
        new Promise<void>((resolve) => {
          if (job.state === 'awaiting_input') resolve();
          unsubscribe = job.handle?.subscribe(() => {
            if (job.state === 'awaiting_input') resolve();
          });
        }),
      );
    }
    try {
      await withTimeout(Promise.race(waits), timeoutMs);
    } finally {
      unsubscribe?.();
    }
  }

  #followProgress(job: Job, onProgress: (progress: JobProgress) => void): () => void {
    let last = 0;
    let timer: NodeJS.Timeout | undefined;
    let recent = '';
    const report = (): void => {
      timer = undefined;
      last = Date.now();
      const lastLine = this.#redactor.redact(recent).split('\n').filter((line) => line.trim() !== '').at(-1) ?? '';
      try {
        onProgress({ id: job.id, totalChars: job.output.totalChars, lastLine: lastLine.slice(-200) });
      } catch {
        // A progress consumer's failure must not break the job.
      }
    };
    let stopped = false;
    let unsubscribe: (() => void) | undefined;
    const follow = (): void => {
      if (stopped) return;
      unsubscribe = job.handle?.subscribe((event) => {
        if (event.type !== 'output') return;
        recent = (recent + event.text).slice(-400);
        if (timer) return;
        const wait = last + this.#progressIntervalMs - Date.now();
        if (wait <= 0) report();
        else timer = setTimeout(report, wait);
      });
    };
    // A job awaiting approval has no output yet: followed once it runs.
    if (job.handle) follow();
    else void job.started.then(follow);
    return () => {
      stopped = true;
      unsubscribe?.();
      clearTimeout(timer);
    };
  }

  #read(job: Job, options: JobStatusOptions): JobOutput {
    const maxChars = Math.max(1, options.maxChars ?? DEFAULTS.maxChars);
    const window = job.output;
    if (options.tailLines !== undefined) {
      const total = window.totalChars;
      // The last lines come from the kept tail only: never glued across the dropped part.
      let piece = window.read(Math.max(0, total - maxChars), maxChars);
      if (piece.nextOffset < total) piece = window.read(piece.nextOffset, maxChars);
      const lines = piece.text.split('\n');
      const endsWithNewline = lines.at(-1) === '';
      if (endsWithNewline) lines.pop();
      const kept = options.tailLines <= 0 ? [] : lines.slice(-options.tailLines);
      const length = kept.join('\n').length + (endsWithNewline && kept.length > 0 ? 1 : 0);
      return this.#redactedRange(window, total - length, total, 0, isActive(job.state));
    }
    const from = options.sinceOffset ?? 0;
    const piece = window.read(from, maxChars);
    return this.#redactedRange(window, piece.offset, piece.nextOffset, piece.skippedChars, isActive(job.state));
  }

  /**
   * The kept output between two raw offsets, redacted. A boundary inside a secret moves to the
   * secret's end, so no page shows part of one; offsets count the raw output.
   */
  #redactedRange(window: OutputWindow, start: number, end: number, skippedChars: number, live = false): JobOutput {
    const pad = this.#redactor.longest;
    let from = start;
    let to = end;
    // Still printing: an end that could be the first part of a secret waits for the rest.
    if (live && pad > 1 && to === window.totalChars && to > from) {
      const tail = window.read(Math.max(from, to - (pad - 1)), pad - 1);
      if (tail.nextOffset === to) to -= Math.min(to - from, this.#heldBack(tail.text));
    }
    if (pad > 0) {
      const around = window.read(Math.max(start - pad, 0), end - start + 2 * pad);
      // A read never spans the dropped part: only adjust when the window is contiguous here.
      if (around.offset <= start && around.nextOffset >= end) {
        for (const [a, b] of this.#redactor.find(around.text)) {
          const secretStart = around.offset + a;
          const secretEnd = around.offset + b;
          if (secretStart < from && from < secretEnd) from = secretEnd;
          if (secretStart < to && to < secretEnd) to = secretEnd;
        }
      }
    }
    const piece = window.read(from, Math.max(0, to - from));
    return {
      text: this.#redactor.redact(piece.text),
      offset: piece.offset,
      nextOffset: piece.nextOffset,
      skippedChars,
      totalChars: piece.totalChars,
      more: piece.nextOffset < piece.totalChars,
    };
  }

  /** How many characters at the end of `text` could start a known secret still arriving (they wait for the rest). */
  #heldBack(text: string): number {
    const longest = this.#redactor.longest;
    return longest > 1 ? this.#redactor.partialAtEnd(text.slice(-(longest - 1))) : 0;
  }

  #find(id: string): Job {
    const job = this.#running.get(id) ?? this.#history.find((entry) => entry.id === id);
    if (!job) {
      throw new SshJobError('JOB_NOT_FOUND', `no job ${JSON.stringify(id)} (finished jobs are kept for the last ${this.#historyLimit})`, {
        details: { id },
      });
    }
    return job;
  }

  #observe(notify: () => void): void {
    try {
      notify();
    } catch {
      // A recorder's failure must not break a job.
    }
  }

  #info(job: Job): JobInfo {
    // Counts only: a snapshot would copy the whole kept output on every status and listing.
    const { totalChars, keptChars } = job.output;
    const redact = (text: string): string => this.#redactor.redact(text);
    return {
      id: job.id,
      command: redact(job.command),
      sessionKey: job.sessionKey,
      state: job.state,
      exitCode: job.exitCode,
      startedAt: new Date(job.startedAt).toISOString(),
      ranAt: job.ranAt === null ? null : new Date(job.ranAt).toISOString(),
      endedAt: job.endedAt === null ? null : new Date(job.endedAt).toISOString(),
      durationMs: (job.endedAt ?? Date.now()) - job.startedAt,
      totalChars,
      droppedChars: totalChars - keptChars,
      awaitingInput: job.handle?.awaitingInput !== undefined ? redact(job.handle.awaitingInput) : null,
      fullScreen: job.handle?.fullScreen === true,
      shell: job.kind,
      workingDirectory: job.workingDirectory,
      freshShell: job.freshShell,
      interrupt: job.interrupt,
      error: job.error ? { code: job.error.code, message: redact(job.error.message) } : null,
    };
  }
}

/** Running or waiting for input: its command has a shell. */
function isActive(state: JobState): boolean {
  return state === 'running' || state === 'awaiting_input';
}

/** It will not change again. */
function isEnded(state: JobState): boolean {
  return state !== 'awaiting_approval' && !isActive(state);
}

/** A stable code and message for why a job ended without running. */
function errorOf(error: unknown, fallback: string): { code: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return { code: typeof code === 'string' && code !== '' ? code : fallback, message: error instanceof Error ? error.message : String(error) };
}

/** Node timers overflow past 2^31 - 1 ms (and fire at once): longer waits, or Infinity, wait without a timer. */
const MAX_TIMER_MS = 2_147_483_647;

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  if (!(ms < MAX_TIMER_MS)) {
    await promise;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Input as a model writes it: `\n`, `\r`, `\t`, `\\` and `\xHH` become their characters (a real
 * newline stays a newline).
 */
export function unescapeInput(text: string): string {
  return text.replace(/\\(n|r|t|\\|x[0-9a-fA-F]{2})/g, (_whole, escape: string) => {
    if (escape === 'n') return '\n';
    if (escape === 'r') return '\r';
    if (escape === 't') return '\t';
    if (escape === '\\') return '\\';
    return String.fromCharCode(Number.parseInt(escape.slice(1), 16));
  });
}

/** `text` as one single-quoted shell word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
