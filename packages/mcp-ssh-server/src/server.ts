import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JobManager } from 'ssh-async-jobs';
import { noopLogger, Redactor, type Logger } from 'ssh-session-core';
import type { ServerConfig } from './config';
import { registerFileAndScreenTools } from './file-tools';
import { registerHostTools } from './host-tools';
import { LocalRoots } from './local-paths';
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
  const sessions = new SessionManager({
    homeDir: home,
    localUser: userInfo().username,
    sshConfigPath,
    agent: config.agent,
    overrides,
    redactor,
    logger,
    policy,
  });
  const jobs = new JobManager({ redactor });
  const localRoots = new LocalRoots(config.localRoots ?? defaultLocalRoots(), home);
  return {
    sessions,
    jobs,
    redactor,
    policy,
    logger,
    sshConfigPath,
    localRoots,
    async close() {
      await jobs.dispose('the server is shutting down');
      sessions.closeAll();
    },
  };
}

/**
 * Builds the MCP server: composition only, no I/O. Connect it to a transport
 * (`server.connect(new StdioServerTransport())`) to serve.
 */
export function createSshMcpServer(options: SshMcpServerOptions = {}): McpServer & { readonly parts: SshMcpServerParts } {
  const parts = options.parts ?? createServerParts(options);
  const { sessions, jobs, redactor, policy, logger } = parts;
  const restrictions = policy.isOpen ? '' : ` The operator set a policy (${policy.describe()}): refused calls say POLICY_DENIED.`;
  const server = new McpServer(
    { name: 'mcp-ssh-server', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Persistent SSH sessions to Linux hosts. Each host keeps one shell: the current directory, ' +
        'variables and virtualenvs persist between execute_command calls. Commands return exact output ' +
        'and real exit codes; a command still running at its timeout (or waiting for input) returns a ' +
        'command_id to follow with get_command_status, answer with send_input, or stop with ' +
        'interrupt_command_by_id. Hosts are names, IPs or ~/.ssh/config aliases (list_hosts shows them); ' +
        'credentials come from ssh_config, the agent, or OVRD_<alias>_* variables of the server, so you ' +
        'rarely pass passwords.' +
        restrictions,
    },
  );
  registerCommandTools(server, { sessions, jobs, redactor, logger, policy });
  registerFileAndScreenTools(server, { sessions, jobs, redactor, policy });
  registerHostTools(server, {
    sessions,
    jobs,
    redactor,
    policy,
    sshConfigPath: parts.sshConfigPath,
    homeDir: homedir(),
    localUser: userInfo().username,
    localRoots: parts.localRoots,
  });
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
