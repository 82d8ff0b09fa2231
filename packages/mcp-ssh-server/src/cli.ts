#!/usr/bin/env node
import { homedir, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { askSocket, defaultApprovalSocket, listenForApprovals, liveSockets, type ApprovalSocket } from './approval-socket';
import type { PendingApproval } from './approvals';
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

const DECIDE_USAGE = `usage:
  mcp-ssh-server pending [--json] [--socket <path>]
  mcp-ssh-server approve <id> [--for-session] [--socket <path>]
  mcp-ssh-server deny <id> [--socket <path>]
`;

function describeRequest(request: PendingApproval): string {
  const where = `${request.session}${request.directory ? ` in ${request.directory}` : ''}`;
  return `${request.id}  ${request.tool} (${request.class}) on ${where}, expires ${request.expiresAt}\n    ${request.shown}`;
}

/**
 * `pending`, `approve <id> [--for-session]`, `deny <id>`: decide the approvals a running server
 * waits for, over its local socket (every server of this user, unless --socket names one).
 */
async function decide(verb: 'pending' | 'approve' | 'deny', argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parseDecideArgs>;
  try {
    parsed = parseDecideArgs(argv);
  } catch (error) {
    process.stderr.write(`mcp-ssh-server ${verb}: ${(error as Error).message}\n${DECIDE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { values, positionals } = parsed;
  const id = positionals[0];
  if ((verb === 'pending') !== (positionals.length === 0) || positionals.length > 1 || (values['for-session'] && verb !== 'approve')) {
    process.stderr.write(DECIDE_USAGE);
    process.exitCode = 2;
    return;
  }
  const sockets = await liveSockets(values.socket ?? (process.env.MCP_SSH_APPROVAL_SOCKET || undefined), process.env, homedir());
  if (sockets.length === 0) {
    process.stderr.write('no running mcp-ssh-server with approvals on was found (its socket path is in its log; pass --socket <path>)\n');
    process.exitCode = 1;
    return;
  }
  const listed = await Promise.all(
    sockets.map(async (path) => {
      try {
        const response = await askSocket(path, { op: 'pending' });
        return response.ok && 'pending' in response ? { path, pid: response.pid, pending: response.pending } : undefined;
      } catch (error) {
        process.stderr.write(`${path}: ${(error as Error).message}\n`);
        return undefined;
      }
    }),
  );
  const servers = listed.filter((server): server is NonNullable<typeof server> => server !== undefined);
  if (verb === 'pending') {
    const all = servers.flatMap((server) => server.pending.map((request) => ({ ...request, server: server.pid })));
    if (values.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    else if (all.length === 0) process.stdout.write('nothing awaits approval\n');
    else process.stdout.write(`${all.map(describeRequest).join('\n')}\n`);
    return;
  }
  const wanted = (id ?? '').trim();
  const matches = servers.flatMap((server) => server.pending.filter((request) => request.id === wanted || (wanted.length >= 4 && request.id.startsWith(wanted))).map((request) => ({ server, request })));
  if (matches.length !== 1) {
    process.stderr.write(matches.length === 0 ? `no pending request ${JSON.stringify(wanted)} (decided, expired, or never made; \`mcp-ssh-server pending\` lists them)\n` : `${JSON.stringify(wanted)} matches ${matches.length} pending requests: give more of the id\n`);
    process.exitCode = 1;
    return;
  }
  const [{ server, request }] = matches as [(typeof matches)[number]];
  const decision = verb === 'deny' ? 'deny' : values['for-session'] ? 'approve_for_session' : 'approve_once';
  const response = await askSocket(server.path, { op: 'decide', id: request.id, decision, by: userInfo().username });
  if (!response.ok) {
    process.stderr.write(`${response.code}: ${response.error}\n`);
    process.exitCode = 1;
    return;
  }
  const done = verb === 'deny' ? 'denied' : values['for-session'] ? 'approved for the session' : 'approved once';
  process.stdout.write(`${done}: ${describeRequest(request)}\n`);
}

function parseDecideArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { socket: { type: 'string' }, json: { type: 'boolean' }, 'for-session': { type: 'boolean' } },
  });
}

async function main(): Promise<void> {
  const verb = process.argv[2];
  if (verb === 'audit') {
    audit(process.argv.slice(3));
    return;
  }
  if (verb === 'pending' || verb === 'approve' || verb === 'deny') {
    await decide(verb, process.argv.slice(3));
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
  // Out-of-band decisions: only when something can ask for one.
  let socket: ApprovalSocket | undefined;
  if (parts.policy.asksApproval || config.confirmNewHosts) {
    socket = await listenForApprovals(config.approvalSocket ?? defaultApprovalSocket(process.env, homedir()), parts.approvals, logger);
    logger.log('info', `approvals: a person decides pending requests with \`mcp-ssh-server pending\`, \`approve <id> [--for-session]\`, \`deny <id>\` (socket ${socket.path})`);
  }
  // The dashboard (and node:http with it) loads only for --dashboard.
  let dashboard: Awaited<ReturnType<typeof import('./dashboard').startDashboard>> | undefined;
  try {
    dashboard = config.dashboard ? await (await import('./dashboard')).startDashboard({ parts, port: config.dashboard.port }) : undefined;
  } catch (error) {
    // Nothing is left behind by a start that failed: the socket goes, the sessions close.
    await socket?.close().catch(() => undefined);
    await parts.close().catch(() => undefined);
    throw error;
  }
  let stopping = false;
  const stopWith = (stop: () => Promise<void>) => async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await dashboard?.close().catch(() => undefined);
    await socket?.close().catch(() => undefined);
    await stop().catch(() => undefined);
    await parts.close().catch(() => undefined);
    logger.close();
  };

  if (config.http) {
    // The HTTP stack (node:http, the SDK's Streamable HTTP transport) loads only for --http.
    const { serveHttp } = await import('./http');
    const http = await serveHttp({ ...config.http, parts, ...(dashboard ? { dashboard: dashboard.core } : {}) });
    if (dashboard) process.stderr.write(`mcp-ssh-server dashboard also at http://127.0.0.1:${http.port}/ui/: log in with ${dashboard.core.loginLink('/ui', http.port)} (a one-time link)\n`);
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
