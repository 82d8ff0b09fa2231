// The published shape: each package packed as npm would publish it, installed into an empty
// project outside the workspace, then loaded by plain Node (ESM, and CJS for the libraries) —
// no vitest transform, so CJS-interop bugs such as `import { Client } from 'ssh2'` show here.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const libraries = ['ssh-session-core', 'ssh-async-jobs', 'ssh-sftp-files'] as const;
const packages = [...libraries, 'mcp-ssh-server'] as const;
// Made in beforeAll, not at collection: a filtered run collects the file but runs no afterAll.
let work: string;
let project: string;
const tarballs = new Map<string, string>();

function node(args: readonly string[]): string {
  const result = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mcp-ssh-pack-'));
  project = join(work, 'consumer');
  const packed = join(work, 'tarballs');
  mkdirSync(packed);
  mkdirSync(project);
  for (const name of packages) {
    // pnpm pack replaces workspace:^ ranges with real versions, as publishing does.
    execFileSync('pnpm', ['pack', '--pack-destination', packed], { cwd: join(root, 'packages', name), stdio: 'pipe' });
    const file = readdirSync(packed).find((entry) => entry.startsWith(`${name}-`) && entry.endsWith('.tgz'));
    if (!file) throw new Error(`pnpm pack produced no tarball for ${name}`);
    tarballs.set(name, join(packed, file));
  }
  const deps = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  // The internal ranges (e.g. ssh-session-core@^0.0.0) must resolve to these tarballs, not the registry.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: deps, pnpm: { overrides: deps } }));
  execFileSync('pnpm', ['install', '--prefer-offline', '--ignore-scripts', '--config.confirmModulesPurge=false'], {
    cwd: project,
    stdio: 'pipe',
    env: { ...process.env, CI: 'true' },
  });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('packed packages under plain Node', () => {
  it.each(packages)('%s ships dist, its README and no sources or tests', (name) => {
    const listing = execFileSync('tar', ['-tzf', tarballs.get(name) ?? ''], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/README.md');
    expect(listing.some((entry) => entry.startsWith('package/dist/'))).toBe(true);
    expect(listing.filter((entry) => /^package\/(src|test)\//.test(entry))).toEqual([]);
  });

  it.each(packages)('%s passes publint --strict (exports, types, files)', (name) => {
    const result = spawnSync(join(root, 'node_modules', '.bin', 'publint'), ['--strict'], {
      cwd: join(root, 'packages', name),
      encoding: 'utf8',
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/All good!/);
  });

  it('ssh-session-core imports as ESM and requires as CJS, and really calls ssh2', () => {
    const key = execFileSync('sh', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${work}/k && cat ${work}/k.pub`], { encoding: 'utf8' });
    const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${work}/k.pub`], { encoding: 'utf8' }).split(' ')[1];
    const script = (load: string): string =>
      `${load}; const i = m.parseOpenSshPublicKey(${JSON.stringify(key)}); ` +
      `const e = new m.SshSessionError('AUTH_FAILED', 'x'); console.log(i.fingerprint, m.isSshError(e), e.code)`;
    expect(node(['--input-type=module', '-e', script(`const m = await import('ssh-session-core')`)])).toBe(`${expected} true AUTH_FAILED`);
    expect(node(['--input-type=commonjs', '-e', script(`const m = require('ssh-session-core')`)])).toBe(`${expected} true AUTH_FAILED`);
  });

  it('ssh-session-core emulates a screen with @xterm/headless under ESM and CJS', () => {
    const script = (load: string): string =>
      `${load}; const t = new m.TerminalScreen(20, 3); t.write(m.keysToInput('\\x1b[?1049hhi<enter>') + '\\nthere'); ` +
      `t.snapshot().then((s) => console.log(JSON.stringify([s.fullScreen, s.lines])))`;
    const expected = JSON.stringify([true, ['hi', 'there', '']]);
    expect(node(['--input-type=module', '-e', script(`const m = await import('ssh-session-core')`)])).toBe(expected);
    expect(node(['--input-type=commonjs', '-e', script(`const m = require('ssh-session-core')`)])).toBe(expected);
  });

  it.each(['ssh-async-jobs', 'ssh-sftp-files'] as const)('%s imports as ESM and requires as CJS', (name) => {
    const cls = name === 'ssh-async-jobs' ? 'SshJobError' : 'SftpFileError';
    const check = `const core = await import('ssh-session-core'); console.log(core.isSshError(new m.${cls}('NOT_FOUND', 'x')))`;
    expect(node(['--input-type=module', '-e', `const m = await import('${name}'); ${check}`])).toBe('true');
    expect(node(['--input-type=module', '-e', `import { createRequire } from 'node:module'; const m = createRequire(process.cwd() + '/')('${name}'); ${check}`])).toBe('true');
  });

  it('npx of the packed tarballs starts the server from an empty directory and serves MCP (what npx -y mcp-ssh-server will do)', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    // The tarballs stand in for the registry; npm fetches the rest. Its cache stays in the run's directory.
    const specs = packages.flatMap((name) => ['--package', tarballs.get(name) ?? '']);
    const transport = new StdioClientTransport({
      command: 'npx',
      args: ['--yes', ...specs, 'mcp-ssh-server'],
      cwd: empty,
      env: { PATH: process.env.PATH ?? '', HOME: join(work, 'home'), npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'npx-check', version: '0.0.0' });
    try {
      await client.connect(transport);
      expect(client.getServerVersion()).toMatchObject({ name: 'mcp-ssh-server' });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('execute_command');
      await expect(client.callTool({ name: 'list_sessions', arguments: {} })).resolves.toMatchObject({ structuredContent: { sessions: [] } });
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('mcp-ssh-server exports createSshMcpServer and its bin answers --help', () => {
    expect(
      node(['--input-type=module', '-e', `const m = await import('mcp-ssh-server'); console.log(typeof m.createSshMcpServer(), m.VERSION)`]),
    ).toMatch(/^object \d+\.\d+\.\d+/);
    const help = spawnSync(join(project, 'node_modules', '.bin', 'mcp-ssh-server'), ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage:\s+mcp-ssh-server/);
  });
});
