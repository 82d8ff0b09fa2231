import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Redactor } from 'ssh-session-core';
import type { CommandClass } from './classify';
import { ServerError } from './errors';

/** When a person must approve: never, before anything that is not read-only, or before everything. */
export type ApprovalMode = 'off' | 'changes' | 'all';

export const APPROVAL_MODES: readonly ApprovalMode[] = ['off', 'changes', 'all'];

/** What is about to happen, as the person approving it sees it. */
export interface ApprovalRequest {
  readonly tool: string;
  /** `user@host:port`. */
  readonly session: string;
  /** Which opening of that session: approvals "for the session" end when it closes (a reopened one asks again). */
  readonly scope: string;
  /** The shell's directory, when known. */
  readonly directory?: string | undefined;
  /** The exact command, or what a write, upload or typed input does (secrets redacted). */
  readonly action: string;
  readonly class: CommandClass;
  readonly mode: ApprovalMode;
  /**
   * What the action string does not show but a grant must match: the content of a write, the
   * secret typed, the file uploaded (a digest; never displayed). Without it, a grant for "write
   * 5 bytes to /etc/x" would let any other 5 bytes through.
   */
  readonly fingerprint?: string | undefined;
}

/** How a request was let through. */
export type ApprovalOutcome = 'not-needed' | 'approved-once' | 'approved-for-session' | 'approved-earlier';

/** A decision, as the audit log records it. */
export interface ApprovalDecision {
  /** The request's id: a command's command_id, else its own. */
  readonly id: string;
  readonly tool: string;
  readonly session: string;
  readonly action: string;
  readonly class: CommandClass;
  readonly mode: ApprovalMode;
  readonly decision: 'approved-once' | 'approved-for-session' | 'approved-earlier' | 'denied' | 'declined' | 'cancelled' | 'expired' | 'withdrawn';
  /** Who answered and how: `elicitation: <client> <version>`, `socket: <user>`, `dashboard`; null when nobody did (expired, withdrawn). */
  readonly by: string | null;
}

/** A request waiting for a person, as `mcp-ssh-server pending` and the dashboard list it. */
export interface PendingApproval {
  /** What `approve <id>` / `deny <id>` take (a unique prefix of 4 or more characters will do). */
  readonly id: string;
  readonly tool: string;
  readonly session: string;
  readonly directory: string | null;
  /** The exact action, secrets redacted. */
  readonly action: string;
  /** The action as a JSON string with invisible and bidi controls escaped: what to display, so nothing in it hides. */
  readonly shown: string;
  readonly class: CommandClass;
  readonly mode: ApprovalMode;
  /** A command that runs as soon as it is approved: its command_id (the agent follows it with get_command_status). */
  readonly commandId: string | null;
  readonly requestedAt: string;
  readonly expiresAt: string;
  /** The client was asked too (a form is open there): whichever answer comes first counts. */
  readonly askedClient: boolean;
}

/** What a person can answer. */
export type PersonDecision = 'approve_once' | 'approve_for_session' | 'deny';

/** How long a person has to answer (then the request counts as denied). */
export const APPROVAL_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * How long a call that is not a command (a write, an upload, typed input) waits for an answer
 * given out of band before it returns `APPROVAL_PENDING`: below the ~60 s after which many
 * clients give up on a request (and at most half the approval timeout, so that a person who
 * approves after that still has time before the call is made again).
 */
export const APPROVAL_WAIT_MS = 25_000;

export interface ApproveOptions {
  /** The caller gave up (its call was cancelled, its job interrupted): the request is withdrawn. */
  readonly signal?: AbortSignal | undefined;
  /** The request's id: a command's job id. Default: a new one. */
  readonly id?: string | undefined;
  /**
   * Without an open form in the client, wait this long for an out-of-band answer, then reject with
   * `APPROVAL_PENDING` while the request stays pending: approved later, the same call made again
   * goes through once. Default: wait until decided or expired.
   */
  readonly waitMs?: number | undefined;
}

interface Pending {
  readonly info: PendingApproval;
  readonly scope: string;
  readonly grantKey: string;
  /** Callers waiting on it now; none when the call that asked returned APPROVAL_PENDING. */
  waiters: number;
  readonly decided: Promise<ApprovalOutcome>;
  /** Resolves when no form is open in the client (never asked, or the form failed). */
  readonly formGone: Promise<void>;
  settle(decision: ApprovalDecision['decision'], by: string | null): boolean;
}

/**
 * Asks a person before commands, writes, uploads, typed input and keys, as the policy's approval
 * mode says for the host. Every request is pending here, decidable out of band (the local socket
 * of `mcp-ssh-server approve|deny <id>`, the dashboard) by {@link decide}; when the client declared
 * MCP elicitation it is also asked through a form (host, user, directory, the exact action with
 * secrets redacted, its class; approve once, approve this exact action on this host for the
 * session, or deny): the first answer counts. Never asks for a password or key. A denial, a
 * declined or cancelled form, or no answer within the timeout is `APPROVAL_DENIED`: the action
 * never ran.
 */
export class Approvals {
  /** Exact actions approved for the rest of a session, by scope (session opening), with who approved. */
  readonly #granted = new Map<string, Map<string, { readonly by: string | null; readonly id: string }>>();
  /** Approved once, out of band, after the call that asked had returned APPROVAL_PENDING: its retry goes through. */
  readonly #once = new Map<string, Map<string, { readonly by: string | null; readonly until: number; readonly id: string }>>();
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<() => void>();
  readonly #redactor: Redactor;
  readonly #timeoutMs: number;
  readonly #onDecision: ((decision: ApprovalDecision) => void) | undefined;
  readonly #onRequest: ((request: PendingApproval) => void) | undefined;

  constructor(
    redactor: Redactor,
    options: { readonly timeoutMs?: number; readonly onDecision?: (decision: ApprovalDecision) => void; readonly onRequest?: (request: PendingApproval) => void } = {},
  ) {
    this.#redactor = redactor;
    this.#timeoutMs = options.timeoutMs ?? APPROVAL_TIMEOUT_MS;
    this.#onDecision = options.onDecision;
    this.#onRequest = options.onRequest;
  }

  /** Whether `mode` asks for an action of class `kind`. */
  static needed(mode: ApprovalMode, kind: CommandClass): boolean {
    return mode === 'all' || (mode === 'changes' && kind !== 'read-only');
  }

  /** How long a request waits for an answer, in ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** The requests waiting for a person, oldest first. */
  pending(): PendingApproval[] {
    return [...this.#pending.values()].map((entry) => entry.info);
  }

  /** Calls `listener` whenever a request is added or decided (the dashboard). Returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Decides a pending request by its id (or a unique prefix of 4+ characters): `by` says who, for
   * the audit log.
   *
   * @throws ServerError `APPROVAL_NOT_FOUND` (no such pending request: decided, expired or never
   *   made), `INVALID_ARGUMENT` (the prefix matches several).
   */
  decide(id: string, decision: PersonDecision, by: string): PendingApproval {
    const wanted = id.trim();
    const matches = [...this.#pending.values()].filter((entry) => entry.info.id === wanted || (wanted.length >= 4 && entry.info.id.startsWith(wanted)));
    if (matches.length > 1) throw new ServerError('INVALID_ARGUMENT', `${JSON.stringify(wanted)} matches ${matches.length} pending requests: give more of the id`);
    const entry = matches[0];
    if (!entry) throw new ServerError('APPROVAL_NOT_FOUND', `no pending request ${JSON.stringify(wanted)} (decided, expired, or never made)`);
    entry.settle(decision === 'approve_once' ? 'approved-once' : decision === 'approve_for_session' ? 'approved-for-session' : 'denied', by);
    return entry.info;
  }

  /**
   * Resolves when the action may go ahead; rejects with `APPROVAL_DENIED`, or `APPROVAL_PENDING`
   * (see {@link ApproveOptions.waitMs}): nothing was done.
   */
  async approve(server: McpServer, request: ApprovalRequest, options: ApproveOptions = {}): Promise<ApprovalOutcome> {
    if (!Approvals.needed(request.mode, request.class)) return 'not-needed';
    const action = this.#redactor.redact(request.action);
    const grantKey = grantKeyOf(request, action);
    const earlier = this.#grantedNow(request, action, grantKey, options.id);
    if (earlier) return earlier;
    // The same call made again while its request still waits: it waits on that request.
    const retried = options.id === undefined ? [...this.#pending.values()].find((entry) => entry.waiters === 0 && entry.scope === request.scope && entry.grantKey === grantKey) : undefined;
    const entry = retried ?? this.#open(server, request, action, grantKey, options.id ?? randomUUID(), options.id !== undefined);
    return this.#wait(entry, request, options);
  }

  /**
   * 'approved-earlier' when a grant lets `request` through now (recorded; a one-time grant is used
   * up), else undefined. Synchronous: a command approved for the session starts at once.
   */
  grantedNow(request: ApprovalRequest, id?: string): 'approved-earlier' | undefined {
    if (!Approvals.needed(request.mode, request.class)) return undefined;
    const action = this.#redactor.redact(request.action);
    return this.#grantedNow(request, action, grantKeyOf(request, action), id);
  }

  #grantedNow(request: ApprovalRequest, action: string, grantKey: string, id: string | undefined): 'approved-earlier' | undefined {
    const earlier = (by: string | null, grantedAs: string): 'approved-earlier' => {
      this.#decided(request, action, id ?? grantedAs, 'approved-earlier', by);
      return 'approved-earlier';
    };
    const granted = this.#granted.get(request.scope)?.get(grantKey);
    if (granted) return earlier(granted.by, granted.id);
    const once = this.#once.get(request.scope);
    const onceGrant = once?.get(grantKey);
    if (once && onceGrant) {
      once.delete(grantKey);
      if (onceGrant.until > Date.now()) return earlier(onceGrant.by, onceGrant.id);
    }
    return undefined;
  }

  async #wait(entry: Pending, request: ApprovalRequest, options: ApproveOptions): Promise<ApprovalOutcome> {
    entry.waiters++;
    let onAbort: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const waits: Promise<ApprovalOutcome | 'pending'>[] = [entry.decided];
      if (options.signal) {
        const signal = options.signal;
        waits.push(
          new Promise<never>((_resolve, reject) => {
            onAbort = () => {
              entry.settle('withdrawn', null);
              reject(denied(request, entry.info, 'withdrawn', null, this.#timeoutMs));
            };
            if (signal.aborted) onAbort();
            else signal.addEventListener('abort', onAbort, { once: true });
          }),
        );
      }
      const waitMs = options.waitMs === undefined ? undefined : Math.min(options.waitMs, this.#timeoutMs / 2);
      // With a form open too: the call does not outlive the client's patience; the form stays.
      if (waitMs !== undefined) waits.push(new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), waitMs))));
      const outcome = await Promise.race(waits);
      if (outcome !== 'pending') return outcome;
      throw new ServerError(
        'APPROVAL_PENDING',
        `${request.tool} on ${where(request)} awaits a person's approval (${request.class}; request ${entry.info.id.slice(0, 8)}, ` +
          `expires at ${entry.info.expiresAt}): nothing was done yet. The person sees it with \`mcp-ssh-server pending\` on the server's machine ` +
          `(or its dashboard), or answers the form in your client. Once it is approved, call ${request.tool} again with the same arguments (it then goes through once); ` +
          'until then the same call waits on the same request. Denied or expired, the call is refused; making it again asks again.',
      );
    } finally {
      entry.waiters--;
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  #open(server: McpServer, request: ApprovalRequest, action: string, grantKey: string, id: string, isJob: boolean): Pending {
    const requestedAt = Date.now();
    const client = server.server.getClientVersion();
    const canAsk = server.server.getClientCapabilities()?.elicitation !== undefined;
    const info: PendingApproval = {
      id,
      tool: request.tool,
      session: request.session,
      directory: request.directory ?? null,
      action,
      shown: shown(action),
      class: request.class,
      mode: request.mode,
      commandId: isJob ? id : null,
      requestedAt: new Date(requestedAt).toISOString(),
      expiresAt: new Date(requestedAt + this.#timeoutMs).toISOString(),
      askedClient: canAsk,
    };
    let resolveDecided!: (outcome: ApprovalOutcome) => void;
    let rejectDecided!: (error: Error) => void;
    const decided = new Promise<ApprovalOutcome>((resolve, reject) => {
      resolveDecided = resolve;
      rejectDecided = reject;
    });
    // Nobody may be waiting when it is denied (the call returned APPROVAL_PENDING).
    decided.catch(() => undefined);
    let markFormGone!: () => void;
    const formGone = new Promise<void>((resolve) => (markFormGone = resolve));
    const form = new AbortController();
    let settled = false;
    const expiry = setTimeout(() => entry.settle('expired', null), this.#timeoutMs);
    expiry.unref();
    const entry: Pending = {
      info,
      scope: request.scope,
      grantKey,
      waiters: 0,
      decided,
      formGone,
      settle: (decision, by) => {
        if (settled) return false;
        settled = true;
        clearTimeout(expiry);
        this.#pending.delete(id);
        form.abort();
        this.#decided(request, action, id, decision, by);
        if (decision === 'approved-for-session') {
          let grants = this.#granted.get(request.scope);
          if (!grants) this.#granted.set(request.scope, (grants = new Map()));
          grants.set(grantKey, { by, id });
        } else if (decision === 'approved-once' && entry.waiters === 0 && !isJob) {
          // Its call already returned APPROVAL_PENDING: the same call made again goes through, once.
          let grants = this.#once.get(request.scope);
          if (!grants) this.#once.set(request.scope, (grants = new Map()));
          grants.set(grantKey, { by, until: Date.parse(info.expiresAt), id });
        }
        if (decision === 'approved-once' || decision === 'approved-for-session') resolveDecided(decision);
        else rejectDecided(denied(request, info, decision, by, this.#timeoutMs));
        this.#changed();
        return true;
      },
    };
    this.#pending.set(id, entry);
    try {
      this.#onRequest?.(info);
    } catch {
      // A log line must not stop the request.
    }
    this.#changed();
    if (!canAsk) {
      markFormGone();
      return entry;
    }
    const by = client ? `elicitation: ${client.name} ${client.version}` : 'elicitation';
    server.server
      .elicitInput(
        {
          mode: 'form',
          // Quoted and escaped: a newline, padding or a bidi control cannot hide part of the action.
          message: `Approve ${request.tool} (${request.class}) on ${where(request)}?\n\n${shown(action)}`,
          requestedSchema: {
            type: 'object',
            properties: {
              decision: {
                type: 'string',
                title: 'Decision',
                description: 'Approve once, approve this exact action on this host for the rest of the session, or deny',
                oneOf: [
                  { const: 'approve_once', title: 'Approve once' },
                  { const: 'approve_for_session', title: 'Approve this exact action on this host for the session' },
                  { const: 'deny', title: 'Deny' },
                ],
              },
            },
            required: ['decision'],
          },
        },
        { timeout: this.#timeoutMs, signal: form.signal },
      )
      .then(
        (answer) => {
          const decision = answer.action === 'accept' ? answer.content?.decision : undefined;
          if (decision === 'approve_once') entry.settle('approved-once', by);
          else if (decision === 'approve_for_session') entry.settle('approved-for-session', by);
          else entry.settle(answer.action === 'accept' ? 'denied' : answer.action === 'decline' ? 'declined' : 'cancelled', by);
        },
        (error: unknown) => {
          if (settled) return;
          if ((error as { code?: unknown }).code === ErrorCode.RequestTimeout) {
            entry.settle('expired', null);
            return;
          }
          // The form failed (the client errored, the connection went): the request stays pending
          // for an answer out of band.
          markFormGone();
        },
      );
    return entry;
  }

  #decided(request: ApprovalRequest, action: string, id: string, decision: ApprovalDecision['decision'], by: string | null): void {
    try {
      this.#onDecision?.({ id, tool: request.tool, session: request.session, action, class: request.class, mode: request.mode, decision, by });
    } catch {
      // An audit failure must not turn a decision around.
    }
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

/**
 * What a grant is for: the tool (commands alike), the exact action, the directory it runs in (a
 * command approved in /tmp/x is not approved after a `cd /`), and what the action does not show.
 */
function grantKeyOf(request: ApprovalRequest, action: string): string {
  return [COMMAND_TOOLS.has(request.tool) ? 'command' : request.tool, request.directory ?? '', request.fingerprint ?? '', action].join('\n');
}

/** Tools that run a command: a grant for one covers the others. */
const COMMAND_TOOLS: ReadonlySet<string> = new Set(['execute_command', 'execute_command_async', 'execute_command_on_hosts']);

function where(request: ApprovalRequest): string {
  return `${request.session}${request.directory ? ` in ${request.directory}` : ''}`;
}

/** The APPROVAL_DENIED error of a decision that did not let the action through. */
function denied(request: ApprovalRequest, info: PendingApproval, decision: ApprovalDecision['decision'], by: string | null, timeoutMs: number): ServerError {
  const what = `${request.tool} on ${where(request)}`;
  if (decision === 'expired') return new ServerError('APPROVAL_DENIED', `${what} was not approved (no answer within ${Math.round(timeoutMs / 1000)} s: the request expired): nothing was run`);
  if (decision === 'withdrawn') return new ServerError('APPROVAL_DENIED', `${what} was not approved (the request ${info.id.slice(0, 8)} was withdrawn: its call was cancelled): nothing was run`);
  const who = by === null || by.startsWith('elicitation') ? 'the person asked' : `the person asked (${by})`;
  return new ServerError('APPROVAL_DENIED', `${what} was ${decision} by ${who}: nothing was run`);
}

/** `text` as a JSON string, with bidi and other invisible format controls escaped too. */
export function shown(text: string): string {
  return JSON.stringify(text).replace(/[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
