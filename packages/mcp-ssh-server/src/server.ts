import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JobManager } from 'ssh-async-jobs';
import { noopLogger, Redactor, type Logger } from 'ssh-session-core';
import type { ServerConfig } from './config';
import { SessionManager, type HostOverride } from './sessions';
import { registerFileAndScreenTools } from './file-tools';
import { registerCommandTools } from './tools';
import { VERSION } from './version';

export interface SshMcpServerOptions {
  /** Where diagnostics go. Default: dropped. */
  readonly logger?: Logger;
  /** Parsed configuration (see `parseCli`); default: no ssh_config overrides, ~/.ssh/config. */
  readonly config?: Partial<ServerConfig>;
}

/** The server and what it owns, for embedding and for shutdown. */
export interface SshMcpServerParts {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
}

/**
 * Builds the MCP server: composition only, no I/O. Connect it to a transport
 * (`server.connect(new StdioServerTransport())`) to serve.
 */
export function createSshMcpServer(options: SshMcpServerOptions = {}): McpServer & { readonly parts: SshMcpServerParts } {
  const logger = options.logger ?? noopLogger;
  const config = options.config ?? {};
  const redactor = new Redactor();
  const overrides = new Map<string, HostOverride>();
  for (const [alias, override] of Object.entries(config.overrides ?? {})) {
    overrides.set(alias, override);
    for (const secret of [override.password, override.sudoPassword, override.enablePassword]) redactor.add(secret);
  }
  const home = homedir();
  const sessions = new SessionManager({
    homeDir: home,
    localUser: userInfo().username,
    sshConfigPath: config.sshConfigPath ?? join(home, '.ssh', 'config'),
    agent: config.agent,
    overrides,
    redactor,
    logger,
  });
  const jobs = new JobManager({ redactor });
  const server = new McpServer(
    { name: 'mcp-ssh-server', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Persistent SSH sessions to Linux hosts. Each host keeps one shell: the current directory, ' +
        'variables and virtualenvs persist between execute_command calls. Commands return exact output ' +
        'and real exit codes; a command still running at its timeout (or waiting for input) returns a ' +
        'command_id to follow with get_command_status, answer with send_input, or stop with ' +
        'interrupt_command_by_id. Hosts are names, IPs or ~/.ssh/config aliases; credentials come from ' +
        'ssh_config, the agent, or OVRD_<alias>_* variables of the server, so you rarely pass passwords.',
    },
  );
  registerCommandTools(server, { sessions, jobs, redactor, logger });
  registerFileAndScreenTools(server, { sessions, jobs, redactor });
  logger.log('debug', 'mcp server created', { version: VERSION });
  return Object.assign(server, { parts: { sessions, jobs, redactor } });
}
