#!/usr/bin/env node
import { verifyAuditLog } from './audit';
import { HELP_TEXT, parseCli, type CliCommand } from './config';
import { createServerLogger } from './logger';
import { createServerParts, createSshMcpServer, MAX_MESSAGE_BYTES } from './server';
import { LineStdioTransport } from './stdio';
import { VERSION } from './version';

/** `mcp-ssh-server audit verify <file>`: exit 0 on an intact chain, 1 naming the first bad record, 2 on misuse. */
function audit(args: readonly string[]): void {
  if (args[0] !== 'verify' || args.length !== 2 || !args[1]) {
    process.stderr.write('usage: mcp-ssh-server audit verify <file>\n');
    process.exitCode = 2;
    return;
  }
  const verdict = verifyAuditLog(args[1]);
  if (!verdict.ok) {
    process.stderr.write(`audit log NOT intact: ${verdict.problem}\n(files checked, oldest first: ${verdict.files.join(', ')})\n`);
    process.exitCode = 1;
    return;
  }
  for (const warning of verdict.warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(
    `audit log intact: ${verdict.records} records (1 to ${verdict.lastSeq}) in ${verdict.files.length} file(s); last record's sha256 ${verdict.head}\n` +
      '(keep that hash elsewhere: a later verify that does not reach it means the end of the log was cut or rewritten)\n',
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === 'audit') {
    audit(process.argv.slice(3));
    return;
  }
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
  const { config } = command;
  const logger = createServerLogger(config.logLevel, config.logFile);
  const parts = createServerParts({ logger, config });
  if (!parts.policy.isOpen) logger.log('info', `policy: ${parts.policy.describe()}`);
  let stopping = false;
  const stopWith = (stop: () => Promise<void>) => async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await stop().catch(() => undefined);
    await parts.close().catch(() => undefined);
    logger.close();
  };

  if (config.http) {
    // The HTTP stack (node:http, the SDK's Streamable HTTP transport) loads only for --http.
    const { serveHttp } = await import('./http');
    const http = await serveHttp({ ...config.http, parts });
    const shutdown = stopWith(() => http.close());
    process.once('SIGINT', () => void shutdown());
    process.once('SIGTERM', () => void shutdown());
    // The token is never logged; the URL is.
    logger.log('info', `mcp-ssh-server ${VERSION} serving Streamable HTTP at ${http.url} (bearer token required)`);
    return;
  }
  const server = createSshMcpServer({ parts });
  const transport = new LineStdioTransport({ maxMessageBytes: MAX_MESSAGE_BYTES });
  const shutdown = stopWith(() => server.close());
  process.stdin.once('end', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  await server.connect(transport);
  logger.log('info', `mcp-ssh-server ${VERSION} serving on stdio`);
}

main().catch((error: unknown) => {
  process.stderr.write(`mcp-ssh-server: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
