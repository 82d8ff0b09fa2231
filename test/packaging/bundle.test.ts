// The Claude Desktop extension: `pnpm bundle` (tooling/bundle.mjs) packs the server and its
// production dependencies into an .mcpb with the official mcpb CLI; here it is unpacked as the
// client does and the server started from it over stdio, the manifest's user_config reaching it as
// MCP_SSH_* variables. And server.json (the MCP registry entry) stays at the package's version.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const serverDir = join(root, 'packages', 'mcp-ssh-server');
const pkg = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8')) as { name: string; version: string; mcpName: string };
let work: string;
let bundle: string;

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly server: { readonly type: string; readonly entry_point: string; readonly mcp_config: { readonly command: string; readonly args: string[]; readonly env: Record<string, string> } };
  readonly user_config: Record<string, { readonly type: string; readonly default?: string }>;
  readonly tools: { readonly name: string }[];
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mcp-ssh-bundle-test-'));
  // `pnpm test` has built everything: the script only stages and packs.
  const made = spawnSync(process.execPath, [join(root, 'tooling', 'bundle.mjs'), '--no-build', '--out', work], { cwd: root, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`pnpm bundle failed:\n${made.stderr}`);
  bundle = made.stdout.trim();
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the .mcpb bundle and server.json', () => {
  it('unpacks as the client does and serves MCP from it, configured by its user_config', async () => {
    expect(bundle).toBe(join(work, `${pkg.name}-${pkg.version}.mcpb`));
    const unpacked = join(work, 'unpacked');
    const unpack = spawnSync(join(root, 'node_modules', '.bin', 'mcpb'), ['unpack', bundle, unpacked], { encoding: 'utf8' });
    expect(unpack.status, unpack.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ name: pkg.name, version: pkg.version, server: { type: 'node', entry_point: 'server/bin/mcp-ssh-server.js' } });
    expect(Object.keys(manifest.user_config).sort()).toEqual(['log_level', 'policy_file', 'ssh_config', 'tools']);
    expect(manifest.tools.map((tool) => tool.name)).toContain('send_config');

    // The client fills ${__dirname} and ${user_config.*}; an optional field left empty is an empty value.
    const sshConfig = join(work, 'ssh_config');
    writeFileSync(sshConfig, 'Host bundled-router\n  HostName 192.0.2.7\n  User netops\n  Port 2222\n');
    const values: Record<string, string> = { ssh_config: sshConfig, policy_file: '', log_level: 'info', tools: 'core,hosts' };
    const fill = (text: string): string => text.replaceAll('${__dirname}', unpacked).replace(/\$\{user_config\.(\w+)\}/g, (_, key: string) => values[key] ?? '');
    const config = manifest.server.mcp_config;
    const transport = new StdioClientTransport({
      command: config.command === 'node' ? process.execPath : config.command,
      args: config.args.map(fill),
      env: { PATH: process.env.PATH ?? '', HOME: work, ...Object.fromEntries(Object.entries(config.env).map(([key, value]) => [key, fill(value)])) },
      cwd: work,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'bundle-check', version: '0.0.0' });
    try {
      await client.connect(transport);
      expect(client.getServerVersion()).toMatchObject({ name: pkg.name, version: pkg.version });
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toContain('execute_command');
      expect(names).toContain('list_hosts');
      expect(names).not.toContain('write_file');
      const hosts = await client.callTool({ name: 'list_hosts', arguments: {} });
      expect(hosts.structuredContent).toMatchObject({ config_path: sshConfig, hosts: [{ alias: 'bundled-router', host: '192.0.2.7', user: 'netops', port: 2222 }] });
    } finally {
      await client.close();
    }
  });

  it('server.json names the npm package at the package version, as the registry and npm mcpName want', () => {
    const entry = JSON.parse(readFileSync(join(serverDir, 'server.json'), 'utf8')) as {
      name: string;
      version: string;
      packages: { registryType: string; identifier: string; version: string; transport: { type: string } }[];
    };
    expect(entry.name).toBe(pkg.mcpName);
    expect(entry.version).toBe(pkg.version);
    expect(entry.packages).toEqual([expect.objectContaining({ registryType: 'npm', identifier: pkg.name, version: pkg.version, transport: { type: 'stdio' } })]);
    // The registry's limit on a description.
    expect(JSON.parse(readFileSync(join(serverDir, 'server.json'), 'utf8')).description.length).toBeLessThanOrEqual(100);
  });
});
