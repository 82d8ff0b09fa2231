// The real SDK client drives the built bin over stdio (run `pnpm build` first; `pnpm test` does).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

describe('mcp-ssh-server bin', () => {
  it('is built (pnpm build) before the tests run', () => {
    expect(existsSync(cli), `${cli} missing: run pnpm build`).toBe(true);
  });

  it('completes the MCP handshake over stdio and names itself', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli, '--log-level', 'debug'],
      env: { ...process.env } as Record<string, string>,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const client = new Client({ name: 'test', version: '0.0.0' });
    // Any non-MCP byte on stdout would make the client fail to parse and reject here.
    await client.connect(transport);
    expect(client.getServerVersion()).toEqual({ name: 'mcp-ssh-server', version });
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toMatch(/persistent SSH sessions/i);
    // How the pieces fit, for the model: sessions, command ids, devices, files — and short.
    for (const part of ['user@host:port', 'command_id', 'get_command_status', 'send_input', 'interrupt_command_by_id', 'device_type', 'enable_password', 'read_file', 'write_file', '2 MiB', 'upload_file', 'download_file']) {
      expect(instructions, part).toContain(part);
    }
    expect(instructions.split(/\s+/).length).toBeLessThan(300);
    await client.close();
    expect(stderr.join('')).toMatch(/serving on stdio/);
  });

  it('prints help and exits 0 on --help, exits 2 on an unknown option', () => {
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^mcp-ssh-server: an MCP server/);
    const bad = spawnSync(process.execPath, [cli, '--nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/Unknown option '--nope'/);
  });
});
