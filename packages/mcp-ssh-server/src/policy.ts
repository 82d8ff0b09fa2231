import { APPROVAL_MODES, type ApprovalMode } from './approvals';
import { ServerError } from './errors';

/**
 * What the operator allows the model to do. A guard rail, not a sandbox: a shell that may run
 * commands can run anything its user can, so real limits belong on the host (an account, sudoers).
 */
export interface PolicyOptions {
  /**
   * Host patterns (`*` and `?` globs, case-insensitive; `*` does not cross a dot, so `web-*` never
   * matches `web-1.attacker.example`); empty allows every host.
   */
  readonly allowedHosts?: readonly string[];
  /** Commands matching any of these regular expressions are refused. */
  readonly deniedCommands?: readonly string[];
  /**
   * Read-only mode: no file writes or uploads, no typed input, and commands only when they match
   * `allowedCommands` (none by default).
   */
  readonly readOnly?: boolean;
  /** In read-only mode, commands matching any of these regular expressions may run. */
  readonly allowedCommands?: readonly string[];
  /** Ask a person before: nothing (`off`, the default), anything not read-only (`changes`), everything (`all`). */
  readonly approval?: ApprovalMode;
  /** Per host pattern (globs as `allowedHosts`; the first that matches wins): `{"prod-*": {"approval": "all"}}`. */
  readonly hosts?: Readonly<Record<string, { readonly approval?: ApprovalMode }>>;
}

export class Policy {
  readonly readOnly: boolean;
  readonly #hosts: readonly RegExp[];
  readonly #hostPatterns: readonly string[];
  readonly #denied: readonly RegExp[];
  readonly #allowed: readonly RegExp[];
  readonly #approval: ApprovalMode;
  readonly #hostApprovals: readonly { readonly pattern: RegExp; readonly approval: ApprovalMode }[];

  constructor(options: PolicyOptions = {}) {
    this.readOnly = options.readOnly ?? false;
    this.#hostPatterns = options.allowedHosts ?? [];
    this.#hosts = this.#hostPatterns.map(globToRegExp);
    this.#denied = (options.deniedCommands ?? []).map((source) => compile(source, 'denied command pattern'));
    this.#allowed = (options.allowedCommands ?? []).map((source) => compile(source, 'allowed command pattern'));
    const mode = (value: string | undefined, where: string): ApprovalMode => {
      if (value === undefined) return 'off';
      if (!(APPROVAL_MODES as readonly string[]).includes(value)) throw new Error(`invalid approval ${JSON.stringify(value)} ${where}: use ${APPROVAL_MODES.join(', ')}`);
      return value as ApprovalMode;
    };
    this.#approval = mode(options.approval, 'in the policy');
    this.#hostApprovals = Object.entries(options.hosts ?? {})
      .filter(([, host]) => host.approval !== undefined)
      .map(([pattern, host]) => ({ pattern: globToRegExp(pattern), approval: mode(host.approval, `for hosts ${JSON.stringify(pattern)}`) }));
  }

  /** The approval mode for a host, by any of its names (as given, as resolved, the session key's host). */
  approvalFor(...names: readonly string[]): ApprovalMode {
    for (const { pattern, approval } of this.#hostApprovals) if (names.some((name) => pattern.test(name))) return approval;
    return this.#approval;
  }

  /** True when some host (or every host) asks for approval. */
  get asksApproval(): boolean {
    return this.#approval !== 'off' || this.#hostApprovals.some((host) => host.approval !== 'off');
  }

  /** True when nothing is restricted. */
  get isOpen(): boolean {
    return !this.readOnly && this.#hosts.length === 0 && this.#denied.length === 0 && this.#approval === 'off' && this.#hostApprovals.length === 0;
  }

  /** Refuses a host unless one of its names (as given, as resolved) matches the allow-list. */
  checkHost(...names: readonly string[]): void {
    if (this.#hosts.length === 0) return;
    if (names.some((name) => this.#hosts.some((pattern) => pattern.test(name)))) return;
    throw new ServerError(
      'POLICY_DENIED',
      `host ${JSON.stringify(names[0])} is not in the server's allowed hosts (${this.#hostPatterns.join(', ')}); ask the operator to allow it`,
    );
  }

  /**
   * Refuses a command that matches a denied pattern, or, in read-only mode, no allowed one — and
   * in read-only mode any shell operator, so `uptime; rm -rf ~` never passes as `uptime`.
   */
  checkCommand(command: string): void {
    this.checkInput(command, 'the command');
    if (this.readOnly && (/[;&|`$<>()\n\r\\]/.test(command) || !this.#allowed.some((pattern) => pattern.test(command)))) {
      throw new ServerError(
        'POLICY_DENIED',
        this.#allowed.length === 0
          ? 'the server is read-only: commands are not run (read_file, list_directory and download_file work)'
          : `the server is read-only: only commands matching ${this.#allowed.join(', ')}, without shell operators, are run`,
      );
    }
  }

  /** Refuses text that matches a denied pattern: commands, and input typed into a running program (a shell). */
  checkInput(text: string, what = 'the input'): void {
    const denied = this.#denied.find((pattern) => pattern.test(text));
    if (denied) throw new ServerError('POLICY_DENIED', `${what} matches the server's denied pattern ${denied}; it was not ${what === 'the input' ? 'sent' : 'run'}`);
  }

  /** Refuses what changes a host (writes, uploads, typed input) in read-only mode. */
  checkWrite(what: string): void {
    if (this.readOnly) throw new ServerError('POLICY_DENIED', `the server is read-only: ${what} is refused`);
  }

  describe(): string {
    const parts: string[] = [];
    if (this.readOnly) parts.push('read-only');
    if (this.#hosts.length > 0) parts.push(`hosts: ${this.#hostPatterns.join(', ')}`);
    if (this.#denied.length > 0) parts.push(`${this.#denied.length} denied command pattern(s)`);
    if (this.#approval !== 'off') parts.push(`approval: ${this.#approval}`);
    for (const { pattern, approval } of this.#hostApprovals) parts.push(`approval ${approval} on ${pattern.source}`);
    return parts.length === 0 ? 'no restrictions' : parts.join('; ');
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]');
  return new RegExp(`^${body}$`, 'i');
}

function compile(source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new Error(`invalid ${what} ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
}
