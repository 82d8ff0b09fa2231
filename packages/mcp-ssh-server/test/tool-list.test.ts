// tools/list through the built bin: small enough to send on every turn (the whole list under
// 20 KB, the core group under 8 KB), --tools serving only some groups, --output-schemas listing
// the output schemas the results are checked against, and the protocol versions a client may ask.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_GROUPS } from '../src/tool-list';
import { cli, startServer, text, type E2eServer } from './helpers';

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

describe('tools/list through the server bin', () => {
  let home: string;
  const servers: E2eServer[] = [];
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'mcp-toollist-home-'));
  });
  afterAll(async () => {
    for (const server of servers) await server.client.close();
    rmSync(home, { recursive: true, force: true });
  });
  const start = async (args: string[]): Promise<E2eServer> => {
    const server = await startServer(undefined, { home, args });
    servers.push(server);
    return server;
  };

  it('lists every tool under 20 KB: descriptions and input schemas, no output schemas, nothing said twice', async () => {
    const server = await start([]);
    const listed = await server.client.listTools();
    expect(listed.tools.map((tool) => tool.name).sort()).toEqual(Object.values(TOOL_GROUPS).flat().sort());
    expect(bytes(listed)).toBeLessThan(20_000);
    const raw = JSON.stringify(listed);
    expect(raw).not.toContain('$schema');
    expect(raw).not.toContain('9007199254740991');
    for (const tool of listed.tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(30);
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.outputSchema, tool.name).toBeUndefined();
      expect(tool.annotations, tool.name).toBeDefined();
    }
    // Results still carry structuredContent.
    const sessions = await server.call('list_sessions');
    expect(sessions.structuredContent).toEqual({ sessions: [] });
  });

  it('--tools core serves the core group under 8 KB; other tools are not listed nor callable; names add single tools', async () => {
    const core = await start(['--tools', 'core']);
    const listed = await core.client.listTools();
    expect(listed.tools.map((tool) => tool.name).sort()).toEqual([...TOOL_GROUPS.core].sort());
    expect(bytes(listed)).toBeLessThan(8_000);
    const refused = await core.call('read_file', { host: 'nowhere', remote_path: '/etc/hostname' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/read_file not found/);

    const mixed = await start(['--tools', 'devices,read_file']);
    expect((await mixed.client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['config_diff', 'confirm_commit', 'read_file', 'send_config']);
  });

  it('--output-schemas lists each output schema, and the SDK client checks results against it', async () => {
    const server = await start(['--output-schemas', '--tools', 'core,hosts']);
    const listed = await server.client.listTools();
    for (const tool of listed.tools) expect(tool.outputSchema, tool.name).toMatchObject({ type: 'object' });
    expect(JSON.stringify(listed)).not.toContain('9007199254740991');
    // The client validates structuredContent against the listed schema: these pass only when they match.
    await expect(server.call('list_sessions')).resolves.toMatchObject({ structuredContent: { sessions: [] } });
    await expect(server.call('list_running_commands')).resolves.toMatchObject({ structuredContent: { commands: [] } });
    await expect(server.call('list_hosts')).resolves.toMatchObject({ structuredContent: { hosts: expect.any(Array) as unknown } });
  });

  it('refuses an unknown group at start, naming the groups', () => {
    const run = spawnSync(process.execPath, [cli, '--tools', 'core,bogus'], { env: { PATH: process.env.PATH ?? '', HOME: home }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('unknown group or tool "bogus"; groups: all, core, files, screen, devices, hosts');
  });

  it.each(['2025-03-26', '2025-06-18', '2025-11-25'])('a client asking protocol %s gets it, and lists and calls tools', async (version) => {
    const child = spawn(process.execPath, [cli], { env: { PATH: process.env.PATH ?? '', HOME: home }, stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ask = async (id: number, method: string, params: unknown): Promise<Record<string, unknown>> => {
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
        for (;;) {
          const next = await lines.next();
          if (next.done) throw new Error('the server closed stdout');
          const message = JSON.parse(next.value as string) as { id?: number; result?: Record<string, unknown>; error?: unknown };
          if (message.id === id) {
            if (message.error) throw new Error(JSON.stringify(message.error));
            return message.result as Record<string, unknown>;
          }
        }
      };
      const init = await ask(1, 'initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
      expect(init).toMatchObject({ protocolVersion: version, serverInfo: { name: 'mcp-ssh-server' }, capabilities: { tools: expect.any(Object) as unknown } });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      const list = await ask(2, 'tools/list', {});
      expect((list.tools as unknown[]).length).toBe(Object.values(TOOL_GROUPS).flat().length);
      const call = await ask(3, 'tools/call', { name: 'list_sessions', arguments: {} });
      expect(call).toMatchObject({ content: [{ type: 'text', text: 'No open sessions.' }], structuredContent: { sessions: [] } });
    } finally {
      child.kill();
    }
  });
});
