import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { DashboardCore } from './dashboard';
import { createSshMcpServer, MAX_MESSAGE_BYTES, type SshMcpServerParts } from './server';

/** Request bodies above this are refused (413): write_file content travels in them. */
const MAX_BODY_BYTES = MAX_MESSAGE_BYTES;
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
/** MCP clients served at once; a new one past this replaces the longest idle. */
const MAX_CLIENTS = 32;
/** A client silent this long is forgotten (its SSH sessions stay: they belong to the server). */
const CLIENT_IDLE_MS = 60 * 60 * 1000;

export interface HttpServeOptions {
  /** Address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 8765. */
  readonly port?: number;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
  readonly token: string;
  /** Browser origins allowed besides the server's own loopback ones. */
  readonly allowedOrigins?: readonly string[];
  /** Sessions and jobs shared by every MCP client of this server. */
  readonly parts: SshMcpServerParts;
  /** Also serve the dashboard under `/ui` (its own login: the cookie, not the bearer token). */
  readonly dashboard?: DashboardCore;
}

export interface HttpServer {
  /** `http://host:port/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Closes every MCP connection and stops listening (sessions stay with `parts`). */
  close(): Promise<void>;
}

/**
 * Serves MCP over Streamable HTTP at `/mcp`. Every request needs the bearer token (else 401); a
 * request from a browser page of another origin is refused (403) and, when bound to loopback, so
 * is a Host header naming anything but loopback (DNS rebinding). Each MCP client gets its own
 * protocol session; SSH sessions and jobs are shared.
 */
export async function serveHttp(options: HttpServeOptions): Promise<HttpServer> {
  if (typeof options.token !== 'string' || options.token.length < 16) throw new TypeError('the HTTP bearer token must be at least 16 characters');
  const host = options.host ?? '127.0.0.1';
  const { logger } = options.parts;
  // The token must never come back in a result either (a command could print the environment).
  options.parts.redactor.add(options.token);
  const expected = digest(options.token);
  const clients = new Map<string, { readonly transport: StreamableHTTPServerTransport; lastUsed: number }>();
  const forget = (id: string): void => {
    const client = clients.get(id);
    clients.delete(id);
    void client?.transport.close().catch(() => undefined);
  };
  const sweep = setInterval(() => {
    for (const [id, client] of clients) if (Date.now() - client.lastUsed > CLIENT_IDLE_MS) forget(id);
  }, 60_000);
  sweep.unref();
  let port = 0;
  const loopback = LOOPBACK_NAMES.has(host);

  const refuse = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (options.dashboard && (url.pathname === '/ui' || url.pathname.startsWith('/ui/'))) return options.dashboard.handle(req, res, '/ui', port);
    if (url.pathname !== '/mcp') return refuse(res, 404, 'not found: the MCP endpoint is /mcp');
    if (loopback && !LOOPBACK_NAMES.has(hostName(req.headers.host))) {
      return refuse(res, 403, 'forbidden: the Host header must name the loopback address this server listens on');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin, port, options.allowedOrigins ?? [])) {
      logger.log('warn', 'http request refused: foreign Origin', { origin });
      return refuse(res, 403, `forbidden: Origin ${origin} is not allowed (see --allowed-origin)`);
    }
    const auth = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(auth);
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      logger.log('warn', 'http request refused: missing or wrong bearer token');
      return refuse(res, 401, 'unauthorized: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? clients.get(sessionId) : undefined;
    if (existing) {
      existing.lastUsed = Date.now();
      return existing.transport.handleRequest(req, res);
    }
    if (typeof sessionId === 'string') return refuse(res, 404, 'unknown or closed MCP session: initialize again');
    if (req.method !== 'POST') return refuse(res, 400, 'bad request: initialize with a POST first');
    const body = await readJson(req);
    if (body === undefined) return refuse(res, 413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    if (body instanceof Error) return refuse(res, 400, `bad request: ${body.message}`);
    if (!isInitializeRequest(body)) return refuse(res, 400, 'bad request: no MCP session; the first request must be initialize');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: MAX_BODY_BYTES,
      onsessioninitialized: (id) => {
        if (clients.size >= MAX_CLIENTS) {
          const idlest = [...clients].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
          if (idlest) forget(idlest[0]);
        }
        clients.set(id, { transport, lastUsed: Date.now() });
        logger.log('info', 'http client connected', { clients: clients.size });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) clients.delete(transport.sessionId);
    };
    const server = createSshMcpServer({ parts: options.parts });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.log('error', 'http request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8765, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/mcp`,
    port,
    async close() {
      clearInterval(sweep);
      await Promise.all([...clients.values()].map((client) => client.transport.close().catch(() => undefined)));
      clients.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The host name of a Host header (`127.0.0.1:8765` → `127.0.0.1`, `[::1]:1` → `[::1]`). */
function hostName(header: string | undefined): string {
  if (!header) return '';
  const bracket = /^(\[[^\]]+\])/.exec(header);
  return (bracket?.[1] ?? header.replace(/:\d+$/, '')).toLowerCase();
}

function allowedOrigin(origin: string, port: number, extra: readonly string[]): boolean {
  if (extra.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && LOOPBACK_NAMES.has(url.hostname) && Number(url.port) === port;
  } catch {
    return false;
  }
}

/** The parsed JSON body; undefined when it is too large; an Error when it is not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (error) {
    return new Error(`the body is not JSON (${(error as Error).message})`);
  }
}
