#!/usr/bin/env node
// `pnpm bundle [--out <dir>] [--no-build]`: the Claude Desktop extension, an MCP Bundle (.mcpb):
// the server as it would be published (`pnpm deploy --prod`: its files, the three libraries and
// their production dependencies in a flat node_modules, no symlinks), and a manifest.json whose
// user_config fields (ssh_config path, policy file, log level, tool groups) become the server's
// MCP_SSH_* variables. Packed and checked by the official mcpb CLI. Prints the bundle's path.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-build': { type: 'boolean' } } });
const out = resolve(values.out ?? join(root, 'bundle'));
const pkg = JSON.parse(readFileSync(join(root, 'packages', 'mcp-ssh-server', 'package.json'), 'utf8'));

const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(`pnpm bundle: ${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
    process.exit(result.status ?? 1);
  }
  return result.stdout;
};

// Starts the built server in-process and lists its tools as a client would.
const LIST_TOOLS = `
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createSshMcpServer } from './dist/index.js';
const server = createSshMcpServer();
const [a, b] = InMemoryTransport.createLinkedPair();
await server.connect(a);
const client = new Client({ name: 'bundle', version: '0' });
await client.connect(b);
const { tools } = await client.listTools();
process.stdout.write(JSON.stringify(tools.map((tool) => ({ name: tool.name, description: tool.description.split(/(?<=\\.) /)[0] }))));
await client.close();
await server.parts.close();
process.exit(0);
`;

if (!values['no-build']) run('pnpm', ['run', '--silent', 'build']);
const stage = mkdtempSync(join(tmpdir(), 'mcp-ssh-bundle-'));
try {
  run('pnpm', ['--filter', 'mcp-ssh-server', 'deploy', '--prod', '--legacy', '--config.node-linker=hoisted', join(stage, 'server')]);
  // Links to dependency bins: nothing in the bundle runs them, and archives carry links badly.
  rmSync(join(stage, 'server', 'node_modules', '.bin'), { recursive: true, force: true });
  const manifest = {
    $schema: 'https://raw.githubusercontent.com/modelcontextprotocol/mcpb/main/schemas/mcpb-manifest-v0.4.schema.json',
    manifest_version: '0.4',
    name: pkg.name,
    display_name: 'SSH sessions (mcp-ssh-server)',
    version: pkg.version,
    description: pkg.description,
    long_description:
      'Persistent SSH sessions to Linux hosts and network devices for the agent: exact output and real exit codes, commands that ' +
      'outlive a call as background jobs, atomic file writes, config changes on switches and routers that stop at the first rejected ' +
      'line. Logins come from your ~/.ssh/config and ssh-agent.',
    author: { name: 'mcp-ssh-server contributors' },
    license: pkg.license,
    keywords: pkg.keywords,
    server: {
      type: 'node',
      entry_point: 'server/bin/mcp-ssh-server.js',
      mcp_config: {
        command: 'node',
        args: ['${__dirname}/server/bin/mcp-ssh-server.js'],
        env: {
          MCP_SSH_CONFIG: '${user_config.ssh_config}',
          MCP_SSH_POLICY: '${user_config.policy_file}',
          MCP_SSH_LOG_LEVEL: '${user_config.log_level}',
          MCP_SSH_TOOLS: '${user_config.tools}',
        },
      },
    },
    tools_generated: false,
    tools: toolsOf(),
    compatibility: { platforms: ['darwin', 'linux'], runtimes: { node: pkg.engines.node } },
    user_config: {
      ssh_config: {
        type: 'file',
        title: 'ssh_config file',
        description: 'The OpenSSH client config whose Host entries, users, keys and ProxyJump the server uses.',
        required: false,
        default: '${HOME}/.ssh/config',
      },
      policy_file: {
        type: 'file',
        title: 'Policy file',
        description: 'Optional JSON policy: allowed hosts, denied commands, read-only, approvals (see the README).',
        required: false,
      },
      log_level: {
        type: 'string',
        title: 'Log level',
        description: 'debug, info, warn, error or silent (logs go to the client\'s server log, never to the protocol).',
        required: false,
        default: 'info',
      },
      tools: {
        type: 'string',
        title: 'Tool groups',
        description: 'Serve only these: core, files, screen, devices, hosts, or all (comma-separated).',
        required: false,
        default: 'all',
      },
    },
  };
  writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  mkdirSync(out, { recursive: true });
  const file = join(out, `${pkg.name}-${pkg.version}.mcpb`);
  rmSync(file, { force: true });
  const mcpb = join(root, 'node_modules', '.bin', 'mcpb');
  run(mcpb, ['validate', join(stage, 'manifest.json')]);
  run(mcpb, ['pack', stage, file]);
  process.stdout.write(`${file}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** The tools the bundle serves, for the extension's listing: names and first sentences, from the built server's groups. */
function toolsOf() {
  const listed = spawnSync(process.execPath, ['--input-type=module', '-e', LIST_TOOLS], { cwd: join(root, 'packages', 'mcp-ssh-server'), encoding: 'utf8' });
  if (listed.status !== 0) {
    process.stderr.write(`pnpm bundle: listing the tools failed:\n${listed.stderr}`);
    process.exit(1);
  }
  return JSON.parse(listed.stdout);
}
