#!/usr/bin/env node
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { HELP_TEXT, parseCli, type CliCommand } from './config';
import { createStderrLogger } from './logger';
import { createSshMcpServer } from './server';
import { VERSION } from './version';

async function main(): Promise<void> {
  let command: CliCommand;
  try {
    command = parseCli(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`mcp-ssh-server: ${(error as Error).message}\n\n${HELP_TEXT}`);
    process.exitCode = 2;
    return;
  }
  // --help and --version are the only outputs on stdout that are not MCP: the server is not
  // running then.
  if (command.kind === 'help') {
    process.stdout.write(HELP_TEXT);
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const logger = createStderrLogger(command.config.logLevel);
  const server = createSshMcpServer({ logger, config: command.config });
  const transport = new StdioServerTransport();
  const shutdown = async (): Promise<void> => {
    server.parts.sessions.closeAll();
    await server.close().catch(() => undefined);
  };
  process.stdin.once('end', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  await server.connect(transport);
  logger.log('info', `mcp-ssh-server ${VERSION} serving on stdio`);
}

main().catch((error: unknown) => {
  process.stderr.write(`mcp-ssh-server: fatal: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
