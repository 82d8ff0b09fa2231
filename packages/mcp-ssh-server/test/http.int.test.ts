// End to end over Streamable HTTP: the built bin with --http, refused without the bearer token
// (401), from a foreign Origin or Host (403); the SDK client with the token drives the real sshd.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { cli, serverHome, text, type ToolResult } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`mcp-ssh-server over Streamable HTTP ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  const token = randomBytes(24).toString('hex');
  // Made in beforeAll, not at collection: a skipped or filtered suite still collects, but runs no afterAll.
  let home: string;
  let child: ChildProcess;
  let url: string;
  const stderr: string[] = [];
  const stdout: string[] = [];
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'e2e-http', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  }

  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };
  const post = (headers: Record<string, string>, message: unknown = initialize): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(message);
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    home = serverHome(f);
    child = spawn(process.execPath, [cli, '--http', '--http-port', '0', '--log-level', 'debug'], {
      env: { PATH: process.env.PATH ?? '', HOME: home, MCP_SSH_HTTP_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL in stderr: ${stderr.join('')}`)), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr.push(chunk.toString('utf8'));
        const match = /serving Streamable HTTP at (http:\/\/\S+)/.exec(stderr.join(''));
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
  });
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('binds loopback and refuses a request without the token, or with a wrong one (401)', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(none.body)).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringContaining('Bearer') as unknown } });
    expect((await post({ authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post({ authorization: token })).status).toBe(401);
  });

  it('refuses a foreign Origin and a foreign Host header even with the token (403)', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await post({ ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ ...auth, origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await post({ ...auth, host: `evil.example:${new URL(url).port}` })).status).toBe(403);
    expect((await post({ ...auth, origin: new URL(url).origin })).status).toBe(200);
  });

  it('serves the tools to clients with the token; SSH sessions are shared between clients', async () => {
    const first = await connect();
    const { tools } = await first.listTools();
    expect(tools.map((tool) => tool.name)).toContain('execute_command_on_hosts');
    const run = (await first.callTool({ name: 'execute_command', arguments: { host: 'testhost', command: 'cd /etc; echo over http' } })) as ToolResult;
    expect(text(run)).toBe('Exit Status: 0\n\nSTDOUT:\nover http\n');
    const second = await connect();
    const pwd = (await second.callTool({ name: 'execute_command', arguments: { host: 'testhost', command: 'pwd' } })) as ToolResult;
    expect(pwd.structuredContent).toMatchObject({ output: '/etc\n' });
  });

  it('holds at most 32 clients: a 33rd replaces the longest idle, whose session then gets 404', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const ids: string[] = [];
    for (let index = 0; index < 33; index++) {
      const opened = await post(auth);
      expect(opened.status, opened.body).toBe(200);
      ids.push(String(opened.headers['mcp-session-id']));
    }
    const ping = (id: string) => post({ ...auth, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, { jsonrpc: '2.0', id: 2, method: 'ping' });
    // The clients of the earlier tests and then ids[0] were the idlest: ids[0] is gone, the rest
    // serve. (This evicts those earlier clients too: no later test may use them.)
    const gone = await ping(ids[0] as string);
    expect(gone.status).toBe(404);
    expect(gone.body).toContain('initialize again');
    for (const id of [ids[1], ids[32]] as string[]) expect((await ping(id)).status).toBe(200);
    const counts = [...stderr.join('').matchAll(/http client connected \{"clients":(\d+)\}/g)].map((m) => Number(m[1]));
    expect(Math.max(...counts)).toBe(32);
  });

  it('never logs the token, never writes to stdout, and stops on SIGTERM', async () => {
    expect(stderr.join('')).not.toContain(token);
    expect(stderr.join('')).toContain('http request refused');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout.join('')).toBe('');
  });
});
