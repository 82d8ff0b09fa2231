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
}

/** How a request was let through. */
export type ApprovalOutcome = 'not-needed' | 'approved-once' | 'approved-for-session' | 'approved-earlier';

/** A decision, as the audit log records it. */
export interface ApprovalDecision {
  readonly tool: string;
  readonly session: string;
  readonly action: string;
  readonly class: CommandClass;
  readonly mode: ApprovalMode;
  readonly decision: 'approved-once' | 'approved-for-session' | 'approved-earlier' | 'denied' | 'declined' | 'cancelled' | 'expired' | 'failed' | 'unavailable';
  /** How it was asked and who answered: the client's name and version (the person at that client). */
  readonly by: string | null;
}

/** How long a person has to answer (then the request counts as denied). */
export const APPROVAL_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Asks a person before commands, writes, uploads, typed input and keys, as the policy's approval
 * mode says for the host: through MCP form elicitation (host, user, directory, the exact action
 * with secrets redacted, its class; approve once, approve this exact action on this host for the
 * session, or deny). Never asks for a password or key. A client without elicitation cannot ask
 * yet: the call is refused (`APPROVAL_UNAVAILABLE`) — nothing runs without an answer. A denial, a
 * declined or cancelled form, or no answer within {@link APPROVAL_TIMEOUT_MS} is `APPROVAL_DENIED`:
 * the action never ran.
 */
export class Approvals {
  /** Exact actions approved for the rest of a session, by session key. */
  readonly #granted = new Map<string, Set<string>>();
  readonly #redactor: Redactor;
  readonly #timeoutMs: number;
  readonly #onDecision: ((decision: ApprovalDecision) => void) | undefined;

  constructor(redactor: Redactor, options: { readonly timeoutMs?: number; readonly onDecision?: (decision: ApprovalDecision) => void } = {}) {
    this.#redactor = redactor;
    this.#timeoutMs = options.timeoutMs ?? APPROVAL_TIMEOUT_MS;
    this.#onDecision = options.onDecision;
  }

  /** Whether `mode` asks for an action of class `kind`. */
  static needed(mode: ApprovalMode, kind: CommandClass): boolean {
    return mode === 'all' || (mode === 'changes' && kind !== 'read-only');
  }

  /**
   * Resolves when the action may go ahead; rejects with `APPROVAL_DENIED` or
   * `APPROVAL_UNAVAILABLE` (nothing was done).
   */
  async approve(server: McpServer, request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalOutcome> {
    if (!Approvals.needed(request.mode, request.class)) return 'not-needed';
    const action = this.#redactor.redact(request.action);
    const client = server.server.getClientVersion();
    const by = client ? `elicitation: ${client.name} ${client.version}` : null;
    const decided = (decision: ApprovalDecision['decision']): void => {
      try {
        this.#onDecision?.({ tool: request.tool, session: request.session, action, class: request.class, mode: request.mode, decision, by });
      } catch {
        // An audit failure must not turn a decision around.
      }
    };
    const grantKey = `${request.tool}\n${action}`;
    if (this.#granted.get(request.scope)?.has(grantKey)) {
      decided('approved-earlier');
      return 'approved-earlier';
    }
    const where = `${request.session}${request.directory ? ` in ${request.directory}` : ''}`;
    if (!server.server.getClientCapabilities()?.elicitation) {
      decided('unavailable');
      throw new ServerError(
        'APPROVAL_UNAVAILABLE',
        `${request.tool} on ${where} needs a person's approval (approval: ${request.mode}; ${request.class}), and this client cannot ask (it has no MCP elicitation): ` +
          'nothing was run. Use a client with elicitation, or ask the operator to change the approval policy for this host.',
      );
    }
    let answer: Awaited<ReturnType<McpServer['server']['elicitInput']>>;
    try {
      answer = await server.server.elicitInput(
        {
          mode: 'form',
          // Quoted and escaped: a newline, padding or a bidi control cannot hide part of the action.
          message: `Approve ${request.tool} (${request.class}) on ${where}?\n\n${shown(action)}`,
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
        { timeout: this.#timeoutMs, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      const timedOut = (error as { code?: unknown }).code === ErrorCode.RequestTimeout;
      const why = timedOut ? `no answer within ${Math.round(this.#timeoutMs / 1000)} s: the request expired` : (error as Error).message;
      decided(timedOut ? 'expired' : 'failed');
      throw new ServerError('APPROVAL_DENIED', `${request.tool} on ${where} was not approved (${why}): nothing was run`, { cause: error });
    }
    const decision = answer.action === 'accept' ? answer.content?.decision : undefined;
    if (decision === 'approve_once') {
      decided('approved-once');
      return 'approved-once';
    }
    if (decision === 'approve_for_session') {
      decided('approved-for-session');
      let granted = this.#granted.get(request.scope);
      if (!granted) this.#granted.set(request.scope, (granted = new Set()));
      granted.add(grantKey);
      return 'approved-for-session';
    }
    const how = answer.action === 'accept' ? 'denied' : answer.action === 'decline' ? 'declined' : 'cancelled';
    decided(how);
    throw new ServerError('APPROVAL_DENIED', `${request.tool} on ${where} was ${how} by the person asked: nothing was run`);
  }

}

/** `text` as a JSON string, with bidi and other invisible format controls escaped too. */
function shown(text: string): string {
  return JSON.stringify(text).replace(/[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
