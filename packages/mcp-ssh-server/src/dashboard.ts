import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobEvent } from 'ssh-async-jobs';
import type { PersonDecision } from './approvals';
import type { SshMcpServerParts } from './server';

/**
 * The local web dashboard (`--dashboard`): sessions, jobs with live output, pending approvals and
 * recordings, on 127.0.0.1. Access: a one-time login link (token in the URL fragment, printed to
 * stderr) is exchanged for an HttpOnly, SameSite=Strict cookie; every API call checks the cookie,
 * the Host (DNS rebinding) and the Origin, and state-changing calls a CSRF token. Everything it
 * serves comes from the job manager, the session list and the approvals, which redact secrets
 * before anything leaves them; recordings never held any.
 */

export interface DashboardOptions {
  readonly parts: SshMcpServerParts;
  /** Where the one-time login links go (default: stderr, never the log file). */
  readonly announce?: (line: string) => void;
}

/**
 * The dashboard's logins, live notices and API, served by its own HTTP server
 * ({@link startDashboard}) and, under `/ui`, by the Streamable HTTP server (`serveHttp`'s
 * `dashboard`): one set of logins for both.
 */
export interface DashboardCore {
  /**
   * Answers a request under `base` (`''` or `/ui`) that reached the server listening on `port`
   * (the Host header must name it on loopback).
   */
  handle(request: IncomingMessage, response: ServerResponse, base: string, port: number): Promise<void>;
  /** A fresh one-time login link for the page at `http://127.0.0.1:<port><base>/`. */
  loginLink(base: string, port: number): string;
  /** Ends the live streams. */
  close(): void;
}

export interface Dashboard {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly core: DashboardCore;
  close(): Promise<void>;
}

const COOKIE = 'mcp_ssh_dash';
const SESSION_MS = 12 * 60 * 60 * 1000;
/** How often a job's output notice is sent at most, per job. */
const OUTPUT_NOTICE_MS = 100;

interface BrowserSession {
  readonly csrf: string;
  readonly expires: number;
}

/** Where the built page is: dist/ui next to the bundle (cli.js) or the library (index.js). */
function uiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, 'ui');
}

const STATIC: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.global.js': 'app.global.js',
  '/app.css': 'app.css',
  '/asciinema-player.min.js': 'asciinema-player.min.js',
  '/asciinema-player.css': 'asciinema-player.css',
};

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function createDashboard(options: DashboardOptions): DashboardCore {
  const { parts } = options;
  const announce = options.announce ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tokens = new Set<string>();
  const sessions = new Map<string, BrowserSession>();
  const streams = new Set<ServerResponse>();
  const allowedHosts = (port: number): string[] => [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const allowedOrigins = (port: number): string[] => allowedHosts(port).map((name) => `http://${name}`);

  const loginLink = (base: string, port: number): string => {
    const token = randomBytes(24).toString('base64url');
    tokens.add(token);
    return `http://127.0.0.1:${port}${base}/#login=${token}`;
  };

  // Live notices, only while a page is open: nothing is watched otherwise.
  let unwatchJobs: (() => void) | undefined;
  let unwatchApprovals: (() => void) | undefined;
  const lastNotice = new Map<string, { at: number; timer: NodeJS.Timeout | undefined }>();
  let stateTimer: NodeJS.Timeout | undefined;
  const send = (event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  const stateChanged = (): void => {
    if (stateTimer) return;
    stateTimer = setTimeout(() => {
      stateTimer = undefined;
      send('state', {});
    }, 50);
  };
  const onJob = (event: JobEvent): void => {
    if (event.type === 'end') {
      clearTimeout(lastNotice.get(event.id)?.timer);
      lastNotice.delete(event.id);
    }
    if (event.type !== 'output') {
      stateChanged();
      send('output', { id: event.id, session: event.sessionKey, total: event.totalChars });
      return;
    }
    const notice = lastNotice.get(event.id) ?? { at: 0, timer: undefined };
    lastNotice.set(event.id, notice);
    if (notice.timer) return;
    const wait = notice.at + OUTPUT_NOTICE_MS - Date.now();
    const fire = (): void => {
      notice.timer = undefined;
      notice.at = Date.now();
      send('output', { id: event.id, session: event.sessionKey, total: event.totalChars });
    };
    if (wait <= 0) fire();
    else notice.timer = setTimeout(fire, wait);
  };
  const watchIfOpen = (): void => {
    if (streams.size > 0 && !unwatchJobs) {
      unwatchJobs = parts.jobs.watch(onJob);
      unwatchApprovals = parts.approvals.subscribe(stateChanged);
    } else if (streams.size === 0 && unwatchJobs) {
      unwatchJobs();
      unwatchApprovals?.();
      unwatchJobs = undefined;
      unwatchApprovals = undefined;
      for (const notice of lastNotice.values()) clearTimeout(notice.timer);
      lastNotice.clear();
    }
  };

  const sessionOf = (request: IncomingMessage): BrowserSession | undefined => {
    const cookie = request.headers.cookie ?? '';
    const id = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]+)`).exec(cookie)?.[1];
    const now = Date.now();
    for (const [key, entry] of sessions) if (entry.expires < now) sessions.delete(key);
    return id === undefined ? undefined : sessions.get(id);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, base: string, port: number): Promise<void> => {
    const full = new URL(request.url ?? '/', 'http://dashboard');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    // Only this machine: also under /ui of an --http server bound to another address.
    if (!isLoopback(request.socket.remoteAddress)) return reply(response, 403, { error: 'the dashboard answers only on this machine (loopback)' });
    // DNS rebinding: a page of another site that resolves its name to 127.0.0.1 sends its own Host.
    if (!allowedHosts(port).includes(request.headers.host ?? '')) return reply(response, 403, { error: 'forbidden host' });
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins(port).includes(origin)) return reply(response, 403, { error: 'forbidden origin' });
    if (request.headers['sec-fetch-site'] === 'cross-site') return reply(response, 403, { error: 'cross-site request' });
    if (base !== '' && full.pathname === base) {
      // The page's relative links need the slash.
      response.writeHead(308, { Location: `${base}/` });
      response.end();
      return;
    }
    const url = new URL(full.pathname.slice(base.length) + full.search, 'http://dashboard');

    if (!url.pathname.startsWith('/api/')) {
      const file = STATIC[url.pathname];
      if (request.method !== 'GET' || !file) return reply(response, 404, { error: 'not found' });
      let body: Buffer;
      try {
        body = readFileSync(join(uiDir(), file));
      } catch {
        return reply(response, 500, { error: 'the dashboard page is not built (pnpm build)' });
      }
      response.writeHead(200, {
        'Content-Type': TYPES[file.split('.').at(-1) ?? ''] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
        // The page runs only its own scripts; no frames (clickjacking), no other origins.
        'Content-Security-Policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'",
        'X-Frame-Options': 'DENY',
      });
      response.end(body);
      return;
    }

    const mutating = request.method !== 'GET' && request.method !== 'HEAD';
    // A state-changing call comes from our page: browsers always send Origin with it.
    if (mutating && origin === undefined) return reply(response, 403, { error: 'origin required' });

    if (url.pathname === '/api/login' && request.method === 'POST') {
      const body = await readJson(request);
      const token = typeof body?.token === 'string' ? body.token : '';
      const known = [...tokens].find((candidate) => safeEqual(candidate, token));
      if (!known) return reply(response, 401, { error: 'this login link is not valid (each works once): use the newest one the server printed' });
      tokens.delete(known);
      const id = randomBytes(24).toString('base64url');
      const session = { csrf: randomBytes(24).toString('base64url'), expires: Date.now() + SESSION_MS };
      sessions.set(id, session);
      response.setHeader('Set-Cookie', `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=${base || '/'}; Max-Age=${SESSION_MS / 1000}`);
      reply(response, 200, { csrf: session.csrf });
      announce(`mcp-ssh-server dashboard: logged in; the next browser logs in with ${loginLink(base, port)}`);
      return;
    }

    const session = sessionOf(request);
    if (!session) return reply(response, 401, { error: 'not logged in: open the login link the server printed' });
    if (mutating && !safeEqual(String(request.headers['x-csrf-token'] ?? ''), session.csrf)) return reply(response, 403, { error: 'bad CSRF token' });

    try {
      await route(request, response, url, session);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const status = code === 'JOB_NOT_FOUND' || code === 'APPROVAL_NOT_FOUND' ? 404 : code === 'INVALID_ARGUMENT' ? 400 : 500;
      reply(response, status, { error: parts.redactor.redact((error as Error).message), code: typeof code === 'string' ? code : 'INTERNAL_ERROR' });
    }
  };

  const route = async (request: IncomingMessage, response: ServerResponse, url: URL, session: BrowserSession): Promise<void> => {
    const path = url.pathname;
    if (path === '/api/session' && request.method === 'GET') return reply(response, 200, { csrf: session.csrf });
    if (path === '/api/state' && request.method === 'GET') {
      return reply(response, 200, {
        sessions: parts.sessions.list(),
        jobs: parts.jobs.running(),
        pending: parts.approvals.pending(),
        recording: parts.recorder !== undefined,
      });
    }
    if (path === '/api/history' && request.method === 'GET') {
      const limit = clampInt(url.searchParams.get('limit'), 1, 100, 20);
      const offset = clampInt(url.searchParams.get('offset'), 0, 10_000, 0);
      const all = parts.jobs.history(offset + limit);
      return reply(response, 200, { jobs: all.slice(offset), more: parts.jobs.history(offset + limit + 1).length > offset + limit });
    }
    const job = /^\/api\/jobs\/([0-9a-f-]{36})$/.exec(path);
    if (job && request.method === 'GET') {
      const since = clampInt(url.searchParams.get('since'), 0, Number.MAX_SAFE_INTEGER, 0);
      const status = parts.jobs.status(job[1] as string, { sinceOffset: since, maxChars: 65_536 });
      return reply(response, 200, status);
    }
    const approval = /^\/api\/approvals\/([0-9a-f-]{4,36})$/.exec(path);
    if (approval && request.method === 'POST') {
      const body = await readJson(request);
      const decision = body?.decision;
      if (decision !== 'approve_once' && decision !== 'approve_for_session' && decision !== 'deny') return reply(response, 400, { error: 'decision must be approve_once, approve_for_session or deny' });
      return reply(response, 200, { decided: parts.approvals.decide(approval[1] as string, decision as PersonDecision, 'dashboard') });
    }
    if (path === '/api/recordings' && request.method === 'GET') {
      const dir = parts.recorder?.dir;
      if (!dir) return reply(response, 200, { recordings: [] });
      const recordings = readdirSync(dir)
        .filter((name) => name.endsWith('.cast'))
        .map((name) => {
          const info = statSync(join(dir, name));
          return { name, bytes: info.size, modified_at: info.mtime.toISOString() };
        })
        .sort((a, b) => b.name.localeCompare(a.name));
      return reply(response, 200, { recordings });
    }
    const recording = /^\/api\/recordings\/([^/]+)$/.exec(path);
    if (recording && request.method === 'GET') {
      // A name as the recorder makes them: no path, nothing but [\w.@-].
      const name = safeDecode(recording[1] as string);
      if (!/^[\w.@-]+\.cast$/.test(name)) return reply(response, 404, { error: 'no such recording' });
      const dir = parts.recorder?.dir;
      if (!dir) return reply(response, 404, { error: 'recording is off (--record-dir)' });
      let body: Buffer;
      try {
        body = readFileSync(join(dir, name));
      } catch {
        return reply(response, 404, { error: 'no such recording' });
      }
      response.writeHead(200, { 'Content-Type': 'application/x-asciicast', 'Cache-Control': 'no-store' });
      response.end(body);
      return;
    }
    if (path === '/api/events' && request.method === 'GET') {
      response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      response.write(': connected\n\n');
      streams.add(response);
      watchIfOpen();
      // The stream ends with the login it was opened with.
      const expiry = setTimeout(() => response.end(), Math.max(0, session.expires - Date.now()));
      expiry.unref();
      response.on('close', () => {
        clearTimeout(expiry);
        streams.delete(response);
        watchIfOpen();
      });
      return;
    }
    reply(response, 404, { error: 'not found' });
  };

  return {
    handle: (request, response, base, port) =>
      handle(request, response, base, port).catch(() => {
        if (!response.headersSent) reply(response, 500, { error: 'internal error' });
      }),
    loginLink,
    close() {
      for (const stream of streams) stream.end();
      streams.clear();
      watchIfOpen();
      clearTimeout(stateTimer);
    },
  };
}

/**
 * Serves the dashboard on its own port of 127.0.0.1 (default 8766; 0 picks a free one) and
 * prints its one-time login link.
 */
export async function startDashboard(options: DashboardOptions & { readonly port?: number; readonly core?: DashboardCore }): Promise<Dashboard> {
  const core = options.core ?? createDashboard(options);
  const announce = options.announce ?? ((line: string) => process.stderr.write(`${line}\n`));
  let port = 0;
  const server: Server = createServer((request, response) => void core.handle(request, response, '', port));
  const listen = (wanted: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const wanted = options.port ?? 8766;
  try {
    await listen(wanted);
  } catch (error) {
    // Another server (a second client's) has the port: this one takes a free one and says which.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || wanted === 0) throw error;
    announce(`mcp-ssh-server dashboard: port ${wanted} is in use (another server?); using a free one`);
    await listen(0);
  }
  port = (server.address() as AddressInfo).port;
  announce(`mcp-ssh-server dashboard at http://127.0.0.1:${port}/: log in with ${core.loginLink('', port)} (a one-time link)`);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    core,
    close: () =>
      new Promise<void>((resolve) => {
        core.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function clampInt(value: string | null, min: number, max: number, fallback: number): number {
  const parsed = value === null ? Number.NaN : Number.parseInt(value, 10);
  return Number.isFinite(parsed) ? Math.min(max, Math.max(min, parsed)) : fallback;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
