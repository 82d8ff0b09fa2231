import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JobManager, type JobInfo } from 'ssh-async-jobs';
import { noopLogger, Redactor, type Logger } from 'ssh-session-core';
import { TempFileJournal } from 'ssh-sftp-files';
import { Approvals, type ApprovalDecision, type PendingApproval } from './approvals';
import { AuditLog, auditText } from './audit';
import { classifyCommand, type CommandDialect } from './classify';
import { SessionRecorder } from './recorder';
import { ConfigChanges } from './config-changes';
import { compactToolList, registerOnly, selectedTools } from './tool-list';
import { serveCommandTasks, TASK_TOOLS } from './tasks';
import type { ServerConfig } from './config';
import { registerFileAndScreenTools } from './file-tools';
import { registerDeviceTools } from './device-tools';
import { registerHostTools } from './host-tools';
import { registerResources } from './resources';
import { LocalRoots } from './local-paths';
import { privateDir, stateDir } from './private-dir';
import { Policy } from './policy';
import { SessionManager, type HostOverride } from './sessions';
import { registerCommandTools } from './tools';
import { VERSION } from './version';

export interface SshMcpServerOptions {
  /** Where diagnostics go (secrets are redacted before they get there). Default: dropped. */
  readonly logger?: Logger;
  /** Parsed configuration (see `parseCli`); default: no overrides, no policy, ~/.ssh/config. */
  readonly config?: Partial<ServerConfig>;
  /**
   * Sessions, jobs and secrets to serve, shared by several MCP servers (one per HTTP client).
   * Default: new ones from `config`.
   */
  readonly parts?: SshMcpServerParts;
}

/** What the server owns: shared across MCP connections, closed once at shutdown. */
export interface SshMcpServerParts {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly policy: Policy;
  readonly logger: Logger;
  readonly sshConfigPath: string;
  /** Where upload_file and download_file may touch the server machine. */
  readonly localRoots: LocalRoots;
  /** The audit log (`--audit-log`), when one is kept. */
  readonly audit: AuditLog | undefined;
  /** Session recordings (`--record-dir`), when they are made. */
  readonly recorder: SessionRecorder | undefined;
  /** The running configurations around each send_config (`--config-snapshots` keeps them on disk). */
  readonly configChanges: ConfigChanges;
  /** The tools served (`--tools`); undefined: all. */
  readonly tools: ReadonlySet<string> | undefined;
  /** List output schemas in tools/list (`--output-schemas`); results are checked against them either way. */
  readonly outputSchemas: boolean;
  /** Asking a person before actions, as the policy's approval mode says (grants are shared by all clients). */
  readonly approvals: Approvals;
  /** Ends every job and closes every session. */
  close(): Promise<void>;
}

/** Builds the sessions, jobs and policy that one or more MCP servers serve. */
export function createServerParts(options: Omit<SshMcpServerOptions, 'parts'> = {}): SshMcpServerParts {
  const config = options.config ?? {};
  const redactor = new Redactor();
  const logger = redactingLogger(options.logger ?? noopLogger, redactor);
  const overrides = new Map<string, HostOverride>();
  for (const [alias, override] of Object.entries(config.overrides ?? {})) {
    overrides.set(alias, override);
    for (const secret of [override.password, override.sudoPassword, override.enablePassword]) redactor.add(secret);
  }
  const policy = new Policy(config.policy ?? {});
  const home = homedir();
  const sshConfigPath = config.sshConfigPath ?? join(home, '.ssh', 'config');
  const tempJournal = openTempJournal(stateDir(process.env, home), logger);
  const sessions = new SessionManager({
    ...(tempJournal ? { tempJournal } : {}),
    homeDir: home,
    localUser: userInfo().username,
    sshConfigPath,
    agent: config.agent,
    overrides,
    redactor,
    logger,
    policy,
    confirmNewHosts: config.confirmNewHosts === true,
  });
  const audit = config.auditLog === undefined ? undefined : AuditLog.open(config.auditLog, config.auditMaxBytes === undefined ? {} : { maxBytes: config.auditMaxBytes });
  audit?.append({ event: 'server_start', version: VERSION, pid: process.pid });
  const recorder = config.recordDir === undefined ? undefined : new SessionRecorder(config.recordDir);
  const jobs = new JobManager({
    redactor,
    ...(recorder
      ? {
          observer: {
            start: (job: JobInfo) => recorder.start(job),
            output: (job: { readonly sessionKey: string }, chunk: string) => recorder.output(job, chunk),
            input: (job: JobInfo, typed: string | undefined) => recorder.input(job, typed),
          },
        }
      : {}),
    ...(audit || recorder
      ? {
          onJobEnd: (job: JobInfo) => {
            recorder?.end(job);
            if (!audit) return;
            // Built after the answer is out: nothing of it is on a command's path. What may change
            // by then (the session closing) is taken now.
            const dialect = dialectOf(sessions, job.sessionKey);
            const recording = recordingOf(recorder, job.sessionKey);
            audit.appendLater(() => {
              const command = auditText(job.command);
              return {
                event: 'job_end',
                job_id: job.id,
                session: job.sessionKey,
                command: command.text,
                ...(command.sha256 ? { command_sha256: command.sha256 } : {}),
                status: job.state,
                exit_code: job.exitCode,
                started_at: job.startedAt,
                ended_at: job.endedAt,
                duration_ms: job.durationMs,
                output_chars: job.totalChars,
                error_code: job.error?.code ?? null,
                class: classifyCommand(job.command, dialect),
                ...recording,
              };
            });
          },
        }
      : {}),
  });
  const localRoots = new LocalRoots(config.localRoots ?? defaultLocalRoots(), home);
  return {
    sessions,
    jobs,
    redactor,
    policy,
    logger,
    sshConfigPath,
    localRoots,
    audit,
    recorder,
    configChanges: new ConfigChanges(config.configSnapshots),
    tools: config.tools === undefined ? undefined : selectedTools(config.tools),
    outputSchemas: config.outputSchemas === true,
    approvals: new Approvals(redactor, {
      ...(config.approvalTimeoutSeconds === undefined ? {} : { timeoutMs: config.approvalTimeoutSeconds * 1000 }),
      // The person deciding out of band sees each request where they watch the server (its log).
      onRequest: (request: PendingApproval) => {
        const id = request.id.slice(0, 8);
        logger.log('info', `approval needed ${id}: ${request.tool} (${request.class}) on ${request.session}: ${request.shown}: mcp-ssh-server approve ${id} | deny ${id}`);
      },
      onDecision: (decision: ApprovalDecision) => {
        if (decision.decision !== 'approved-earlier') logger.log('info', `approval ${decision.id.slice(0, 8)}: ${decision.decision}${decision.by ? ` (${decision.by})` : ''}`);
        if (!audit) return;
        const action = auditText(decision.action);
        audit.append({ event: 'approval', ...decision, action: action.text, ...(action.sha256 ? { action_sha256: action.sha256 } : {}) });
      },
    }),
    async close() {
      await jobs.dispose('the server is shutting down');
      sessions.closeAll();
      audit?.append({ event: 'server_stop' });
      audit?.close();
      recorder?.close();
      tempJournal?.close();
    },
  };
}

/**
 * The record of temp files on hosts (ssh-sftp-files' TempFileJournal): what a killed server's
 * writes left, the next server removes. Without a usable state directory the server runs on
 * without it, and says so.
 */
function openTempJournal(dir: string, logger: Logger): TempFileJournal | undefined {
  try {
    privateDir(dir, 'state directory');
    const journal = TempFileJournal.open(dir, { onError: (error) => logger.log('warn', `temp-file journal: ${error.message} (writes go on; a crash from now on may leave their temp files on hosts)`) });
    if (journal.adopted > 0) logger.log('info', `${journal.adopted} temp file(s) that a killed server left on hosts are removed at the next connection to each`);
    return journal;
  } catch (error) {
    logger.log('warn', `temp files of a write cut by a crash will not be removed later: ${(error as Error).message}`);
    return undefined;
  }
}

/** What a client's model reads first: how sessions, command ids, devices and files fit (kept short). */
const INSTRUCTIONS = [
  'Persistent SSH sessions to Linux/Unix hosts and network devices (routers, switches, firewalls).',
  'Sessions: one persistent shell per user@host:port, opened on first use and reused: cd, variables and virtualenvs ' +
    'persist between calls. A command sent while another runs there gets a second shell in the same directory. ' +
    'list_sessions shows them; close_session ends one.',
  'Commands: execute_command waits until it finishes or until timeout (30 s), returning exact output and the real ' +
    'exit code. Still running then, or waiting at a prompt, it returns a command_id and keeps running: follow it with ' +
    'get_command_status (since_offset pages output), answer prompts with send_input, stop it with interrupt_command_by_id. ' +
    'execute_command_async returns the command_id at once. Full-screen programs (vim, top): send_keys and read_screen.',
  'Network devices: device_type is optional (detected at login; give it, e.g. cisco_ios or juniper_junos, to skip ' +
    'detection); enable_password enters privileged mode. Device results have no exit code (null); a vendor error line ' +
    'such as "% Invalid input" makes the command failed. One CLI session per device.',
  'Files: read_file and write_file move text or base64 up to 2 MiB (writes are atomic; use_sudo for root-owned files); ' +
    'upload_file and download_file stream files of any size between this server\'s machine and the host; list_directory ' +
    'lists one.',
  'Hosts are names, IPs or ~/.ssh/config aliases (list_hosts shows them); credentials come from ssh_config, the agent ' +
    'or the server\'s OVRD_<alias>_* variables, so you rarely pass passwords.',
].join('\n');

/**
 * Builds the MCP server: composition only, no I/O. Connect it to a transport
 * (`server.connect(new StdioServerTransport())`) to serve.
 */
export function createSshMcpServer(options: SshMcpServerOptions = {}): McpServer & { readonly parts: SshMcpServerParts } {
  const parts = options.parts ?? createServerParts(options);
  const { sessions, jobs, redactor, policy, logger } = parts;
  const restrictions = policy.isOpen
    ? ''
    : `\nPolicy: the operator set one (${policy.describe()}): refused calls say POLICY_DENIED; with approval on, a person is asked ` +
      'through your client before such actions, and an action not approved says APPROVAL_DENIED (it did not run).';
  const server = new McpServer(
    { name: 'mcp-ssh-server', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions: INSTRUCTIONS + restrictions,
    },
  );
  if (parts.audit) auditToolCalls(server, parts.audit, redactor, parts.recorder, sessions);
  if (parts.tools) registerOnly(server, parts.tools);
  const { approvals } = parts;
  registerCommandTools(server, { sessions, jobs, redactor, logger, policy, approvals });
  registerFileAndScreenTools(server, { sessions, jobs, redactor, policy, approvals });
  registerDeviceTools(server, { sessions, jobs, redactor, policy, approvals, localRoots: parts.localRoots, recorder: parts.recorder, changes: parts.configChanges });
  registerResources(server, { sessions, jobs, redactor, logger, sshConfigPath: parts.sshConfigPath, homeDir: homedir(), localUser: userInfo().username });
  registerHostTools(server, {
    sessions,
    jobs,
    redactor,
    policy,
    approvals,
    sshConfigPath: parts.sshConfigPath,
    homeDir: homedir(),
    localUser: userInfo().username,
    localRoots: parts.localRoots,
  });
  // Tasks run through execute_command_async: served only with it.
  const served = parts.tools ?? selectedTools('all');
  const taskTools = served.has('execute_command_async') ? new Set([...TASK_TOOLS].filter((name) => served.has(name))) : new Set<string>();
  if (taskTools.size > 0) serveCommandTasks(server, { jobs, redactor, tools: taskTools });
  compactToolList(server, { outputSchemas: parts.outputSchemas, taskTools });
  // Transport and protocol errors (a malformed line, an oversized message) are logged, never lost.
  server.server.onerror = (error) => logger.log('error', `mcp transport: ${redactor.redact(error.message)}`);
  logger.log('debug', 'mcp server created', { version: VERSION });
  return Object.assign(server, { parts });
}

/**
 * The largest MCP message accepted, on stdio and HTTP alike (write_file itself refuses content
 * over 2 MiB; a bigger message is answered by id). The MCP SDK's stdio default (10 MB) would
 * close the pipe on a bigger one.
 */
export const MAX_MESSAGE_BYTES = 96 * 1024 * 1024;

/** The working directory, unless it is `/` (a client that starts servers there would open the whole disk). */
function defaultLocalRoots(): string[] {
  const cwd = process.cwd();
  return cwd === '/' ? [] : [cwd];
}

/** Every message and field goes through the redactor first: a secret never reaches a log. */
function redactingLogger(logger: Logger, redactor: Redactor): Logger {
  return {
    log(level, message, fields) {
      logger.log(level, redactor.redact(message), fields === undefined ? undefined : redactor.redactValue(fields));
    },
  };
}

/** Tools whose `command` runs on a host: their records carry its class. */
const COMMAND_TOOLS: ReadonlySet<string> = new Set(['execute_command', 'execute_command_async', 'execute_command_on_hosts']);

/** Arguments whose text an audit record keeps (redacted, capped); everything else is left out. */
const AUDITED_TEXT = ['command', 'path', 'remote_path', 'local_path', 'host', 'username', 'device_type', 'command_id', 'config_file'] as const;

/**
 * Records every tool call in the audit log once it has its answer: who asked (the client's
 * `initialize` name and version, the HTTP session), what (the tool, the host and the command or
 * path: redacted and capped; typed input and file contents only by size), and how it ended (the
 * session, command id, status, exit code, output size, error code, timing). Never the passwords.
 */
function auditToolCalls(server: McpServer, audit: AuditLog, redactor: Redactor, recorder: SessionRecorder | undefined, sessions: SessionManager): void {
  const register = server.registerTool.bind(server) as (name: string, config: unknown, handler: (...params: unknown[]) => unknown) => unknown;
  (server as unknown as { registerTool: typeof register }).registerTool = (name, config, handler) =>
    register(name, config, async (...params: unknown[]) => {
      const startedAt = Date.now();
      const args = (params.length > 1 ? params[0] : {}) as Record<string, unknown>;
      const extra = params.at(-1) as { sessionId?: string } | undefined;
      let result: { isError?: boolean; content?: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> } | undefined;
      let thrown: unknown;
      try {
        result = (await handler(...params)) as typeof result;
        return result;
      } catch (error) {
        thrown = error;
        throw error;
      } finally {
        const durationMs = Date.now() - startedAt;
        // Gathered after the answer is out (the call's arguments and result are not changed after it).
        audit.appendLater(() => {
          const client = server.server.getClientVersion();
          const what: Record<string, unknown> = {};
          for (const field of AUDITED_TEXT) {
            const value = args[field];
            if (typeof value !== 'string') continue;
            const kept = auditText(redactor.redact(value));
            what[field] = kept.text;
            if (kept.sha256) what[`${field}_sha256`] = kept.sha256;
          }
          if (Array.isArray(args.config_commands)) {
            const kept = auditText(redactor.redact(args.config_commands.filter((line): line is string => typeof line === 'string').join('\n')));
            what.config_commands = kept.text;
            if (kept.sha256) what.config_commands_sha256 = kept.sha256;
          }
          if (Array.isArray(args.hosts)) what.hosts = args.hosts.filter((host): host is string => typeof host === 'string').map((host) => redactor.redact(host));
          for (const field of ['input_text', 'keys', 'content'] as const) if (typeof args[field] === 'string') what[`${field}_chars`] = args[field].length;
          const structured = result?.structuredContent ?? {};
          // What the command does to the host (src/classify.ts), in the dialect of the session it ran in.
          if (typeof args.command === 'string' && COMMAND_TOOLS.has(name)) {
            const told = typeof args.device_type === 'string' && args.device_type !== 'linux';
            what.class = classifyCommand(args.command, told || (typeof structured.session === 'string' && dialectOf(sessions, structured.session) === 'device') ? 'device' : 'posix');
          }
          const errorText = result?.isError ? (result.content?.[0]?.text ?? '') : '';
          return {
            event: 'tool_call',
            tool: name,
            client: client ? { name: client.name, version: client.version } : null,
            ...(extra?.sessionId ? { mcp_session: extra.sessionId } : {}),
            ...what,
            session: typeof structured.session === 'string' ? structured.session : null,
            job_id: typeof structured.command_id === 'string' ? structured.command_id : null,
            status: typeof structured.status === 'string' ? structured.status : result?.isError || thrown ? 'error' : 'ok',
            exit_code: typeof structured.exit_code === 'number' ? structured.exit_code : null,
            output_chars: typeof structured.total_chars === 'number' ? structured.total_chars : null,
            error_code: thrown ? 'INTERNAL' : (/^Error ([A-Z_]+):/.exec(errorText)?.[1] ?? null),
            started_at: new Date(startedAt).toISOString(),
            duration_ms: durationMs,
            ...(typeof structured.session === 'string' ? recordingOf(recorder, structured.session) : {}),
          };
        });
      }
    });
}

/** The recording a record points at: the session's file and the time in it (seconds). */
function recordingOf(recorder: SessionRecorder | undefined, sessionKey: string): { recording?: string; recording_time?: number } {
  const where = recorder?.where(sessionKey);
  return where ? { recording: where.file, recording_time: where.time } : {};
}

/** How commands on the session `key` read: a network device's CLI, or a POSIX shell (also when it is gone). */
function dialectOf(sessions: SessionManager, key: string): CommandDialect {
  return sessions.get(key)?.kind === 'device' ? 'device' : 'posix';
}
