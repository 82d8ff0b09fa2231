import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Variables } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import type { JobEvent, JobInfo, JobManager } from 'ssh-async-jobs';
import { DeviceSession, isSshError, ShellSession, type Logger, type Redactor } from 'ssh-session-core';
import { ServerError } from './errors';
import { listHosts } from './host-list';
import type { Session, SessionEvent, SessionManager } from './sessions';

/** What the resources read: the same sessions, jobs and ssh_config the tools use. */
export interface ResourceContext {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly sshConfigPath: string;
  readonly homeDir: string;
  readonly localUser: string;
}

const SESSIONS_URI = 'ssh://sessions';
const HOSTS_URI = 'ssh://hosts';
/** Output characters per read of a job's output; `_meta.next_offset` reads on. */
const PAGE_CHARS = 65_536;
/** Updates sent per subscribed URI: at most one per this interval (4/s); a job's end is sent at once. */
const UPDATE_INTERVAL_MS = 250;
/** ssh://sessions/{session} waits this long for the shell's directory (one exec round trip), else shows null. */
const CWD_WAIT_MS = 2_000;
/** The MCP specification's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

const sessionUri = (key: string): string => `${SESSIONS_URI}/${encodeURIComponent(key)}`;
const jobOutputUri = (id: string, offset?: number): string => `ssh://jobs/${encodeURIComponent(id)}/output${offset === undefined ? '' : `?offset=${offset}`}`;

/** What a subscribed URI shows, so an event finds the URIs it changes. */
type Watched =
  | { readonly kind: 'sessions' | 'hosts' }
  | { readonly kind: 'session' | 'screen'; readonly key: string }
  | { readonly kind: 'job'; readonly id: string };

/**
 * Read-only views over the sessions and jobs the tools drive (README, "Resources"):
 * `ssh://sessions`, `ssh://sessions/{session}`, `ssh://sessions/{session}/screen`,
 * `ssh://jobs/{command_id}/output{?offset}` and `ssh://hosts`, with completion of `{session}` and
 * `{command_id}` and subscriptions (`notifications/resources/updated`, at most 4/s per URI).
 * Everything shown passes through the redactor. Call before the server connects: the
 * subscribe capability cannot be added later.
 */
export function registerResources(server: McpServer, context: ResourceContext): void {
  const { sessions, jobs, redactor } = context;
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });

  const completeSession = (value: string): string[] => {
    const typed = decoded(value) ?? value;
    return sessions
      .list()
      .map((info) => info.session)
      .filter((key) => key.startsWith(typed));
  };
  const completeJob = (value: string): string[] => {
    const typed = decoded(value) ?? value;
    const known = [...jobs.running(), ...jobs.history(Number.MAX_SAFE_INTEGER)];
    return known.map((job) => job.id).filter((id) => id.startsWith(typed));
  };
  const templates = {
    session: new ResourceTemplate(`${SESSIONS_URI}/{session}`, {
      list: () => ({
        resources: sessions.list().map((info) => ({ uri: sessionUri(info.session), name: info.session, title: `Session ${info.session}`, mimeType: 'application/json' })),
      }),
      complete: { session: completeSession },
    }),
    screen: new ResourceTemplate(`${SESSIONS_URI}/{session}/screen`, { list: undefined, complete: { session: completeSession } }),
    // Two templates: the SDK matches `{?offset}` only when the query is there.
    output: new ResourceTemplate('ssh://jobs/{command_id}/output', { list: undefined, complete: { command_id: completeJob } }),
    outputPage: new ResourceTemplate('ssh://jobs/{command_id}/output{?offset}', { list: undefined, complete: { command_id: completeJob } }),
  };

  /** The answer of a read, redacted; an error becomes an MCP error with its code in the text ("Error CODE: …"). */
  const answer = async (body: () => ReadResourceResult | Promise<ReadResourceResult>): Promise<ReadResourceResult> => {
    try {
      return redactor.redactValue(await body());
    } catch (error) {
      throw mcpError(error, redactor);
    }
  };
  const openSession = (variables: Variables): Session => {
    const key = variable(variables, 'session');
    const session = sessions.get(key);
    if (!session) {
      const open = sessions.list().map((info) => info.session);
      throw new ServerError('NO_SESSION', `there is no open session ${JSON.stringify(key)} (open: ${open.length === 0 ? 'none' : open.join(', ')}); sessions open on a tool call such as execute_command`);
    }
    return session;
  };

  server.registerResource(
    'sessions',
    SESSIONS_URI,
    { title: 'Open SSH sessions', description: 'The open sessions, as list_sessions returns them (JSON).', mimeType: 'application/json' },
    (uri) => answer(() => json(uri, { sessions: sessions.list() })),
  );

  server.registerResource(
    'session',
    templates.session,
    {
      title: 'One SSH session',
      description:
        'One session by its key user@host:port (URI-encoded): kind (posix or device), state (idle, busy, awaiting_input, ' +
        'awaiting_approval, disconnected), the shell\'s directory (POSIX) or the prompt and mode (device), and its running jobs (JSON).',
      mimeType: 'application/json',
    },
    (uri, variables) =>
      answer(async () => {
        const session = openSession(variables);
        const info = sessions.list().find((entry) => entry.session === session.key);
        const running = jobs.runningOn(session.key);
        const device = session.shell instanceof DeviceSession ? session.shell.info : undefined;
        const cwd = session.shell instanceof ShellSession && isConnected(session) ? await within(session.shell.workingDirectory(), CWD_WAIT_MS) : undefined;
        return json(uri, {
          ...info,
          kind: session.kind,
          state: stateOf(session, running),
          cwd: cwd ?? null,
          prompt: device?.prompt ?? null,
          mode: device?.mode ?? null,
          running_jobs: running.map((job) => ({ command_id: job.id, status: job.state, command: job.command, started_at: job.startedAt })),
        });
      }),
  );

  server.registerResource(
    'session-screen',
    templates.screen,
    {
      title: 'Screen of a full-screen program',
      description: 'The emulated terminal screen of the full-screen program (vim, less, top) running in a session, as read_screen shows it; else a line saying none runs.',
      mimeType: 'text/plain',
    },
    (uri, variables) =>
      answer(async () => {
        const session = openSession(variables);
        if (!(session.shell instanceof ShellSession)) {
          return text(uri, `No full-screen program: ${session.key} is a network device (its CLI has none).`, { full_screen: false });
        }
        const screen = await session.shell.readScreen();
        if (!screen.fullScreen) return text(uri, `No full-screen program is running in ${session.key}.`, { full_screen: false });
        const meta = { full_screen: true, width: screen.width, height: screen.height, cursor_x: screen.cursorX, cursor_y: screen.cursorY };
        return text(uri, `[full-screen program, ${screen.width}x${screen.height}, cursor ${screen.cursorX},${screen.cursorY}]\n${screen.lines.join('\n')}`, meta);
      }),
  );

  const readOutput = (uri: URL, variables: Variables): Promise<ReadResourceResult> =>
    answer(() => {
      const id = variable(variables, 'command_id');
      const offset = variables.offset === undefined ? 0 : offsetOf(variable(variables, 'offset'));
      const { job, output } = jobs.status(id, { sinceOffset: offset, maxChars: PAGE_CHARS });
      return text(uri, output.text, {
        command_id: job.id,
        status: job.state,
        exit_code: job.exitCode,
        offset: output.offset,
        next_offset: output.nextOffset,
        skipped_chars: output.skippedChars,
        total_chars: output.totalChars,
        more: output.more,
        next_uri: jobOutputUri(job.id, output.nextOffset),
      });
    });
  const outputMetadata = {
    title: 'Output of a command',
    description:
      'Output of a command started by execute_command(_async), as text: a page of up to 65536 characters from ?offset=N ' +
      '(default 0). The contents\' _meta says where it is: offset, next_offset (read on with ?offset=next_offset, also as ' +
      'next_uri), total_chars, more, skipped_chars (no longer kept), status and exit_code. Subscribe to hear as output arrives.',
    mimeType: 'text/plain',
  };
  server.registerResource('job-output', templates.output, outputMetadata, readOutput);
  server.registerResource('job-output-page', templates.outputPage, outputMetadata, readOutput);

  server.registerResource(
    'hosts',
    HOSTS_URI,
    { title: 'Known hosts', description: 'The hosts of the server\'s ssh_config and OVRD_<alias>_* variables, as list_hosts returns them (JSON). Never a password.', mimeType: 'application/json' },
    (uri) => answer(async () => json(uri, await listHosts(context))),
  );

  /** Which resource a URI is (for subscriptions); undefined when this server has none there. */
  const watchedOf = (uri: string): Watched | undefined => {
    if (uri === SESSIONS_URI) return { kind: 'sessions' };
    if (uri === HOSTS_URI) return { kind: 'hosts' };
    let match = templates.session.uriTemplate.match(uri);
    if (match) return { kind: 'session', key: variable(match, 'session') };
    match = templates.screen.uriTemplate.match(uri);
    if (match) return { kind: 'screen', key: variable(match, 'session') };
    match = templates.output.uriTemplate.match(uri) ?? templates.outputPage.uriTemplate.match(uri);
    if (!match) return undefined;
    const id = variable(match, 'command_id');
    // Job ids are random: one not known now never appears.
    jobs.status(id, { maxChars: 1 });
    return { kind: 'job', id };
  };
  const updates = new ResourceUpdates(server, jobs, context.logger);
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const uri = request.params.uri;
    let watched: Watched | undefined;
    try {
      watched = watchedOf(uri);
    } catch (error) {
      throw mcpError(error, redactor);
    }
    if (!watched) throw new McpError(RESOURCE_NOT_FOUND, `Error NOT_FOUND: this server has no resource ${redactor.redact(uri)}`, { code: 'NOT_FOUND', uri: redactor.redact(uri) });
    updates.add(uri, watched);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    updates.remove(request.params.uri);
    return {};
  });

  // Sessions opening and closing change the resource list (one per session) and what subscribers
  // see. Watched from the client's initialized on: a server whose initialize never completed
  // (HTTP answers such a request with an error and never closes it) holds nothing.
  let unwatchSessions: (() => void) | undefined;
  const previousOnInitialized = server.server.oninitialized;
  server.server.oninitialized = () => {
    unwatchSessions ??= sessions.watch((event) => {
      server.sendResourceListChanged();
      updates.session(event);
    });
    previousOnInitialized?.();
  };
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    unwatchSessions?.();
    unwatchSessions = undefined;
    updates.clear();
    previousOnClose?.();
  };
}

/**
 * The subscriptions of one MCP connection and the `notifications/resources/updated` they get.
 * Jobs are watched only while something is subscribed. Each URI gets at most one update per
 * {@link UPDATE_INTERVAL_MS}: the first at once, the rest of an interval as one trailing update
 * (it tells the client to read again, so one is enough). A job's end goes out at once.
 */
class ResourceUpdates {
  readonly #server: McpServer;
  readonly #jobs: JobManager;
  readonly #logger: Logger;
  readonly #watched = new Map<string, Watched>();
  readonly #sent = new Map<string, { at: number; timer: NodeJS.Timeout | undefined }>();
  #unwatchJobs: (() => void) | undefined;

  constructor(server: McpServer, jobs: JobManager, logger: Logger) {
    this.#server = server;
    this.#jobs = jobs;
    this.#logger = logger;
  }

  add(uri: string, watched: Watched): void {
    this.#watched.set(uri, watched);
    this.#unwatchJobs ??= this.#jobs.watch((event) => this.#job(event));
  }

  remove(uri: string): void {
    this.#watched.delete(uri);
    clearTimeout(this.#sent.get(uri)?.timer);
    this.#sent.delete(uri);
    if (this.#watched.size === 0 && this.#unwatchJobs) {
      this.#unwatchJobs();
      this.#unwatchJobs = undefined;
    }
  }

  clear(): void {
    for (const uri of [...this.#watched.keys()]) this.remove(uri);
  }

  /** A session opened or closed: the session lists, the host list (session_open) and that session's views change. */
  session(event: SessionEvent): void {
    for (const [uri, watched] of this.#watched) {
      if (watched.kind === 'sessions' || watched.kind === 'hosts' || ('key' in watched && watched.key === event.key)) this.#update(uri, false);
    }
  }

  #job(event: JobEvent): void {
    const startOrEnd = event.type === 'start' || event.type === 'end';
    for (const [uri, watched] of this.#watched) {
      const here = 'key' in watched && watched.key === event.sessionKey;
      if (watched.kind === 'job' ? watched.id === event.id : watched.kind === 'screen' ? here : watched.kind === 'session' ? here && event.type !== 'output' : watched.kind === 'sessions' && startOrEnd) {
        this.#update(uri, watched.kind === 'job' && event.type === 'end');
      }
    }
  }

  #update(uri: string, now: boolean): void {
    let sent = this.#sent.get(uri);
    if (!sent) {
      sent = { at: Number.NEGATIVE_INFINITY, timer: undefined };
      this.#sent.set(uri, sent);
    }
    const entry = sent;
    if (now) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    } else if (entry.timer) {
      return;
    }
    const wait = entry.at + UPDATE_INTERVAL_MS - Date.now();
    if (now || wait <= 0) {
      this.#send(uri, entry);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.#send(uri, entry);
    }, wait);
    entry.timer.unref();
  }

  #send(uri: string, entry: { at: number }): void {
    if (!this.#watched.has(uri)) return;
    entry.at = Date.now();
    this.#server.server.sendResourceUpdated({ uri }).catch((error: unknown) => {
      this.#logger.log('debug', 'resource update not sent', { uri, error: error instanceof Error ? error.message : String(error) });
    });
  }
}

/** Connection and shell both open. */
function isConnected(session: Session): boolean {
  return session.connection.isOpen && session.shell.isOpen;
}

/** What a session is doing: its jobs waiting for input come first, then running ones, then approvals awaited. */
function stateOf(session: Session, running: readonly JobInfo[]): 'disconnected' | 'awaiting_input' | 'busy' | 'awaiting_approval' | 'idle' {
  if (!isConnected(session)) return 'disconnected';
  if (running.some((job) => job.state === 'awaiting_input')) return 'awaiting_input';
  if (running.some((job) => job.state === 'running')) return 'busy';
  if (running.some((job) => job.state === 'awaiting_approval')) return 'awaiting_approval';
  return 'idle';
}

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

function text(uri: URL, body: string, meta: Record<string, unknown>): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: body, _meta: meta }] };
}

/** A URI variable, percent-decoded. */
function variable(variables: Variables, name: string): string {
  const raw = variables[name];
  const value = decoded(Array.isArray(raw) ? raw.join(',') : (raw ?? ''));
  if (value === undefined || value === '') throw new ServerError('INVALID_ARGUMENT', `the URI's ${name} is empty or not percent-encoded text`);
  return value;
}

function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function offsetOf(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new ServerError('INVALID_ARGUMENT', `offset ${JSON.stringify(value)} is not a non-negative integer (use the next_offset of a previous read)`);
  return Number(value);
}

/** `promise`'s value, or undefined when it takes longer than `ms` or fails. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The codes that mean "no such resource"; other coded errors are internal. */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['NO_SESSION', 'JOB_NOT_FOUND']);

/** An MCP error for a failed read or subscribe: the code in its text as tools show it, secrets redacted. */
function mcpError(error: unknown, redactor: Redactor): McpError {
  if (error instanceof McpError) return error;
  const message = redactor.redact(error instanceof Error ? error.message : String(error));
  if (!isSshError(error)) return new McpError(ErrorCode.InternalError, `Error INTERNAL_ERROR: ${message}`, { code: 'INTERNAL_ERROR' });
  const code = NOT_FOUND_CODES.has(error.code) ? RESOURCE_NOT_FOUND : error.code === 'INVALID_ARGUMENT' ? ErrorCode.InvalidParams : ErrorCode.InternalError;
  return new McpError(code, `Error ${error.code}: ${message}`, { code: error.code });
}
