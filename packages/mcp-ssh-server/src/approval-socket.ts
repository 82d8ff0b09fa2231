import { chmodSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'ssh-session-core';
import type { Approvals, PendingApproval, PersonDecision } from './approvals';
import { stateDir } from './private-dir';
import { VERSION } from './version';

/**
 * The local socket through which a person decides pending approvals (`mcp-ssh-server pending`,
 * `approve <id>`, `deny <id>`): one JSON object per line each way. It lives in a directory only
 * the server's user can enter (0700) and is itself 0600, so only that user's processes reach it.
 */

/** Requests the socket answers. */
export type SocketRequest = { readonly op: 'pending' } | { readonly op: 'decide'; readonly id: string; readonly decision: PersonDecision; readonly by: string };

/** Its answers. */
export type SocketResponse =
  | { readonly ok: true; readonly pid: number; readonly version: string; readonly pending: readonly PendingApproval[] }
  | { readonly ok: true; readonly pid: number; readonly version: string; readonly decided: PendingApproval }
  | { readonly ok: false; readonly code: string; readonly error: string };

/** Where servers put their sockets by default: `$XDG_RUNTIME_DIR/mcp-ssh-server`, else `$XDG_STATE_HOME` (`~/.local/state`)`/mcp-ssh-server`. */
export function approvalSocketDir(env: NodeJS.ProcessEnv, home: string): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'mcp-ssh-server');
  return stateDir(env, home);
}

/** This server's default socket: one per process, so several servers (one per client) never collide. */
export function defaultApprovalSocket(env: NodeJS.ProcessEnv, home: string): string {
  return join(approvalSocketDir(env, home), `approvals-${process.pid}.sock`);
}

const MAX_LINE_BYTES = 64 * 1024;

export interface ApprovalSocket {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on `path` for decisions on `approvals`. The directory is created 0700 when missing and
 * must be the server user's, not a symlink, and closed to others; a socket left by a dead server
 * at `path` is replaced, a live one is an error.
 */
export async function listenForApprovals(path: string, approvals: Approvals, logger: Logger): Promise<ApprovalSocket> {
  const dir = join(path, '..');
  // A directory we make is ours to narrow; one that was there (a home, a working directory) is not.
  const made = mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined;
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory()) throw new Error(`the approval socket's directory ${dir} is not a directory (a symlink?)`);
  if (uid !== undefined && stat.uid !== uid) throw new Error(`the approval socket's directory ${dir} belongs to uid ${stat.uid}, not to this server's user (${uid})`);
  if ((stat.mode & 0o077) !== 0) {
    if (!made && path !== defaultApprovalSocket(process.env, homedir())) {
      throw new Error(`the approval socket's directory ${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): give --approval-socket a path in a directory only you can enter`);
    }
    chmodSync(dir, 0o700);
  }
  const liveness = await probe(path);
  if (liveness === 'live') throw new Error(`another server listens on the approval socket ${path}`);
  if (liveness === 'refused') removeStale(path);
  // Servers killed without a chance to clean up (kill -9, OOM) left their sockets in the shared
  // directory: the ones nobody answers on go now, not at the next `pending`.
  if (dir === approvalSocketDir(process.env, homedir())) await liveSockets(undefined, process.env, homedir());
  const connections = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    // A client that says nothing for a while is let go: it must never hold the server's shutdown.
    socket.setTimeout(30_000, () => socket.destroy());
    serve(socket, approvals);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  server.on('error', (error) => logger.log('error', `approval socket: ${error.message}`));
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
        removeStale(path);
      }),
  };
}

function serve(socket: Socket, approvals: Approvals): void {
  socket.setEncoding('utf8');
  let buffered = '';
  const reply = (response: SocketResponse): void => {
    socket.write(`${JSON.stringify(response)}\n`);
  };
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE_BYTES) {
      reply({ ok: false, code: 'INVALID_ARGUMENT', error: 'request too long' });
      socket.end();
      return;
    }
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      reply(answer(line, approvals));
    }
  });
  socket.on('error', () => undefined);
}

function answer(line: string, approvals: Approvals): SocketResponse {
  let request: Partial<{ op: unknown; id: unknown; decision: unknown; by: unknown }>;
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { ok: false, code: 'INVALID_ARGUMENT', error: 'not JSON' };
  }
  const base = { ok: true as const, pid: process.pid, version: VERSION };
  if (request.op === 'pending') return { ...base, pending: approvals.pending() };
  if (request.op === 'decide') {
    const { id, decision, by } = request;
    if (typeof id !== 'string' || (decision !== 'approve_once' && decision !== 'approve_for_session' && decision !== 'deny')) {
      return { ok: false, code: 'INVALID_ARGUMENT', error: 'decide needs an id and a decision (approve_once, approve_for_session, deny)' };
    }
    const who = `socket: ${typeof by === 'string' && by !== '' ? by.slice(0, 64) : 'unknown'}`;
    try {
      return { ...base, decided: approvals.decide(id, decision, who) };
    } catch (error) {
      return { ok: false, code: (error as { code?: string }).code ?? 'INTERNAL_ERROR', error: (error as Error).message };
    }
  }
  return { ok: false, code: 'INVALID_ARGUMENT', error: 'unknown op: use pending or decide' };
}

/**
 * Whether a server answers on `path`: `live`, `refused` (a socket file nobody listens on: a dead
 * server's), `missing`, or `unknown` (busy, out of descriptors…: left alone).
 */
function probe(path: string): Promise<'live' | 'refused' | 'missing' | 'unknown'> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve('live');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : error.code === 'ENOENT' ? 'missing' : 'unknown'));
  });
}

/** Removes a socket file nobody listens on (never anything that is not a socket). */
function removeStale(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** One request to one server's socket; rejects when nobody listens (ECONNREFUSED, ENOENT) or on timeout. */
export function askSocket(path: string, request: SocketRequest, timeoutMs = 5_000): Promise<SocketResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.setEncoding('utf8');
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buffered.slice(0, newline)) as SocketResponse);
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * The sockets of the servers running for this user: `explicit` alone when given, else every
 * `*.sock` in the default directory that answers (files of dead servers are removed).
 */
export async function liveSockets(explicit: string | undefined, env: NodeJS.ProcessEnv, home: string): Promise<string[]> {
  if (explicit) return [explicit];
  const dir = approvalSocketDir(env, home);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.sock'));
  } catch {
    return [];
  }
  const paths = names.map((name) => join(dir, name));
  const live = await Promise.all(
    paths.map(async (path) => {
      const state = await probe(path);
      if (state === 'live' || state === 'unknown') return path;
      if (state === 'refused') removeStale(path);
      return undefined;
    }),
  );
  return live.filter((path): path is string => path !== undefined);
}
