// The READMEs are true: every code block marked runnable (an info string such as ```ts runnable;
// renderers use the first word for highlighting and ignore the rest) is typechecked against the
// built packages' .d.ts, then run under plain Node, importing the packages by name (after `pnpm build`).
// Blocks run from a temp directory inside examples/, whose node_modules has every workspace package;
// HOME is a temp home whose ~/.ssh holds the run's key, known_hosts and an ssh_config for the sshd.
// Host facts come from the environment, as each README says next to its blocks: SSH_HOST, SSH_PORT,
// SSH_USER (the loopback sshd), SUDO_PASSWORD and CONF_PATH (a root-owned file), DEVICE_HOST,
// DEVICE_PORT, DEVICE_PASSWORD, ENABLE_PASSWORD (a fake Cisco), MCP_SSH_HTTP_PORT, MCP_SSH_HTTP_TOKEN.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHost, fakeDevice, sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readmes = ['README.md', ...readdirSync(join(root, 'packages')).map((name) => `packages/${name}/README.md`)].filter((path) => existsSync(join(root, path)));

interface Block {
  /** `packages/ssh-async-jobs/README.md:16`: where the block's opening fence is. */
  readonly where: string;
  readonly readme: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly runnable: boolean;
  readonly code: string;
}

/** Fenced code blocks of a Markdown file, with their info strings. */
function blocks(readme: string): Block[] {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, fence = '```', lang = '', rest = ''] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? '').startsWith(fence); i++) body.push(lines[i] ?? '');
    found.push({ where: `${readme}:${start + 1}`, readme, line: start + 1, lang, runnable: rest.split(/\s+/).includes('runnable'), code: `${body.join('\n')}\n` });
  }
  return found;
}

const all = readmes.flatMap(blocks);
const runnable = all.filter((block) => block.runnable);
const facts = sshdFacts();

describe('README code blocks', () => {
  it('marks every TypeScript/JavaScript block runnable, and only those', () => {
    const code = all.filter((block) => /^(ts|typescript|js|javascript|mjs)$/.test(block.lang));
    expect(code.filter((block) => !block.runnable).map((block) => block.where), 'mark these ```ts runnable (and make them run)').toEqual([]);
    expect(runnable.filter((block) => !code.includes(block)).map((block) => block.where), 'runnable blocks must be ts or js').toEqual([]);
    // Each library README shows its API in at least one block that runs.
    for (const name of ['ssh-session-core', 'ssh-async-jobs', 'ssh-sftp-files', 'mcp-ssh-server']) {
      expect(runnable.some((block) => block.where.startsWith(`packages/${name}/README.md:`)), name).toBe(true);
    }
  });

  it('has JSON blocks that parse, and tool-call examples (```jsonc, after a // <tool> comment) that name real tools and parameters', () => {
    const tools = toolSchemas();
    const checked: string[] = [];
    for (const block of all.filter((b) => b.lang === 'json')) expect(() => JSON.parse(block.code), block.where).not.toThrow();
    for (const block of all.filter((b) => b.lang === 'jsonc')) {
      let tool: string | undefined;
      for (const [index, line] of block.code.split('\n').entries()) {
        const where = `${block.readme}:${block.line + index + 1}`;
        const named = /^\/\/\s*(\w+)/.exec(line)?.[1];
        if (named && tools.has(named)) tool = named;
        if (!line.startsWith('{')) continue;
        expect(tool, `${where}: which tool? Put a // <tool name> comment above`).toBeDefined();
        const schema = tools.get(tool as string) as { properties: string[]; required: string[] };
        const args = Object.keys(JSON.parse(line) as Record<string, unknown>);
        expect(args.filter((name) => !schema.properties.includes(name)), `${where}: not parameters of ${tool}`).toEqual([]);
        expect(schema.required.filter((name) => !args.includes(name)), `${where}: required by ${tool}`).toEqual([]);
        checked.push(`${tool}`);
      }
    }
    expect(checked.length).toBeGreaterThan(5);
  });

  it('has no claim that the unpublished packages install from npm without saying "once published"', () => {
    for (const readme of readmes) {
      const text = readFileSync(join(root, readme), 'utf8');
      for (const [index, line] of text.split('\n').entries()) {
        if (/\b(npm i(nstall)?|npx( -y)?) (ssh-session-core|ssh-async-jobs|ssh-sftp-files|mcp-ssh-server)\b/.test(line)) {
          expect(line, `${readme}:${index + 1}`).toMatch(/once published|after publishing/i);
        }
      }
    }
  });
});

describe.skipIf(!facts)(`README runnable blocks on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  // Inside examples/: `import 'ssh-session-core'` resolves through examples/node_modules to the built
  // package. Made in beforeAll: a skipped or filtered suite still collects, but runs no afterAll.
  let dir: string;
  let home: string;
  const files = new Map<Block, string>();
  let device: FakeHost;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(root, 'examples', '.readme-snippets-'));
    home = join(dir, 'home');
    device = await FakeHost.start({ password: 'device-pass', onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'core1', enableSecret: 'enable-secret' }) });
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(f.keyPath, join(home, '.ssh', 'id_ed25519'));
    chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
    copyFileSync(`${f.keyPath}.pub`, join(home, '.ssh', 'id_ed25519.pub'));
    const deviceKey = `[${device.address.host}]:${device.address.port} ${device.address.hostPublicKey}\n`;
    writeFileSync(join(home, '.ssh', 'known_hosts'), readFileSync(f.knownHostsPath, 'utf8') + deviceKey);
    // For the blocks that resolve SSH_HOST through ssh_config, as an alias would be.
    writeFileSync(join(home, '.ssh', 'config'), `Host ${f.host}\n  Port ${f.port}\n`);
    // A root-owned file in a root-owned directory: SFTP is refused, sudo writes it.
    mkdirSync(join(dir, 'etc'), { mode: 0o755 });
    writeFileSync(join(dir, 'etc', 'app.conf'), 'old\n', { mode: 0o644 });
    env = {
      PATH: process.env.PATH,
      HOME: home,
      SSH_HOST: f.host,
      SSH_PORT: String(f.port),
      SSH_USER: f.user,
      SUDO_PASSWORD: f.password,
      CONF_PATH: join(dir, 'etc', 'app.conf'),
      DEVICE_HOST: device.address.host,
      DEVICE_PORT: String(device.address.port),
      DEVICE_PASSWORD: device.address.password,
      ENABLE_PASSWORD: 'enable-secret',
      MCP_SSH_HTTP_PORT: '0',
      MCP_SSH_HTTP_TOKEN: randomBytes(24).toString('hex'),
    };
    for (const [index, block] of runnable.entries()) {
      const name = `${block.where.replace(/[^A-Za-z0-9]+/g, '-')}-${index}`;
      writeFileSync(join(dir, `${name}.mts`), block.code);
      files.set(block, name);
    }
  });

  afterAll(async () => {
    await device?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // What the blocks leave on the host (which is this machine): the files README's ~/app.
    rmSync(`/home/${f.user}/app`, { recursive: true, force: true });
  });

  it('typechecks every runnable block against the built packages', () => {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: relative(dir, join(root, 'tsconfig.base.json')), compilerOptions: { types: ['node'] }, include: ['*.mts'] }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    // Name the README and its line, not the temp file: line L of a block is line fence + L of its README.
    let report = tsc.stdout + tsc.stderr;
    for (const [block, name] of files) {
      report = report.replace(new RegExp(`\\S*${name}\\.mts\\((\\d+),(\\d+)\\)`, 'g'), (_match, line: string, column: string) => `${block.readme}:${block.line + Number(line)}:${column}`);
    }
    expect(report).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);

  it.each(runnable.map((block) => [block.where, block] as const))('%s runs under plain Node', async (_where, block) => {
    const name = files.get(block) as string;
    const { outputText } = ts.transpileModule(block.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
    writeFileSync(join(dir, `${name}.mjs`), outputText);
    const result = await runNode(join(dir, `${name}.mjs`), dir, env, 60_000);
    console.log(block.where, result.stdout, result.stderr);
    expect(result, `${block.where} failed:\n${result.stderr}\n--- stdout:\n${result.stdout}`).toMatchObject({ code: 0, signal: null });
  }, 90_000);
});

/** Every tool of the built server: its parameters and the required ones (tools/list over stdio, through the SDK client). */
function toolSchemas(): Map<string, { properties: string[]; required: string[] }> {
  const script = `
    import { createRequire } from 'node:module';
    import { Client } from '@modelcontextprotocol/sdk/client/index.js';
    import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
    const cli = createRequire(import.meta.url).resolve('mcp-ssh-server/package.json').replace(/package\\.json$/, 'dist/cli.js');
    const client = new Client({ name: 'readme-check', version: '0.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--log-level', 'silent'], env: { ...process.env } }));
    const { tools } = await client.listTools();
    console.log(JSON.stringify(tools.map((t) => [t.name, { properties: Object.keys(t.inputSchema.properties ?? {}), required: t.inputSchema.required ?? [] }])));
    await client.close();`;
  // From examples/, where the SDK and the built server resolve by name.
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(root, 'examples'), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tools/list failed (pnpm build first?):\n${result.stderr}`);
  return new Map(JSON.parse(result.stdout) as [string, { properties: string[]; required: string[] }][]);
}

/** Runs a script without blocking the event loop (the fake device answers from this process). */
function runNode(file: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      stderr += `\n[killed: still running after ${timeoutMs} ms — does the block close its connections?]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
