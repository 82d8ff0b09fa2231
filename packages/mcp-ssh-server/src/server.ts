import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { noopLogger, type Logger } from 'ssh-session-core';
import { VERSION } from './version';

export interface SshMcpServerOptions {
  /** Where diagnostics go. Default: dropped. */
  readonly logger?: Logger;
}

/**
 * Builds the MCP server: composition only, no I/O. Connect it to a transport
 * (`server.connect(new StdioServerTransport())`) to serve.
 */
export function createSshMcpServer(options: SshMcpServerOptions = {}): McpServer {
  const logger = options.logger ?? noopLogger;
  const server = new McpServer(
    { name: 'mcp-ssh-server', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Persistent SSH sessions to Linux hosts and network devices. Each host keeps one shell: ' +
        'state such as the current directory persists between commands.',
    },
  );
  logger.log('debug', 'mcp server created', { version: VERSION });
  return server;
}
