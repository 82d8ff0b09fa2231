// mcp-ssh-server driven the way an agent drives it: the MCP SDK client spawns the server over
// stdio and calls its tools. The host comes from an ssh_config written here (strict host keys).
//   SSH_HOST=… SSH_PORT=… SSH_USER=… SSH_KEY=… SSH_KNOWN_HOSTS=… node examples/mcp-client.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const env = process.env;
const serverBin = join(dirname(createRequire(import.meta.url).resolve('mcp-ssh-server/package.json')), 'bin', 'mcp-ssh-server.js');
const dir = mkdtempSync(join(tmpdir(), 'mcp-client-example-'));
const sshConfig = join(dir, 'ssh_config');
writeFileSync(
  sshConfig,
  [
    'Host example',
    `  HostName ${env.SSH_HOST ?? '127.0.0.1'}`,
    `  Port ${env.SSH_PORT ?? 22}`,
    `  User ${env.SSH_USER ?? userInfo().username}`,
    `  IdentityFile ${env.SSH_KEY ?? join(homedir(), '.ssh', 'id_ed25519')}`,
    `  UserKnownHostsFile ${env.SSH_KNOWN_HOSTS ?? join(homedir(), '.ssh', 'known_hosts')}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n'),
);

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [serverBin, '--ssh-config', sshConfig, '--log-level', 'warn'],
  // A password would go here as OVRD_example_PASS, never through the model.
  env: { PATH: env.PATH ?? '', HOME: homedir(), ...(env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: env.SSH_AUTH_SOCK } : {}) },
});
const client = new Client({ name: 'mcp-client-example', version: '1.0.0' });
const call = async (name, args = {}) => {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name}: ${result.content[0].text}`);
  return result.structuredContent;
};

try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  console.log(`tools: ${tools.length}`);
  console.log(`hosts: ${(await call('list_hosts')).hosts.map((h) => `${h.alias}=${h.user}@${h.host}:${h.port}`).join(', ')}`);

  const first = await call('execute_command', { host: 'example', command: 'cd /tmp && echo "hello from $(hostname)"' });
  console.log(`first: exit ${first.exit_code}: ${first.output.trim()}`);
  const second = await call('execute_command', { host: 'example', command: 'pwd' });
  console.log(`same shell: ${second.output.trim()}`);

  // A command that outlives its timeout comes back with a command_id; follow it.
  let job = await call('execute_command', { host: 'example', command: 'sleep 1; echo finished', timeout: 0.2 });
  console.log(`long: ${job.status}, command_id returned: ${Boolean(job.command_id)}`);
  for (let i = 0; i < 50 && job.status === 'running'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = await call('get_command_status', { command_id: job.command_id });
  }
  console.log(`long: ${job.status}, exit ${job.exit_code}: ${job.output.trim()}`);

  const path = `/tmp/mcp-client-example-${process.pid}.txt`;
  const written = await call('write_file', { host: 'example', remote_path: path, content: 'written through MCP\n', permissions: '600' });
  const read = await call('read_file', { host: 'example', remote_path: path });
  console.log(`file: ${written.bytes_written} bytes, mode ${written.mode}, read back ${JSON.stringify(read.content)}`);
  await call('execute_command', { host: 'example', command: `rm -f ${path}` });
  console.log(`closed: ${(await call('close_all_sessions')).closed.length}`);
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
