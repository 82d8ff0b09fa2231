import type { SshChannel, SshConnection } from '../connection';
import { SshSessionError } from '../errors';
import { OutputWindow, type OutputSnapshot } from '../output';
import type { CommandHandle, InterruptOutcome, ShellCommandEvent } from '../shell-session';
import { DEVICE_PROFILES, deviceProfile, generic, modeOf, PAGER_PROMPTS, promptPattern, type DeviceMode, type DeviceProfile } from './profiles';
import { TerminalLines } from './terminal-lines';

export interface DeviceSessionOptions {
  /** netmiko `device_type` (`cisco_ios`, `juniper_junos`…) or `autodetect` (default). */
  readonly deviceType?: string;
  /** A profile of your own; wins over `deviceType`. */
  readonly profile?: DeviceProfile;
  /** Enable secret. An empty string is a valid secret (an empty line is sent). */
  readonly enablePassword?: string;
  /** Command that enters privileged mode. Default: the profile's (`enable`). */
  readonly enableCommand?: string;
  /** Login, prompt discovery, detection and preparation together. Default 20000. */
  readonly startupTimeoutMs?: number;
  /** Output kept per command: head and rolling tail. Default 2 Mi characters each. */
  readonly outputLimits?: { readonly headChars: number; readonly tailChars: number };
  /** Quiet time after a question-like last line before a command counts as waiting for input. Default 300. */
  readonly inputPromptQuietMs?: number;
  /**
   * Auto-detection may send the candidates' version command (`show version`) when the prompt
   * alone does not tell the vendor. Default true; false picks by prompt shape only (used after a
   * device dropped the connection on that probe).
   */
  readonly probeVersion?: boolean;
}

/** How the profile was chosen. */
export interface DeviceDetection {
  readonly profile: string;
  /** `given` (deviceType or profile), `prompt` (a vendor-only prompt shape), `version` (the version command's output), `fallback` (generic). */
  readonly by: 'given' | 'prompt' | 'version' | 'fallback';
  /** What was seen: the login prompt and, when probed, the command and whether it answered. */
  readonly evidence: string;
}

/** A finished device command. */
export interface DeviceResult {
  /** What the device printed: no echo, no prompt, no pager prompts, `\n` line ends, no ANSI. */
  readonly output: string;
  /** Devices report no exit status: always null, never a made-up 0. */
  readonly exitCode: null;
  /** The first line that matched one of the profile's failure indicators (`% Invalid input…`). */
  readonly failure: string | undefined;
  /** The prompt the command ended at, and the mode it shows. */
  readonly prompt: string;
  readonly mode: DeviceMode;
  readonly totalChars: number;
  readonly droppedChars: number;
  readonly durationMs: number;
  readonly freshShell: boolean;
}

export interface DeviceInfo {
  readonly profile: string;
  readonly vendor: string;
  /** The base prompt learned at login (usually the host name). */
  readonly basePrompt: string;
  /** The last prompt seen, e.g. `router1(config-if)#`. */
  readonly prompt: string;
  readonly mode: DeviceMode;
  /** In privileged (or config) mode. */
  readonly enabled: boolean;
}

/** How {@link DeviceSession.configure} applies a change. */
export interface ConfigureOptions {
  /** Output that also marks a line as failed, besides the profile's failure lines. */
  readonly errorPattern?: RegExp;
  /** Candidate-config platforms: check, then commit. Default false (the candidate is discarded). */
  readonly commit?: boolean;
  /** With `commit`: a commit the device rolls back after this many minutes unless confirmed ({@link DeviceSession.confirmCommit}). */
  readonly commitConfirmedMinutes?: number;
  /** Candidate-config platforms: show the candidate against the running config, then discard it. */
  readonly dryRun?: boolean;
  /** Save the configuration for the next boot once it applied (the profile's save command, its questions answered). */
  readonly save?: boolean;
  /** Per line (and per commit, save). Default 30000. */
  readonly lineTimeoutMs?: number;
}

/** One configuration line as the device answered it. */
export interface ConfigLineResult {
  readonly line: string;
  /** The prompt the line was typed at (`sw1(config-if)#`). */
  readonly prompt: string;
  readonly output: string;
  readonly ok: boolean;
  /** The failure line, when it failed. */
  readonly failure?: string;
}

/** One step after the lines: commit check, commit, discard, compare, save. */
export interface ConfigStepResult {
  readonly command: string;
  /** The prompt the command was typed at. */
  readonly prompt: string;
  readonly output: string;
  readonly ok: boolean;
  readonly failure?: string;
}

export interface ConfigureResult {
  /** The lines sent, in order, each with its output; the last is the failing one when one failed. */
  readonly lines: readonly ConfigLineResult[];
  /** The lines after a failing one: never sent. */
  readonly notSent: readonly string[];
  /** Every line was accepted, and (when asked) the commit and the save succeeded. */
  readonly ok: boolean;
  /** True when the device holds the change now: applied (no candidate), or committed. */
  readonly applied: boolean;
  /** Candidate platforms: the commit was made with a confirmation deadline (minutes). */
  readonly confirmBy: number | null;
  /** The candidate against the running config (dry run), as the device printed it. */
  readonly compare: string | null;
  /** Commit check, commit, discard, compare and save, as sent. */
  readonly steps: readonly ConfigStepResult[];
  readonly saved: boolean;
  /** The prompt and mode it ended in (config mode is left). */
  readonly prompt: string;
  readonly mode: DeviceMode;
  /** Why it is not applied, or what to do next, in a sentence. */
  readonly summary: string;
}

/** A command on a device: the same shape as a POSIX `ShellCommand` (never full-screen). */
export interface DeviceCommand extends CommandHandle<DeviceResult> {
  readonly fullScreen: false;
}

const DEFAULTS = Object.freeze({
  startupTimeoutMs: 20_000,
  outputLimits: { headChars: 2_097_152, tailChars: 2_097_152 },
  inputPromptQuietMs: 300,
  interruptGraceMs: 2_000,
});

/**
 * A question waiting for an answer: `Destination filename [startup-config]? `, `[confirm]`,
 * `Password:`, `Save? (y/n)`, Junos `Reboot the system ? [yes,no] (no) `.
 */
const QUESTION_LIKE = /\S[^]*(?:[:?\]]|\((?:y(?:es)?[/,]n(?:o)?|yes|no|y|n)\))\s*$/i;
/** Before the vendor is known, any vendor's login question may come. */
const ALL_LOGIN_ANSWERS = DEVICE_PROFILES.flatMap((profile) => profile.loginAnswers);
/** Commands that rename the device, and so its prompt. */
const RENAME = /^\s*(?:hostname|sysname|set system host-name|\/?system identity set)\b/i;
/** Any prompt a CLI may show, for the first look before the vendor is known. */
const ANY_PROMPT = /[>#$%\]]\s*$/;

interface Waiter {
  /** Called after each chunk of output; returns true once satisfied. */
  check(): boolean;
}

/**
 * A persistent CLI session on a network device (Cisco, Arista, Juniper, MikroTik, Huawei, HP…)
 * over one PTY shell channel. The prompt is learned at login; a command completes the moment
 * that prompt, in any mode, is the last line again — never after idle time. Paging is turned
 * off at the start and pager prompts are still answered. Exit codes are `null`; the profile's
 * failure indicators mark a result as failed.
 */
export class DeviceSession {
  readonly #connection: SshConnection;
  readonly #options: DeviceSessionOptions;
  #profile: DeviceProfile;
  #channel: SshChannel | undefined;
  #lines = new TerminalLines();
  #base = '';
  #promptRe: RegExp = /$^/;
  #prompt = '';
  #mode: DeviceMode = 'user';
  #waiter: Waiter | undefined;
  #closed: SshSessionError | undefined;
  #queue: DeviceCommandImpl[] = [];
  #running: DeviceCommandImpl | undefined;
  #freshShell = false;
  #enableSecret: string | undefined;
  /** Login and preparation are done: queued commands may run. */
  #ready = false;
  #detection: DeviceDetection;
  /** A `super` was accepted where the prompt cannot show it (Huawei, H3C). */
  #elevated = false;

  /** The config session whose commit timer runs (EOS), for {@link confirmCommit}. */
  #confirmSession: string | undefined;

  private constructor(connection: SshConnection, options: DeviceSessionOptions, profile: DeviceProfile) {
    this.#connection = connection;
    this.#options = options;
    this.#profile = profile;
    this.#enableSecret = options.enablePassword;
    this.#detection = { profile: profile.name, by: 'given', evidence: '' };
  }

  /**
   * Opens a shell channel, answers login questions, learns the prompt, picks the profile (given,
   * or detected from the prompt and the version output), turns paging off, and enters enable
   * mode when a secret is given.
   *
   * @throws SshSessionError `PROMPT_NOT_FOUND` (no prompt, or not the profile's), `ENABLE_FAILED`,
   *   `CHANNEL_OPEN_FAILED`, `CONNECTION_CLOSED`.
   * @throws RangeError for an unknown `deviceType`.
   */
  static async open(connection: SshConnection, options: DeviceSessionOptions = {}): Promise<DeviceSession> {
    const wanted = options.profile ?? (options.deviceType && options.deviceType !== 'autodetect' ? deviceProfile(options.deviceType) : undefined);
    const session = new DeviceSession(connection, options, wanted ?? generic);
    await session.#start(wanted === undefined);
    return session;
  }

  get info(): DeviceInfo {
    return {
      profile: this.#profile.name,
      vendor: this.#profile.vendor,
      basePrompt: this.#base,
      prompt: this.#prompt,
      mode: this.#mode,
      enabled: this.#mode !== 'user',
    };
  }

  get profile(): DeviceProfile {
    return this.#profile;
  }

  /** How the profile was chosen (given, or auto-detected and from what). */
  get detection(): DeviceDetection {
    return this.#detection;
  }

  get isOpen(): boolean {
    return this.#closed === undefined && this.#channel !== undefined;
  }

  /** Sets (or clears) the enable secret used from the next command on. */
  setEnablePassword(secret: string | undefined): void {
    this.#enableSecret = secret;
  }

  /** Queues a command (one line, or several sent one by one, each up to its prompt). */
  start(command: string): DeviceCommand {
    if (typeof command !== 'string' || command.trim() === '') throw new TypeError('command must be a non-empty string');
    if (/[\0-\x08\x0b-\x0c\x0e-\x1f\x7f]/.test(command)) {
      throw new TypeError('command must not contain control characters (send keys to a running command instead)');
    }
    const handle: DeviceCommandImpl = new DeviceCommandImpl(command, this.#options.outputLimits ?? DEFAULTS.outputLimits, this.#options.inputPromptQuietMs ?? DEFAULTS.inputPromptQuietMs, {
      interrupt: (graceMs?: number): Promise<InterruptOutcome> => this.#interrupt(handle, graceMs),
      write: (text) => this.#write(text),
    });
    if (this.#closed) {
      handle.fail(this.#closed);
      return handle;
    }
    this.#queue.push(handle);
    void this.#pump();
    return handle;
  }

  /**
   * Runs a command and resolves with its result.
   *
   * @throws SshSessionError `READ_TIMEOUT` (the command was interrupted), `SHELL_EXITED`,
   *   `CONNECTION_CLOSED`, `ENABLE_FAILED`.
   */
  async run(command: string, options: { readonly timeoutMs?: number } = {}): Promise<DeviceResult> {
    const handle = this.start(command);
    if (options.timeoutMs === undefined) return handle.done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const seen = handle.snapshot();
        void handle.interrupt();
        reject(
          new SshSessionError('READ_TIMEOUT', `the device did not return to its prompt within ${options.timeoutMs} ms; the command was interrupted. Last output: ${JSON.stringify(seen.text.slice(-200))}`, {
            details: { timeoutMs: options.timeoutMs, prompt: this.#prompt },
          }),
        );
      }, options.timeoutMs);
    });
    try {
      return await Promise.race([handle.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Enters privileged mode with the enable secret (given here, or at open). Does nothing when
   * already there.
   *
   * @throws SshSessionError `ENABLE_FAILED` (wrong or missing secret; the session stays usable).
   */
  async enable(secret?: string): Promise<void> {
    if (secret !== undefined) this.#enableSecret = secret;
    await this.#exclusive(() => this.#enable());
  }

  /**
   * Applies configuration lines: enters the profile's config mode, sends each line up to its
   * prompt, and stops at the first whose output shows a failure (the profile's failure lines, or
   * `errorPattern`): the lines after it are not sent. On a candidate-config platform (Junos,
   * IOS-XR…) the candidate is then committed (`commit`: `commit check` first, or `commit confirmed`),
   * compared (`dryRun`), or discarded — and always discarded after a failure, so it is left clean.
   * Config mode is left; `save` saves once everything applied, answering the save command's
   * questions (only because the caller asked to save).
   *
   * @throws SshSessionError `INVALID_ARGUMENT` (no lines; commit or dry run without a candidate
   *   config; a profile without config mode asked to commit), `ENABLE_FAILED`, `READ_TIMEOUT`,
   *   `CONFIG_FAILED` (config mode could not be entered), `SHELL_EXITED`, `CONNECTION_CLOSED`.
   */
  async configure(lines: readonly string[], options: ConfigureOptions = {}): Promise<ConfigureResult> {
    const wanted = lines.map((line) => line.replace(/\s+$/, '')).filter((line) => line.trim() !== '');
    if (wanted.length === 0) throw new SshSessionError('INVALID_ARGUMENT', 'no configuration lines to send');
    for (const line of wanted) {
      if (/[\0-\x08\x0b-\x1f\x7f]/.test(line)) throw new SshSessionError('INVALID_ARGUMENT', `configuration line ${JSON.stringify(line)} contains a control character`);
    }
    const profile = this.#profile;
    // EOS: a config session only for a commit or a dry run; `configure terminal` otherwise.
    const candidate = profile.candidate && (!profile.candidate.optional || options.commit || options.dryRun) ? profile.candidate : undefined;
    if ((options.commit || options.dryRun) && !candidate) {
      throw new SshSessionError('INVALID_ARGUMENT', `${profile.name} applies each line at once (no candidate configuration): leave out ${options.commit ? 'commit' : 'dry_run'}`);
    }
    if (options.dryRun && !candidate?.compare) throw new SshSessionError('INVALID_ARGUMENT', `${profile.name} has no command to compare a candidate (dry_run)`);
    if (options.save && !profile.save) throw new SshSessionError('INVALID_ARGUMENT', `${profile.name} has no save command in its profile`);
    const lineMs = options.lineTimeoutMs ?? 30_000;
    return this.#exclusive(async () => {
      if (this.#needsEnable()) await this.#enable();
      const steps: ConfigStepResult[] = [];
      const step = async (command: string, failure?: RegExp, answers?: readonly { readonly pattern: RegExp; readonly answer: string }[]): Promise<ConfigStepResult> => {
        const prompt = this.#prompt;
        const result = await this.#exchange(command, Date.now() + lineMs, answers ? this.#answering(answers) : undefined);
        const failed = result.failure ?? (failure ? failure.exec(result.output)?.[0]?.trim() : undefined);
        const done: ConfigStepResult = { command, prompt, output: result.output, ok: failed === undefined, ...(failed === undefined ? {} : { failure: failed }) };
        steps.push(done);
        return done;
      };
      const inConfig = (): boolean => this.#mode === 'config';
      const session = `mcp-${Date.now().toString(36)}`;
      const fill = (command: string, minutes?: number): string => fillCommand(command, session, minutes);
      const enter = candidate?.enter === undefined ? profile.configMode?.enter : fill(candidate.enter);
      // A config session is entered even from config mode (it is a mode of its own).
      if (enter !== undefined && (!inConfig() || candidate?.enter !== undefined)) {
        if (candidate?.enter !== undefined && inConfig() && profile.configMode) await this.#exchange(profile.configMode.exit, Date.now() + lineMs);
        const entered = await this.#exchange(enter, Date.now() + lineMs);
        if (entered.failure !== undefined || (profile.modes.config && !inConfig())) {
          throw new SshSessionError('CONFIG_FAILED', `${enter} did not enter configuration mode: ${JSON.stringify((entered.failure ?? entered.output.trim()).slice(-200) || this.#prompt)}`, {
            details: { prompt: this.#prompt },
          });
        }
      }
      const sent: ConfigLineResult[] = [];
      let failedAt = -1;
      for (const [index, line] of wanted.entries()) {
        const prompt = this.#prompt;
        const result = await this.#exchange(line, Date.now() + lineMs);
        const failure = result.failure ?? (options.errorPattern ? options.errorPattern.exec(result.output)?.[0]?.trim() : undefined);
        sent.push({ line, prompt, output: result.output, ok: failure === undefined, ...(failure === undefined ? {} : { failure }) });
        if (failure !== undefined) {
          failedAt = index;
          break;
        }
      }
      const notSent = failedAt < 0 ? [] : wanted.slice(failedAt + 1);
      const blocks = profile.configBlocks;
      for (let open = 0; blocks && inConfig() && open < 16; open++) await this.#exchange(failedAt < 0 ? blocks.end : blocks.abort, Date.now() + lineMs);
      let applied = failedAt < 0 && !candidate;
      let confirmBy: number | null = null;
      let compare: string | null = null;
      let ok = failedAt < 0;
      let summary: string;
      if (candidate) {
        if (failedAt >= 0) {
          await step(candidate.discard);
          summary = `line ${failedAt + 1} of ${wanted.length} failed; the candidate was discarded (${candidate.discard}): nothing was applied`;
        } else if (options.dryRun) {
          compare = (await step(candidate.compare as string)).output;
          await step(candidate.discard);
          summary = 'dry run: the candidate is shown in compare and was discarded; nothing was applied';
        } else if (options.commit) {
          const check = candidate.check ? await step(candidate.check, candidate.failure) : undefined;
          const minutes = options.commitConfirmedMinutes;
          const command = minutes !== undefined && candidate.confirmed ? fill(candidate.confirmed, minutes) : candidate.commit;
          if (minutes !== undefined && !candidate.confirmed) throw new SshSessionError('INVALID_ARGUMENT', `${profile.name} has no confirmed commit`);
          const answers = minutes !== undefined ? candidate.confirmedAnswers : undefined;
          const committed = check && !check.ok ? undefined : await step(command, candidate.failure, answers);
          if (!committed?.ok) {
            ok = false;
            await step(candidate.discard);
            summary = `${check && !check.ok ? candidate.check : command} failed; the candidate was discarded (${candidate.discard}): nothing was applied`;
          } else {
            applied = true;
            confirmBy = minutes ?? null;
            if (minutes !== undefined) this.#confirmSession = session;
            summary = minutes === undefined ? 'committed' : `committed; the device rolls it back in ${minutes} minute(s) unless it is confirmed (confirm_commit)`;
          }
        } else {
          await step(candidate.discard);
          ok = false;
          summary = 'the candidate was discarded: pass commit to apply it, or dry_run to see it against the running configuration';
        }
      } else {
        const before = blocks
          ? `the blocks closed before it are applied, the open ones were closed with ${blocks.abort} (what they set is dropped)`
          : 'the lines before it are applied (this platform has no candidate to discard)';
        summary = failedAt < 0 ? 'applied' : `line ${failedAt + 1} of ${wanted.length} failed; ${before}, the ${notSent.length} after it were not sent`;
      }
      let saved = false;
      const save = profile.save;
      if (options.save && save && ok && applied && save.inConfig && inConfig()) saved = (await step(save.command, undefined, save.answers)).ok;
      if (profile.configMode && inConfig()) await this.#exchange(profile.configMode.exit, Date.now() + lineMs, this.#answering(profile.candidate?.exitAnswers ?? []));
      if (options.save && save && ok && applied && !save.inConfig) saved = (await step(save.command, undefined, save.answers)).ok;
      if (options.save && ok && applied && !saved) {
        ok = false;
        summary += '; the save failed';
      } else if (saved) summary += '; saved';
      return { lines: sent, notSent, ok, applied, confirmBy, compare, steps, saved, prompt: this.#prompt, mode: this.#mode, summary };
    });
  }

  /**
   * Confirms a `commit confirmed` (candidate platforms): enters config mode, sends the profile's
   * confirm (Junos: a plain `commit`), leaves.
   *
   * @throws SshSessionError `INVALID_ARGUMENT` (no confirmed commits here), `CONFIG_FAILED`.
   */
  async confirmCommit(options: { readonly timeoutMs?: number } = {}): Promise<ConfigStepResult> {
    const candidate = this.#profile.candidate;
    if (!candidate?.confirm) throw new SshSessionError('INVALID_ARGUMENT', `${this.#profile.name} has no confirmed commits to confirm`);
    const session = this.#confirmSession;
    if (candidate.confirm.includes('{session}') && session === undefined) {
      throw new SshSessionError('INVALID_ARGUMENT', `no confirmed commit was made in this session: ${this.#profile.name} confirms a commit timer in the config session that set it`);
    }
    const command = fillCommand(candidate.confirm, session ?? '');
    const ms = options.timeoutMs ?? 30_000;
    return this.#exclusive(async () => {
      if (this.#needsEnable()) await this.#enable();
      const config = this.#profile.configMode;
      if (config && this.#mode !== 'config' && !candidate.confirmInExec) await this.#exchange(config.enter, Date.now() + ms);
      if (config && this.#mode === 'config' && candidate.confirmInExec) await this.#exchange(config.exit, Date.now() + ms);
      const prompt = this.#prompt;
      const result = await this.#exchange(command, Date.now() + ms);
      const failure = result.failure ?? candidate.failure.exec(result.output)?.[0]?.trim();
      if (config && this.#mode === 'config') await this.#exchange(config.exit, Date.now() + ms, this.#answering(candidate.exitAnswers ?? []));
      if (failure !== undefined) throw new SshSessionError('CONFIG_FAILED', `${command} failed: ${failure}`, { details: { output: result.output } });
      this.#confirmSession = undefined;
      return { command, prompt, output: result.output, ok: true };
    });
  }

  /** An `extra` for #exchange that answers the questions `answers` knows (each answer then Enter). */
  #answering(answers: readonly { readonly pattern: RegExp; readonly answer: string }[]): () => boolean {
    return () => {
      const current = this.#lines.current;
      const known = answers.find((entry) => entry.pattern.test(current));
      if (!known || this.#promptRe.test(current)) return false;
      this.#lines.clearCurrent();
      this.#channel?.write(`${known.answer}${this.#profile.newline}`);
      return true;
    };
  }

  /** Devices have no working directory to follow. */
  workingDirectory(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  close(): void {
    this.#fail(new SshSessionError('SHELL_EXITED', 'the device session was closed'));
    const channel = this.#channel;
    this.#channel = undefined;
    channel?.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  async #start(detect: boolean): Promise<void> {
    const deadline = Date.now() + (this.#options.startupTimeoutMs ?? DEFAULTS.startupTimeoutMs);
    this.#ready = false;
    let channel = await this.#openChannel();
    try {
      let line = await this.#learnPrompt(deadline);
      if (detect) {
        const detection = await this.#detect(line, deadline);
        if (detection === 'dropped') {
          // The device ended the session on the version command. Never leave it broken: a new
          // shell (the connection permitting) and a choice by the prompt alone.
          if (!this.#connection.isOpen) {
            throw new SshSessionError('CONNECTION_CLOSED', `the device closed the connection when auto-detection sent its version command at the prompt ${JSON.stringify(line)}; reconnect with probeVersion false or give device_type`, {
              details: { prompt: line, versionProbeDropped: true },
            });
          }
          channel = await this.#openChannel();
          line = await this.#learnPrompt(deadline);
          this.#detection = this.#byShape(line, 'the version command closed the session');
        } else {
          this.#detection = detection;
        }
        this.#profile = deviceProfile(this.#detection.profile);
      }
      this.#adopt(line);
      for (const command of this.#profile.preparation) {
        await this.#exchange(command, deadline).catch((error: unknown) => {
          if (error instanceof SshSessionError && error.code === 'READ_TIMEOUT') throw error;
        });
      }
      if (this.#needsEnable()) await this.#enable();
      this.#ready = true;
    } catch (error) {
      channel.destroy();
      this.#channel = undefined;
      throw error;
    }
  }

  /** A new shell channel, the session's from now on (a fresh screen, nothing closed). */
  async #openChannel(): Promise<SshChannel> {
    this.#lines = new TerminalLines();
    this.#elevated = false;
    this.#closed = undefined;
    const channel = await this.#connection.shellChannel({ term: 'vt100', cols: 511, rows: 50 });
    this.#channel = channel;
    channel.on('data', (data: Buffer) => {
      if (this.#channel === channel) this.#onData(data.toString('utf8'));
    });
    channel.on('close', () => {
      if (this.#channel === channel) {
        this.#channel = undefined;
        this.#fail(new SshSessionError(this.#connection.isOpen ? 'SHELL_EXITED' : 'CONNECTION_CLOSED', 'the device closed the session'));
      }
    });
    return channel;
  }

  /** Sends newlines with backoff until a prompt-like last line shows twice the same. */
  async #learnPrompt(deadline: number): Promise<string> {
    const looksLikePrompt = (): boolean => {
      this.#answerLogin();
      const current = this.#lines.current.trim();
      return current !== '' && ANY_PROMPT.test(current);
    };
    // The banner, a license question, the first prompt: whatever comes before we press Enter.
    await this.#until(looksLikePrompt, Math.min(1_500, deadline - Date.now())).catch(() => undefined);
    let previous: string | undefined;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      // Each Enter must bring a new prompt: the old one is not an answer.
      this.#lines.takeLines();
      this.#lines.clearCurrent();
      this.#channel?.write(this.#profile.newline);
      const wait = Math.min(250 * 2 ** attempt, 2_000, Math.max(0, deadline - Date.now()));
      const found = await this.#until(looksLikePrompt, wait).catch(() => false);
      if (!found) {
        previous = undefined;
        continue;
      }
      const line = this.#lines.current.trim();
      if (line === previous) return line;
      previous = line;
    }
    throw new SshSessionError('PROMPT_NOT_FOUND', `no CLI prompt within ${this.#options.startupTimeoutMs ?? DEFAULTS.startupTimeoutMs} ms of login; last line ${JSON.stringify(this.#lines.current.slice(-80))}`);
  }

  #answerLogin(): boolean {
    const current = this.#lines.current;
    for (const { pattern, answer } of this.#profile === generic ? ALL_LOGIN_ANSWERS : this.#profile.loginAnswers) {
      if (pattern.test(current)) {
        this.#lines.clearCurrent();
        this.#channel?.write(answer);
        return true;
      }
    }
    return false;
  }

  /**
   * The profile: by a vendor-only prompt shape, else by what the version command prints
   * (`dropped` when the device closed the session on that command).
   */
  async #detect(line: string, deadline: number): Promise<DeviceDetection | 'dropped'> {
    const shaped = DEVICE_PROFILES.filter((profile) => profile.promptShape?.test(line));
    const candidates = shaped.length > 0 ? shaped : DEVICE_PROFILES.filter((profile) => profile.versionCommand && profile.basePrompt.test(line));
    const seen = `prompt ${JSON.stringify(line)}`;
    if (candidates.length === 1 && !candidates[0]?.versionCommand) return { profile: (candidates[0] as DeviceProfile).name, by: 'prompt', evidence: seen };
    if (candidates.length === 0 || this.#options.probeVersion === false) return this.#byShape(line, this.#options.probeVersion === false ? 'no version probe' : undefined);
    // The probe is sent at the prompt as a candidate reads it (FortiOS `FGT60E #` is no generic prompt).
    this.#profile = candidates.find((profile) => profile.basePrompt.test(line)) ?? this.#profile;
    this.#adopt(line);
    const command = candidates.find((profile) => profile.versionCommand)?.versionCommand ?? 'show version';
    const version = await this.#exchange(command, deadline).catch(() => undefined);
    if (!version && !this.#channel) return 'dropped';
    const match = candidates.find((profile) => profile.versionSignature?.test(version?.output ?? ''));
    if (match) return { profile: match.name, by: 'version', evidence: `${seen}; ${JSON.stringify(command)} names it` };
    return this.#byShape(line, `${JSON.stringify(command)} named no known vendor`);
  }

  /** The profile a prompt alone points to: a single vendor-only shape, else generic. */
  #byShape(line: string, note: string | undefined): DeviceDetection {
    const shaped = DEVICE_PROFILES.filter((profile) => profile.promptShape?.test(line));
    const evidence = `prompt ${JSON.stringify(line)}${note ? `; ${note}` : ''}`;
    return shaped.length === 1 ? { profile: (shaped[0] as DeviceProfile).name, by: 'prompt', evidence } : { profile: generic.name, by: 'fallback', evidence };
  }

  /** Takes `line` as the prompt of the current profile. */
  #adopt(line: string): void {
    const base = this.#profile.basePrompt.exec(line)?.[1];
    if (base === undefined) {
      throw new SshSessionError('PROMPT_NOT_FOUND', `the prompt ${JSON.stringify(line)} does not look like a ${this.#profile.name} prompt; check device_type`, {
        details: { prompt: line, profile: this.#profile.name },
      });
    }
    this.#base = base;
    this.#promptRe = promptPattern(this.#profile, base);
    this.#prompt = line;
    this.#mode = this.#modeOf(line);
  }

  /** The mode a prompt shows, raised to privileged after an accepted `super` the prompt cannot show. */
  #modeOf(prompt: string): DeviceMode {
    const mode = modeOf(this.#profile, prompt);
    return mode === 'user' && this.#elevated ? 'privileged' : mode;
  }

  async #enable(): Promise<void> {
    const spec = this.#profile.enable;
    if (!spec || this.#mode !== 'user') return;
    const secret = this.#enableSecret;
    if (secret === undefined) throw new SshSessionError('ENABLE_FAILED', 'privileged mode needs an enable secret (enable_password); none was given');
    const command = this.#options.enableCommand ?? spec.command;
    let answers = 0;
    let refused = false;
    const result = await this.#exchange(command, Date.now() + 15_000, () => {
      if (!spec.passwordPrompt.test(this.#lines.current)) return false;
      if (answers++ > 0) {
        // A second password prompt: the secret was wrong. Back to the prompt, report it.
        refused = true;
        this.#lines.clearCurrent();
        this.#channel?.write('\x03');
        return true;
      }
      this.#lines.clearCurrent();
      this.#channel?.write(`${secret}${this.#profile.newline}`);
      return true;
    });
    // Huawei: a `super` to a level at or below the current one switches without a password.
    if (spec.promptUnchanged && !refused && !spec.failure.test(result.output)) {
      this.#elevated = true;
      this.#mode = this.#modeOf(this.#prompt);
    }
    if (refused || spec.failure.test(result.output) || this.#mode === 'user') {
      throw new SshSessionError('ENABLE_FAILED', `${command} did not reach privileged mode: ${refused ? 'the enable secret was refused' : JSON.stringify(result.output.trim().slice(-120) || result.prompt)}`, {
        details: { prompt: result.prompt },
      });
    }
  }

  /**
   * An enable secret is set, the profile has an enable command, and the prompt shows user mode
   * (a generic CLI's `$` or `%` prompt is no user mode to leave: nothing is sent there).
   */
  #needsEnable(): boolean {
    if (this.#enableSecret === undefined || !this.#profile.enable || this.#mode !== 'user') return false;
    return this.#profile.modes.user?.test(this.#prompt) ?? true;
  }

  /** Runs `task` with the session to itself (no user command in between). */
  async #exclusive<T>(task: () => Promise<T>): Promise<T> {
    while (this.#running) await this.#running.done.catch(() => undefined);
    const gate = new DeviceCommandImpl('(internal)', { headChars: 0, tailChars: 0 }, 0, { interrupt: () => Promise.resolve('idle'), write: () => false });
    this.#running = gate;
    try {
      return await task();
    } finally {
      this.#running = undefined;
      gate.finish({ output: '', exitCode: null, failure: undefined, prompt: this.#prompt, mode: this.#mode, totalChars: 0, droppedChars: 0, durationMs: 0, freshShell: false });
      void this.#pump();
    }
  }

  async #pump(): Promise<void> {
    if (this.#running || this.#closed || !this.#ready) return;
    const next = this.#queue.shift();
    if (!next) return;
    if (next.state === 'finished') return this.#pump();
    this.#running = next;
    try {
      if (this.#needsEnable()) await this.#enable();
      next.begin();
      const started = Date.now();
      let failure: string | undefined;
      // A pasted block goes line by line, each up to its prompt; the first failing line stops it.
      const lines = next.command.split(/\r?\n/).filter((line) => line.trim() !== '');
      for (const [index, line] of lines.entries()) {
        const result = await this.#exchange(line, undefined, undefined, next);
        if (result.failure !== undefined) {
          failure = lines.length === 1 ? result.failure : blockFailure(result.failure, line, index, lines.length, this.#prompt, this.#mode);
          break;
        }
        if ((next.state as DeviceCommand['state']) === 'finished') break;
      }
      const snapshot = next.snapshot();
      next.finish({
        output: snapshot.text,
        exitCode: null,
        failure,
        prompt: this.#prompt,
        mode: this.#mode,
        totalChars: snapshot.totalChars,
        droppedChars: snapshot.droppedChars,
        durationMs: Date.now() - started,
        freshShell: this.#freshShell,
      });
      this.#freshShell = false;
    } catch (error) {
      next.fail(error instanceof SshSessionError ? error : new SshSessionError('SHELL_EXITED', (error as Error).message, { cause: error }));
    } finally {
      this.#running = undefined;
    }
    void this.#pump();
  }

  /**
   * Sends one line and collects its output up to the prompt: echo dropped, pager prompts answered
   * and removed, the prompt (and a Junos `[edit]` header) left out.
   */
  #exchange(
    line: string,
    deadline: number | undefined,
    extra?: () => boolean,
    sink?: DeviceCommandImpl,
  ): Promise<{ output: string; failure: string | undefined; prompt: string }> {
    const channel = this.#channel;
    if (!channel || this.#closed) return Promise.reject(this.#closed ?? new SshSessionError('SHELL_EXITED', 'the device session is closed'));
    const kept: string[] = [];
    // Blank lines and a Junos `[edit]` header wait: right above the prompt they belong to it.
    let held: string[] = [];
    let echoPending = true;
    let failure: string | undefined;
    const wanted = line.trim();
    const header = this.#profile.promptHeader;
    const emit = (text: string): void => {
      if (failure === undefined) failure = this.#profile.failures.map((re) => re.exec(text)?.[0]?.trim()).find(Boolean);
      if (sink) sink.append(`${text}\n`);
      else kept.push(text);
    };
    const flush = (): void => {
      for (const text of held) emit(text);
      held = [];
    };
    const take = (): void => {
      for (const text of this.#lines.takeLines()) {
        if (echoPending) {
          // The echo of the command (blank lines before it are the device's, not output).
          if (text.trim() === '') continue;
          echoPending = false;
          if (text.trimEnd().endsWith(wanted)) continue;
        }
        if (header && (text.trim() === '' || header.test(text.trim()))) {
          held.push(text);
          continue;
        }
        flush();
        emit(text);
      }
    };
    // The old prompt is still the last line: it must not count as the new one.
    this.#lines.takeLines();
    this.#lines.clearCurrent();
    channel.write(`${line}${this.#profile.newline}`);
    const renames = RENAME.test(line);
    return this.#until(() => {
      take();
      if (extra?.()) return false;
      const current = this.#lines.current;
      // A new host name changes the prompt itself: take the new one when this command set it.
      if (renames && !this.#promptRe.test(current) && this.#profile.basePrompt.test(current.trim()) && !echoPending) this.#adopt(current.trim());
      if (this.#promptRe.test(current)) {
        if (!held.some((text) => header?.test(text.trim()))) flush();
        this.#prompt = current.trim();
        this.#mode = this.#modeOf(this.#prompt);
        return true;
      }
      if (PAGER_PROMPTS.some((re) => re.test(current))) {
        this.#lines.clearCurrent();
        channel.write(' ');
        return false;
      }
      sink?.seeLine(current);
      return false;
    }, deadline === undefined ? undefined : deadline - Date.now()).then(() => ({ output: kept.map((text) => `${text}\n`).join(''), failure, prompt: this.#prompt }));
  }

  /** Resolves once `check` holds after some output (checked at once too), or rejects after `ms`. */
  #until(check: () => boolean, ms: number | undefined): Promise<boolean> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (check()) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter & { reject: (error: Error) => void } = {
        check: () => {
          if (!check()) return false;
          clearTimeout(timer);
          resolve(true);
          return true;
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiter = waiter;
      if (ms !== undefined) {
        timer = setTimeout(() => {
          if (this.#waiter === waiter) this.#waiter = undefined;
          reject(new SshSessionError('READ_TIMEOUT', `no prompt from the device within ${Math.max(0, Math.round(ms))} ms`, { details: { last: this.#lines.current.slice(-80) } }));
        }, Math.max(0, ms));
      }
    });
  }

  #onData(text: string): void {
    this.#lines.feed(text);
    const waiter = this.#waiter;
    if (waiter?.check()) {
      if (this.#waiter === waiter) this.#waiter = undefined;
    }
  }

  #write(text: string): boolean {
    if (!this.#channel || !this.#running) return false;
    this.#channel.write(text);
    return true;
  }

  async #interrupt(handle: DeviceCommandImpl, graceMs: number = DEFAULTS.interruptGraceMs): Promise<InterruptOutcome> {
    if (handle.state === 'finished') return 'idle';
    if (handle.state === 'queued') {
      this.#queue = this.#queue.filter((queued) => queued !== handle);
      handle.fail(new SshSessionError('ABORTED', 'the command was cancelled before it started'));
      return 'cancelled';
    }
    const backAtPrompt = (): boolean => this.#promptRe.test(this.#lines.current);
    // Ctrl+C, then the Cisco escape sequence (Ctrl+^ x) for ping and traceroute.
    for (const keys of ['\x03', '\x1ex', '\x03\n']) {
      this.#channel?.write(keys);
      const back = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), graceMs);
        void handle.done.then(
          () => {
            clearTimeout(timer);
            resolve(true);
          },
          () => {
            clearTimeout(timer);
            resolve(true);
          },
        );
      });
      if (back || backAtPrompt()) return 'interrupted';
    }
    // The device ignores us: a new shell on the same connection.
    this.#fail(new SshSessionError('SHELL_EXITED', 'the command ignored interrupts; the device session was reopened'), true);
    this.#channel?.destroy();
    this.#channel = undefined;
    await this.#start(false);
    this.#freshShell = true;
    void this.#pump();
    return 'restarted';
  }

  /** Fails the running command (and, unless `keepQueue`, every queued one) and marks the session closed. */
  #fail(error: SshSessionError, keepQueue = false): void {
    const waiter = this.#waiter as (Waiter & { reject?: (error: Error) => void }) | undefined;
    this.#waiter = undefined;
    waiter?.reject?.(error);
    this.#running?.fail(error);
    if (!keepQueue) {
      this.#closed = error;
      for (const queued of this.#queue.splice(0)) queued.fail(error);
    }
  }
}

/** Says which line of a multi-line command failed, what was not sent, and where the device is now. */
function blockFailure(failure: string, line: string, index: number, count: number, prompt: string, mode: DeviceMode): string {
  const rest = count - index - 1;
  const notSent = rest > 0 ? `; the ${rest === 1 ? 'line' : `${rest} lines`} after it ${rest === 1 ? 'was' : 'were'} not sent` : '';
  const where = mode === 'config' ? `; the device is still in config mode (${prompt})` : '';
  return `${failure} (line ${index + 1} of ${count}: ${JSON.stringify(line.trim())}${notSent}${where})`;
}

interface CommandControl {
  interrupt(graceMs?: number): Promise<InterruptOutcome>;
  write(text: string): boolean;
}

class DeviceCommandImpl implements DeviceCommand {
  readonly command: string;
  readonly output: OutputWindow;
  readonly fullScreen = false as const;
  readonly done: Promise<DeviceResult>;
  state: 'queued' | 'running' | 'finished' = 'queued';
  awaitingInput: string | undefined;
  readonly #control: CommandControl;
  readonly #listeners = new Set<(event: ShellCommandEvent) => void>();
  readonly #quietMs: number;
  #quietTimer: NodeJS.Timeout | undefined;
  #resolve!: (result: DeviceResult) => void;
  #reject!: (error: Error) => void;

  constructor(command: string, limits: { readonly headChars: number; readonly tailChars: number }, quietMs: number, control: CommandControl) {
    this.command = command;
    this.output = new OutputWindow(limits);
    this.#quietMs = quietMs;
    this.#control = control;
    this.done = new Promise<DeviceResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(() => undefined);
  }

  begin(): void {
    this.state = 'running';
  }

  append(text: string): void {
    this.output.append(text);
    this.#setAwaiting(undefined);
    this.#emit({ type: 'output', text });
  }

  /** The unfinished last line: a question there, quiet for a while, means the command waits for input. */
  seeLine(line: string): void {
    clearTimeout(this.#quietTimer);
    if (this.#quietMs <= 0 || !QUESTION_LIKE.test(line)) {
      this.#setAwaiting(undefined);
      return;
    }
    this.#quietTimer = setTimeout(() => this.#setAwaiting(line.trim()), this.#quietMs);
  }

  finish(result: DeviceResult): void {
    if (this.state === 'finished') return;
    this.#end();
    this.#resolve(result);
  }

  fail(error: Error): void {
    if (this.state === 'finished') return;
    this.#end();
    this.#reject(error);
  }

  interrupt(graceMs?: number): Promise<InterruptOutcome> {
    return this.#control.interrupt(graceMs);
  }

  subscribe(listener: (event: ShellCommandEvent) => void): () => void {
    if (this.state === 'finished') return () => undefined;
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): OutputSnapshot {
    return this.output.snapshot();
  }

  write(text: string): boolean {
    if (this.state !== 'running') return false;
    this.#setAwaiting(undefined);
    return this.#control.write(text);
  }

  #setAwaiting(prompt: string | undefined): void {
    if (prompt === this.awaitingInput) return;
    this.awaitingInput = prompt;
    this.#emit({ type: 'awaiting-input', prompt });
  }

  #emit(event: ShellCommandEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #end(): void {
    clearTimeout(this.#quietTimer);
    this.state = 'finished';
    this.awaitingInput = undefined;
    this.#listeners.clear();
  }
}

/** A profile command with its placeholders filled: `{session}`, `{minutes}`, `{hms}` (`hh:mm:ss`). */
function fillCommand(command: string, session: string, minutes?: number): string {
  const m = minutes ?? 0;
  const hms = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00`;
  return command.replaceAll('{session}', session).replaceAll('{minutes}', String(m)).replaceAll('{hms}', hms);
}
