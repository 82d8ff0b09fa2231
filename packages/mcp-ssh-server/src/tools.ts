import { createHmac, randomBytes } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { JobManager, SshJobError, type JobInfo, type JobOutput, type JobProgress } from 'ssh-async-jobs';
import { isSshError, type Logger, type Redactor } from 'ssh-session-core';
import { z } from 'zod';
import { ServerError } from './errors';
import { Approvals, APPROVAL_WAIT_MS, type ApprovalRequest } from './approvals';
import { classifyCommand, type CommandClass } from './classify';
import type { Policy } from './policy';
import type { HostKeyConfirmer, Session, SessionManager } from './sessions';

/** Output text sent to the model per call: head + tail within this many characters. */
const OUTPUT_CAP_CHARS = 20_000;

// Tool schemas are sent to the model on every turn: descriptions say what a model needs to choose
// and call a tool, once; the README has the rest.

/** The connection parameters of the reference; user and port default from ssh_config. */
export const connectionShape = {
  host: z.string().min(1).describe('Host, IP or ~/.ssh/config alias'),
  username: z.string().min(1).optional(),
  password: z.string().optional().describe('Prefer keys/agent'),
  key_filename: z.string().min(1).optional().describe('Key file on the server machine'),
  port: z.number().int().min(1).max(65535).optional(),
};

/** Finding an open session: no login details. */
export const sessionShape = { host: connectionShape.host, username: connectionShape.username, port: connectionShape.port };

export const deviceTypeSchema = z.string().min(1).optional().describe('Usually omit (detected); or linux, or a netmiko type (cisco_ios…)');
const enableShape = {
  enable_password: z.string().optional().describe('Device enable secret ("" is valid)'),
  enable_command: z.string().min(1).optional(),
};

const pipeOutputSchema = z
  .boolean()
  .optional()
  .describe('POSIX: stdout/stderr on a pipe, not the terminal: exact bytes, much faster for large output; no colours, pager or full-screen');

/** `pipe_output` needs a POSIX shell: a network device's CLI has no pipes. */
function checkPipeOutput(session: Session, pipeOutput: boolean | undefined): void {
  if (pipeOutput && session.kind === 'device') {
    throw new ServerError('INVALID_ARGUMENT', `pipe_output works on POSIX hosts; ${session.key} is a network device (${session.detection.profile}): leave pipe_output out`);
  }
}

const secretSchema = z.boolean().default(false).describe('A password: never shown or kept');

const jobShape = {
  command_id: z.string(),
  command: z.string(),
  session: z.string(),
  status: z.enum(['awaiting_approval', 'running', 'awaiting_input', 'completed', 'failed', 'interrupted', 'connection_lost']),
  exit_code: z.number().int().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  duration_ms: z.number(),
  total_chars: z.number().int(),
  dropped_chars: z.number().int(),
  awaiting_input: z.string().nullable(),
  full_screen: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
};

// Output schemas are checked by the SDK on every result, and listed only with --output-schemas
// (see compactToolList): field meanings are in the README.
const commandResultSchema = z.object({
  ...jobShape,
  output: z.string(),
  output_offset: z.number().int(),
  next_offset: z.number().int(),
  omitted_chars: z.number().int(),
  notice: z.string().nullable(),
  parsed: z.unknown().optional(),
});

const formatSchema = z.enum(['text', 'json']).default('text').describe('json: output parsed into structuredContent.parsed (devices: the platform\'s | json modifier is added)');

/** The command to send for `format` on `session`: a device's show command gets its platform's JSON modifier. */
function withFormat(session: Session, command: string, format: 'text' | 'json'): string {
  if (format === 'text' || session.kind !== 'device') return command;
  if (/\n/.test(command.trim())) throw new ServerError('INVALID_ARGUMENT', 'format json takes one show command, not several lines');
  const profile = (session.shell as { profile?: { name: string; jsonModifier?: string } }).profile;
  const modifier = profile?.jsonModifier;
  if (!modifier) throw new ServerError('INVALID_ARGUMENT', `${profile?.name ?? 'this device'} has no JSON output for show commands: leave format out (text)`);
  return command.trimEnd().endsWith(modifier.trim()) ? command : `${command.trimEnd()}${modifier}`;
}

/** The whole output of a finished job as JSON, or why not. */
function parsedOutput(jobs: JobManager, id: string): { parsed: unknown; notice: string | null } {
  const status = jobs.status(id, { sinceOffset: 0, maxChars: 16 * 1024 * 1024 });
  if (status.output.more || status.output.skippedChars > 0) return { parsed: null, notice: 'format json: the output is too large to parse whole (it was not kept entirely)' };
  try {
    return { parsed: JSON.parse(status.output.text) as unknown, notice: null };
  } catch (error) {
    return { parsed: null, notice: `format json: the output is not JSON (${(error as Error).message})` };
  }
}
const jobListSchema = z.object({ commands: z.array(z.object(jobShape)) });
const sessionListSchema = z.object({
  sessions: z.array(
    z.object({
      session: z.string(),
      alias: z.string(),
      connected: z.boolean(),
      login_shell: z.string(),
      device: z.object({ profile: z.string(), prompt: z.string(), mode: z.string(), enabled: z.boolean() }).nullable(),
      detection: z.object({ kind: z.enum(['posix', 'device']), profile: z.string(), detected: z.boolean(), evidence: z.string() }),
      created_at: z.string(),
      last_used_at: z.string(),
    }),
  ),
});
const closedSchema = z.object({ closed: z.array(z.string()) });

export interface ToolContext {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly policy: Policy;
  readonly approvals: Approvals;
}

/** What approveOn needs: the policy (the host's approval mode) and the approvals (asking, grants). */
export interface ApprovalContext {
  readonly policy: Policy;
  readonly approvals: Approvals;
}

/** `user@host:port#2` → `host`. */
const hostOfKey = (key: string): string => key.replace(/^[^@]*@/, '').replace(/:\d+(#\d+)?$/, '').replace(/^\[(.*)\]$/, '$1');

type ApprovalSession = { readonly key: string; readonly alias?: string; readonly createdAt?: number; readonly kind?: 'posix' | 'device'; readonly shell?: unknown };
/** `class` may be a function: a command is classified only when the host's approval mode needs its class. */
type ApprovalAction = {
  readonly host?: string | undefined;
  readonly tool: string;
  readonly action: string;
  readonly class: CommandClass | (() => CommandClass);
  /** What a grant must also match that the action does not show (see ApprovalRequest.fingerprint). */
  readonly fingerprint?: string | undefined;
};

/** The request a person must answer before `action` on `session`, or undefined when the host's approval mode lets it through. */
async function approvalRequest(context: ApprovalContext, session: ApprovalSession, request: ApprovalAction): Promise<ApprovalRequest | undefined> {
  const names = [request.host, session.alias, hostOfKey(session.key)].filter((name): name is string => typeof name === 'string');
  const mode = context.policy.approvalFor(...names);
  if (mode === 'off') return undefined;
  const kind = typeof request.class === 'function' ? request.class() : request.class;
  if (!Approvals.needed(mode, kind)) return undefined;
  const shell = session.shell as { workingDirectory?: () => Promise<string | undefined> } | undefined;
  const directory = session.kind === 'posix' && shell?.workingDirectory ? await shell.workingDirectory().catch(() => undefined) : undefined;
  const scope = `${session.key} opened ${session.createdAt ?? 'unknown'}`;
  return { tool: request.tool, session: session.key, scope, directory, action: request.action, class: kind, mode, fingerprint: request.fingerprint };
}

/**
 * Asks a person before `action` on `session` when the host's approval mode wants it (see
 * Approvals): through the client's form when it has elicitation, else out of band for up to
 * APPROVAL_WAIT_MS. Rejects with APPROVAL_DENIED or APPROVAL_PENDING, in which case nothing ran.
 */
export async function approveOn(server: McpServer, context: ApprovalContext, session: ApprovalSession, request: ApprovalAction & { readonly signal?: AbortSignal }): Promise<void> {
  const asked = await approvalRequest(context, session, request);
  if (asked) await context.approvals.approve(server, asked, { signal: request.signal, waitMs: APPROVAL_WAIT_MS });
}

/**
 * For a command: the job's approval gate (JobRunOptions.approval) when the host's approval mode
 * wants one. The job waits as `awaiting_approval` under its command_id, which is also the
 * request's id for `mcp-ssh-server approve <id>`.
 */
export async function commandApproval(
  server: McpServer,
  context: ApprovalContext,
  session: ApprovalSession,
  request: ApprovalAction,
): Promise<((job: { readonly id: string; readonly signal: AbortSignal }) => Promise<void>) | undefined> {
  const asked = await approvalRequest(context, session, request);
  if (!asked) return undefined;
  // Approved for the session already: no gate, the command starts at once.
  if (context.approvals.grantedNow(asked)) return undefined;
  return async (job) => {
    await context.approvals.approve(server, asked, { id: job.id, signal: job.signal });
  };
}

/**
 * With --confirm-new-hosts: a host key never seen is shown to a person like an action (the
 * client's form, else pending for `mcp-ssh-server approve`), and recorded only once approved.
 */
export function hostKeyConfirmer(server: McpServer, context: ApprovalContext): HostKeyConfirmer {
  return async (key) => {
    await context.approvals.approve(
      server,
      {
        tool: 'trust_new_host_key',
        session: key.host,
        scope: `host key of ${key.host}`,
        action: `trust the ${key.type} host key ${key.fingerprint} offered by ${key.host}, never seen before (it is then added to ${key.file})`,
        class: 'change',
        mode: 'all',
      },
      { waitMs: APPROVAL_WAIT_MS },
    );
  };
}

/** A job that ended without running because it was not approved, while its caller waited: the error the call returns. */
export function notApproved(job: JobInfo): ServerError | undefined {
  if (job.ranAt !== null || job.error === null || !job.error.code.startsWith('APPROVAL_') || job.error.code === 'APPROVAL_WITHDRAWN') return undefined;
  return new ServerError('APPROVAL_DENIED', job.error.message);
}

/** Registers the command and session tools (the reference's names and parameters). */
export function registerCommandTools(server: McpServer, context: ToolContext): void {
  const { sessions, jobs, redactor, policy } = context;
  const confirmHostKey = hostKeyConfirmer(server, context);

  server.registerTool(
    'execute_command',
    {
      title: 'Run a command on a host',
      description:
        'Runs a command in the host\'s persistent shell (cd, export, venvs persist) or on a network device (detected), and returns its exact ' +
        'output and real exit code (null on devices). Still running at timeout or waiting for input: you get a command_id for ' +
        'get_command_status, send_input, interrupt_command_by_id. Clients often cancel calls after ~60 s: keep timeout under that for long work.',
      inputSchema: {
        ...connectionShape,
        command: z.string().min(1).describe('Multi-line and heredocs work'),
        sudo_password: z.string().optional().describe('Answers sudo prompts'),
        device_type: deviceTypeSchema,
        ...enableShape,
        timeout: z.number().positive().max(86_400).default(30).describe('Seconds before returning a command_id'),
        pipe_output: pipeOutputSchema,
        format: formatSchema,
      },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkCommand(args.command);
        const session = await sessions.session(args, confirmHostKey);
        checkPipeOutput(session, args.pipe_output);
        const command = withFormat(session, args.command, args.format);
        const approval = await commandApproval(server, context, session, { host: args.host, tool: 'execute_command', action: command, class: () => classifyCommand(command, session.kind) });
        const report = progressReporter(extra);
        const result = await jobs.run(session.target, command, {
          timeoutMs: args.timeout * 1000,
          signal: extra.signal,
          pipeOutput: args.pipe_output === true,
          ...(approval ? { approval } : {}),
          ...(report ? { onProgress: (progress: JobProgress) => report(progress.totalChars, undefined, progress.lastLine) } : {}),
        });
        const refused = notApproved(result.job);
        if (refused) throw refused;
        const json = args.format === 'json' && result.job.state === 'completed' ? parsedOutput(jobs, result.job.id) : undefined;
        const notice = notices(sessionNotices(session), result.finished ? null : stillRunningNotice(result.job, args.timeout, context.approvals), json?.notice ?? null);
        const answer = commandResult(result.job, headAndTail(jobs, result.job.id), notice);
        if (json && answer.structuredContent) answer.structuredContent.parsed = json.parsed;
        return answer;
      }),
  );

  server.registerTool(
    'execute_command_async',
    {
      title: 'Start a command in the background',
      description: 'Like execute_command, but returns the command_id at once: for long jobs (builds, backups, tail -f). Follow with get_command_status.',
      inputSchema: {
        ...connectionShape,
        command: z.string().min(1),
        sudo_password: z.string().optional(),
        device_type: deviceTypeSchema,
        ...enableShape,
        timeout: z.number().positive().default(300).describe('Ignored (compatibility): runs until done or interrupted'),
        pipe_output: pipeOutputSchema,
      },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkCommand(args.command);
        const session = await sessions.session(args, confirmHostKey);
        checkPipeOutput(session, args.pipe_output);
        const approval = await commandApproval(server, context, session, { host: args.host, tool: 'execute_command_async', action: args.command, class: () => classifyCommand(args.command, session.kind) });
        const result = await jobs.run(session.target, args.command, { detached: true, pipeOutput: args.pipe_output === true, ...(approval ? { approval } : {}) });
        const started = result.job.state === 'awaiting_approval' ? awaitingApprovalNotice(result.job, context.approvals) : `Started. Follow it with get_command_status command_id=${result.job.id}.`;
        return commandResult(result.job, emptyOutput(), notices(sessionNotices(session), started));
      }),
  );

  server.registerTool(
    'get_command_status',
    {
      title: 'Status and output of a command',
      description: 'State, exit code and output of a command. since_offset (the last next_offset): only new output; tail_lines: the last lines.',
      inputSchema: {
        command_id: z.string().min(1),
        since_offset: z.number().int().min(0).optional(),
        tail_lines: z.number().int().min(1).max(10_000).optional(),
      },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guard(redactor, () => {
        if (args.tail_lines !== undefined) {
          const status = jobs.status(args.command_id, { tailLines: args.tail_lines, maxChars: OUTPUT_CAP_CHARS });
          return Promise.resolve(commandResult(status.job, status.output, null));
        }
        if (args.since_offset === undefined) {
          const job = jobs.status(args.command_id, { maxChars: 1 }).job;
          return Promise.resolve(commandResult(job, headAndTail(jobs, job.id), null));
        }
        // Paging: one page from the offset, never the same tail again.
        const status = jobs.status(args.command_id, { sinceOffset: args.since_offset, maxChars: OUTPUT_CAP_CHARS });
        return Promise.resolve(commandResult(status.job, status.output, null));
      }),
  );

  server.registerTool(
    'interrupt_command_by_id',
    {
      title: 'Interrupt a running command',
      description: 'Ctrl+C to a running command; returns once the shell is back (one that ignores it gets its shell replaced, and the result says so).',
      inputSchema: { command_id: z.string().min(1) },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    async (args) =>
      guard(redactor, async () => {
        const job = await jobs.interrupt(args.command_id);
        const status = jobs.status(job.id, { tailLines: 20 });
        const notice =
          job.interrupt === 'restarted'
            ? 'The command ignored Ctrl+C: its shell was replaced by a fresh one (directory and variables are lost).'
            : 'Interrupted; the shell is ready for the next command.';
        return commandResult(status.job, status.output, notice);
      }),
  );

  server.registerTool(
    'send_input',
    {
      title: 'Type input into a running command',
      description: 'Types into a command waiting for input (prompt, REPL, pager); escapes \\n \\r \\t \\xHH. Returns the output that follows.',
      inputSchema: {
        command_id: z.string().min(1),
        input_text: z.string().describe('e.g. "yes\\n"'),
        secret: secretSchema,
      },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('send_input');
        policy.checkInput(args.input_text);
        const target = jobs.status(args.command_id, { maxChars: 1 }).job;
        // Nothing to type into: said before a person is asked for nothing.
        if (target.state !== 'running' && target.state !== 'awaiting_input') {
          const why = target.state === 'awaiting_approval' ? 'it awaits approval: its command has not started' : `it is ${target.state}`;
          throw new SshJobError('JOB_NOT_RUNNING', `job ${target.id} is not running (${why}); input was not sent`, { details: { id: target.id, state: target.state } });
        }
        // The job's session (alias, opening): per-host approval modes and grants apply to typed input too.
        const session = sessions.get(target.sessionKey);
        await approveOn(server, context, { key: target.sessionKey, ...(session ? { alias: session.alias, createdAt: session.createdAt } : {}) }, { tool: 'send_input', action: typedAction(args.input_text, args.secret, target.command), fingerprint: inputFingerprint(args.input_text, args.secret), class: 'change', signal: extra.signal });
        const status = await jobs.sendInput(args.command_id, args.input_text, { secret: args.secret });
        return commandResult(status.job, status.output, null);
      }),
  );

  server.registerTool(
    'send_input_by_session',
    {
      title: 'Type into the shell of a session',
      description: 'send_input to whatever runs in a host\'s session shell (a pager: "q"; Ctrl+C: "\\x03"). Types nothing at a bare prompt.',
      inputSchema: {
        host: connectionShape.host,
        input_text: z.string(),
        username: connectionShape.username,
        port: connectionShape.port,
        secret: secretSchema,
      },
      outputSchema: commandResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('send_input_by_session');
        policy.checkInput(args.input_text);
        const session = await sessions.existing(args);
        await approveOn(server, context, session, { host: args.host, tool: 'send_input_by_session', action: typedAction(args.input_text, args.secret, undefined), fingerprint: inputFingerprint(args.input_text, args.secret), class: 'change', signal: extra.signal });
        const running = jobs.runningOn(session.key).filter((job) => job.state !== 'awaiting_approval');
        const inShell = running.find((job) => job.shell === 'primary');
        if (!inShell) {
          const elsewhere = running.map((job) => ` Command ${job.id} (${JSON.stringify(job.command.slice(0, 60))}) runs in a second shell of this session: answer it with send_input command_id=${job.id}.`);
          throw new SshJobError(
            'JOB_NOT_RUNNING',
            `nothing is running in the shell of ${session.key}: it is at its prompt, and the input was not typed. ` +
              `Run commands with execute_command.${elsewhere.join('')}`,
            { details: { session: session.key } },
          );
        }
        const status = await jobs.sendInput(inShell.id, args.input_text, { secret: args.secret });
        return commandResult(status.job, status.output, null);
      }),
  );

  server.registerTool(
    'list_running_commands',
    {
      title: 'Commands still running',
      description: 'Commands running or waiting for input, on every host, oldest first.',
      inputSchema: {},
      outputSchema: jobListSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    () => guard(redactor, () => Promise.resolve(jobList(jobs.running(), 'No command is running.'))),
  );

  server.registerTool(
    'list_command_history',
    {
      title: 'Finished commands',
      description: 'Finished commands, newest first (the last 100 are kept).',
      inputSchema: { limit: z.number().int().min(1).max(1000).default(50) },
      outputSchema: jobListSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) => guard(redactor, () => Promise.resolve(jobList(jobs.history(args.limit), 'No command has finished yet.'))),
  );

  server.registerTool(
    'list_sessions',
    {
      title: 'Open sessions',
      description: 'Open sessions (user@host:port): shell or device, connected.',
      inputSchema: {},
      outputSchema: sessionListSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    () =>
      guard(redactor, () => {
        const list = sessions.list();
        const text =
          list.length === 0
            ? 'No open sessions.'
            : list
                .map((s) => `${s.session} (${s.alias}) ${s.connected ? 'connected' : 'disconnected'}${s.device ? ` ${s.device.profile} at ${s.device.prompt} (${s.device.mode})` : ''}`)
                .join('\n');
        return Promise.resolve({ content: [{ type: 'text', text }], structuredContent: { sessions: list } });
      }),
  );

  server.registerTool(
    'close_session',
    {
      title: 'Close a session',
      description: 'Closes a host\'s session(s), ending its running commands. The next call reconnects.',
      inputSchema: sessionShape,
      outputSchema: closedSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      guard(redactor, async () => {
        const ending: Promise<string[]>[] = [];
        const closed = sessions.close(args.host, args.username, args.port, (key) => ending.push(jobs.endJobsOn(key, `close_session closed ${key}`)));
        await Promise.all(ending);
        const text = closed.length === 0 ? `No open session matches ${args.host}.` : `Closed: ${closed.join(', ')}`;
        return { content: [{ type: 'text', text }], structuredContent: { closed } };
      }),
  );

  server.registerTool(
    'close_all_sessions',
    {
      title: 'Close every session',
      description: 'Closes every session, ending running commands.',
      inputSchema: {},
      outputSchema: closedSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    () =>
      guard(redactor, async () => {
        const ending: Promise<string[]>[] = [];
        const closed = sessions.closeAll((key) => ending.push(jobs.endJobsOn(key, `close_all_sessions closed ${key}`)));
        await Promise.all(ending);
        return { content: [{ type: 'text', text: closed.length === 0 ? 'No open sessions.' : `Closed: ${closed.join(', ')}` }], structuredContent: { closed } };
      }),
  );
}

/** What a tool handler gets besides its arguments (the SDK's request extra). */
type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Sends `notifications/progress` for this call when the client asked for them (a progress token),
 * else undefined. Failures to send are ignored: progress must never fail the call.
 */
export function progressReporter(extra: ToolExtra): ((progress: number, total?: number, message?: string) => Promise<void>) | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  // Resolves once sent: a caller awaits its last one before answering (a client drops progress after the answer).
  return (progress, total, message) =>
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress, ...(total === undefined ? {} : { total }), ...(message === undefined ? {} : { message }) },
      })
      .catch(() => undefined);
}

/** Connections whose recorded host keys a result has announced (a WeakSet: nothing kept once a connection is gone). */
/** What a session says once, in its first command result: host keys recorded, what was detected. */
export function sessionNotices(session: Session): string | null {
  return notices(...session.notices.splice(0));
}

/** The notices that apply, one paragraph each; null when none does. */
export function notices(...parts: (string | null)[]): string | null {
  const present = parts.filter((part): part is string => part !== null && part !== '');
  return present.length === 0 ? null : present.join('\n\n');
}

function stillRunningNotice(job: JobInfo, timeoutSeconds: number, approvals: Approvals): string {
  if (job.state === 'awaiting_approval') return awaitingApprovalNotice(job, approvals);
  if (job.state === 'awaiting_input') {
    return job.fullScreen
      ? `A full-screen program is running. Read it with read_screen, drive it with send_keys, or interrupt_command_by_id command_id=${job.id}.`
      : `The command waits for input (${JSON.stringify(job.awaitingInput)}). Answer with send_input command_id=${job.id}, or interrupt it.`;
  }
  return `Still running after ${timeoutSeconds} s; it keeps running in the background. Follow it with get_command_status command_id=${job.id}.`;
}

/** What the model is told about a command that waits for a person's approval. */
export function awaitingApprovalNotice(job: JobInfo, approvals: Approvals): string {
  const request = approvals.pending().find((entry) => entry.commandId === job.id);
  const asked = request?.askedClient ? 'The person was asked through your client; it can also be decided on the server\'s machine' : 'A person decides it on the server\'s machine';
  return (
    `Awaiting a person's approval: the command has not run. ${asked} (\`mcp-ssh-server pending\` lists it${request ? `; it expires at ${request.expiresAt}` : ''}). ` +
    `It runs as soon as it is approved; denied or not answered in time, it ends failed with APPROVAL_DENIED. Follow it with get_command_status command_id=${job.id}.`
  );
}

function emptyOutput(): JobOutput {
  return { text: '', offset: 0, nextOffset: 0, skippedChars: 0, totalChars: 0, more: false };
}

/** A job's output as shown to the model: text plus where it starts, where reading continues, and what was left out. */
interface Page {
  readonly text: string;
  readonly offset: number;
  readonly nextOffset: number;
  readonly omitted: number;
  readonly skippedChars: number;
  readonly more: boolean;
}

function pageOf(output: JobOutput): Page {
  return { text: output.text, offset: output.offset, nextOffset: output.nextOffset, omitted: output.skippedChars, skippedChars: output.skippedChars, more: output.more };
}

/**
 * The whole output when it fits the cap, else its head and its tail (the end of a failed build is
 * where the error is) with a line saying what was left out and the offset that pages it.
 */
export function headAndTail(jobs: JobManager, id: string): Page {
  const half = OUTPUT_CAP_CHARS / 2;
  const head = jobs.status(id, { sinceOffset: 0, maxChars: OUTPUT_CAP_CHARS });
  if (!head.output.more) return pageOf(head.output);
  const first = jobs.status(id, { sinceOffset: 0, maxChars: half }).output;
  const total = head.output.totalChars;
  const last = jobs.status(id, { sinceOffset: Math.max(first.nextOffset, total - half), maxChars: half }).output;
  const omitted = last.offset - first.nextOffset;
  return {
    text: `${first.text}\n[… ${omitted} characters omitted: page them with get_command_status since_offset=${first.nextOffset} …]\n${last.text}`,
    offset: 0,
    nextOffset: last.nextOffset,
    omitted,
    skippedChars: 0,
    more: last.more,
  };
}

export function commandResult(job: JobInfo, output: JobOutput | Page, notice: string | null): CallToolResult {
  const page = 'omitted' in output ? output : pageOf(output);
  const { text, omitted } = page;
  const lines: string[] = [];
  // Devices report no exit status: say so instead of a number.
  if (job.state === 'completed') lines.push(job.exitCode === null ? 'Exit Status: none (network device)' : `Exit Status: ${job.exitCode}`);
  else lines.push(`Status: ${job.state}${job.exitCode === null ? '' : ` (exit status ${job.exitCode})`}`, `Command ID: ${job.id}`);
  if (job.error) lines.push(`Error: ${job.error.code}: ${job.error.message}`);
  if (output.skippedChars > 0) lines.push(`[${output.skippedChars} characters before this output are no longer kept]`);
  lines.push('', 'STDOUT:', text);
  if (page.more) lines.push('', `[more output: get_command_status since_offset=${page.nextOffset}]`);
  if (notice) lines.push('', notice);
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    structuredContent: {
      ...jobFields(job),
      output: text,
      output_offset: page.offset,
      next_offset: page.nextOffset,
      omitted_chars: omitted,
      notice,
    },
  };
}

function jobFields(job: JobInfo) {
  return {
    command_id: job.id,
    command: job.command,
    session: job.sessionKey,
    status: job.state,
    exit_code: job.exitCode,
    started_at: job.startedAt,
    ended_at: job.endedAt,
    duration_ms: job.durationMs,
    total_chars: job.totalChars,
    dropped_chars: job.droppedChars,
    awaiting_input: job.awaitingInput,
    full_screen: job.fullScreen,
    error: job.error,
  };
}

function jobList(list: JobInfo[], empty: string): CallToolResult {
  const text =
    list.length === 0
      ? empty
      : list.map((job) => `${job.id}  ${job.state}${job.exitCode === null ? '' : ` (exit ${job.exitCode})`}  ${job.sessionKey}  ${job.command}`).join('\n');
  return { content: [{ type: 'text', text }], structuredContent: { commands: list.map(jobFields) } };
}

/** Runs a tool body; any error becomes an `isError` result with a stable code, secrets redacted. */
/** Results whose handler redacted what needed it (encoded file content must not be altered). */
const alreadyRedacted = new WeakSet<CallToolResult>();

export function markRedacted(result: CallToolResult): CallToolResult {
  alreadyRedacted.add(result);
  return result;
}

export async function guard(redactor: Redactor, body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    const result = await body();
    return alreadyRedacted.has(result) ? result : redactor.redactValue(result);
  } catch (error) {
    const code = isSshError(error) ? error.code : error instanceof TypeError || error instanceof RangeError ? 'INVALID_ARGUMENT' : 'INTERNAL_ERROR';
    const message = redactor.redact(error instanceof Error ? error.message : String(error));
    return { isError: true, content: [{ type: 'text', text: `Error ${code}: ${message}` }] };
  }
}

/** A key of this process only: a grant for one secret input never matches another, and no digest of a secret can be looked up elsewhere. */
const INPUT_KEY = randomBytes(32);

/** What tells two secret inputs apart for a grant (an HMAC, never shown); nothing for text that is shown whole. */
export function inputFingerprint(text: string, secret: boolean | undefined): string | undefined {
  return secret ? createHmac('sha256', INPUT_KEY).update(text).digest('hex') : undefined;
}

/** What typing `text` does, for the person approving it: never a secret's characters. */
export function typedAction(text: string, secret: boolean | undefined, into: string | undefined): string {
  const typed = secret ? `secret input (${text.length} characters, not shown)` : `type ${JSON.stringify(text)}`;
  return into === undefined ? typed : `${typed} into: ${into}`;
}
