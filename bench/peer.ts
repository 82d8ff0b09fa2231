// The strongest peer as a bench-only baseline: `ssh-mcp` (npm), the most used TypeScript MCP SSH
// server. `pnpm bench` installs the pinned version into bench/.peer (never a dependency of the
// packages, never in `pnpm test`); this file starts it over stdio with a generated config whose
// profiles point at the loopback sshd, and calls its tools the way an agent does: a persistent
// interactive session (`open-session`, then `run-command` with `session`) or its exec mode
// (`run-command` without a session).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { SshdFacts } from 'test-utils';

export const PEER = 'ssh-mcp';
export const PEER_VERSION = '2.11.0';
const PEER_DIR = fileURLToPath(new URL('./.peer/', import.meta.url));
const PEER_BIN = join(PEER_DIR, 'node_modules', PEER, 'build', 'index.js');

/** ssh2's native crypto add-on, built by its install script as a plain `npm install` does. */
const PEER_SSH2_BINDING = join(PEER_DIR, 'node_modules', 'ssh2', 'lib', 'protocol', 'crypto', 'build', 'Release', 'sshcrypto.node');

/**
 * Installs the pinned peer into bench/.peer once, the way its users get it: `npm install` with
 * install scripts, so ssh2 builds its native crypto add-on. Without it, ssh2 writes each packet in
 * three pieces (length, body, tag) and the peer, which leaves Nagle's algorithm on, stalls ~40 ms
 * on a delayed ACK per command; that is not how the peer runs for its users.
 */
export function installPeer(): string {
  const manifest = join(PEER_DIR, 'node_modules', PEER, 'package.json');
  if (existsSync(manifest) && existsSync(PEER_SSH2_BINDING) && (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version === PEER_VERSION) return PEER_BIN;
  mkdirSync(PEER_DIR, { recursive: true });
  if (!existsSync(join(PEER_DIR, 'package.json'))) writeFileSync(join(PEER_DIR, 'package.json'), '{ "private": true }\n');
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', PEER_DIR, `${PEER}@${PEER_VERSION}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`installing ${PEER}@${PEER_VERSION} failed: ${result.stderr}`);
  if (!existsSync(PEER_SSH2_BINDING)) throw new Error(`installing ${PEER}@${PEER_VERSION}: ssh2's native add-on was not built (needs python3, make and g++): ${result.stderr}`);
  return PEER_BIN;
}

export interface PeerResult {
  readonly isError: boolean;
  readonly text: string;
}

export interface Peer {
  readonly client: Client;
  /** Milliseconds from spawn to the `tools/list` answer. */
  readonly startMs: number;
  call(name: string, args: Record<string, unknown>): Promise<PeerResult>;
  /** Opens the persistent interactive session `name` on profile `profile`. */
  open(name: string, profile: string): Promise<void>;
  /** Runs a command in session `session` of `profile`, or (no session) in exec mode. */
  run(command: string, profile: string, session?: string): Promise<PeerResult>;
  close(): Promise<void>;
}

/**
 * Starts the peer with `profiles` profiles (`p0`, `p1`…), each its own connection to one of
 * `endpoints` (round robin), key login with the sshd's client key and its host key pinned (the
 * peer reads no known_hosts). Its audit log goes to a temp XDG_DATA_HOME.
 */
export async function startPeer(f: SshdFacts, options: { profiles: number; endpoints?: readonly { host: string; port: number }[] }): Promise<Peer> {
  const bin = installPeer();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-bench-peer-'));
  // The peer refuses a config that others can read, in a directory others can enter.
  const configDir = join(dir, 'config');
  mkdirSync(configDir, { mode: 0o700 });
  const endpoints = options.endpoints ?? [{ host: f.host, port: f.port }];
  const profiles = Array.from({ length: options.profiles }, (_, index) => {
    const endpoint = endpoints[index % endpoints.length] as { host: string; port: number };
    return [
      '[[profiles]]',
      `name = "p${index}"`,
      `host = "${endpoint.host}"`,
      `port = ${endpoint.port}`,
      `user = "${f.user}"`,
      'auth = "key"',
      `keyRef = "${f.keyPath}"`,
      'role = "admin"',
      'group = "dev"',
      // No approval prompts, as our server runs by default.
      'approvalPolicy = "auto"',
      `trustedHostKey = "${f.hostKeyFingerprint}"`,
    ].join('\n');
  });
  const config = [
    '[defaults]',
    'defaultProfile = "p0"',
    'approvalMode = "auto"',
    // Its defaults (5 sessions per connection, 5000 characters of output) would fail the rows.
    'sessionMaxPerConnection = 32',
    'commandTimeoutMs = 60000',
    'commandMaxChars = 0',
    '',
    ...profiles,
    '',
  ].join('\n');
  const configPath = join(configDir, 'config.toml');
  writeFileSync(configPath, config, { mode: 0o600 });
  chmodSync(configPath, 0o600);
  const start = performance.now();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, `--config=${configPath}`],
    env: { ...(process.env as Record<string, string>), XDG_DATA_HOME: join(dir, 'data') },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'mcp-ssh-bench', version: '0.0.0' });
  await client.connect(transport);
  await client.listTools();
  const startMs = performance.now() - start;
  const call = async (name: string, args: Record<string, unknown>): Promise<PeerResult> => {
    const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as { isError?: boolean; content: { type: string; text?: string }[] };
    return { isError: result.isError === true, text: result.content.map((part) => part.text ?? '').join('\n') };
  };
  return {
    client,
    startMs,
    call,
    async open(name, profile) {
      const result = await call('open-session', { name, type: 'interactive', profile });
      if (result.isError) throw new Error(`${PEER} open-session ${name} on ${profile}: ${result.text}`);
    },
    run: (command, profile, session) => call('run-command', { command, profile, ...(session === undefined ? {} : { session }) }),
    async close() {
      await client.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
