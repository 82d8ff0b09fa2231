// Shared by the end-to-end tests: a HOME for the server (ssh_config alias `testhost`, known_hosts),
// the built bin spawned over stdio, and a transport that checks every line the server writes to
// stdout is a JSON-RPC message.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { SshdFacts } from 'test-utils';

export const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

export const text = (result: ToolResult): string => result.content.map((part) => part.text).join('\n');

/**
 * A HOME with `~/.ssh/config` (alias `testhost` → the loopback sshd, key login) and known_hosts.
 * `extraConfig` goes before the `Host *` block ({@link endpointAliases} writes entries for it);
 * `extraKnownHosts` is appended to known_hosts.
 */
export function serverHome(f: SshdFacts, extraConfig = '', extraKnownHosts = ''): string {
  const home = mkdtempSync(join(tmpdir(), 'mcp-home-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(
    join(home, '.ssh', 'config'),
    `Host testhost\n  HostName ${f.host}\n  Port ${f.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n\n${extraConfig}Host *\n  StrictHostKeyChecking yes\n`,
  );
  // Every loopback address the test sshd listens on (see SshdFacts.loopbackHosts).
  writeFileSync(join(home, '.ssh', 'known_hosts'), readFileSync(f.knownHostsPath, 'utf8') + extraKnownHosts);
  return home;
}

/**
 * Resolves when a file named `name` appears in `dir`: an event, not a poll. The test host is this
 * machine, so a remote command can signal a test by creating a file in a shared directory.
 */
export function appears(dir: string, name: string | ((file: string) => boolean)): Promise<void> {
  const matches = typeof name === 'string' ? (file: string) => file === name : name;
  return new Promise((resolve) => {
    const watcher = watch(dir, (_event, file) => {
      if (file !== null && matches(file)) {
        watcher.close();
        resolve();
      }
    });
  });
}

/** ssh_config entries `<prefix>1`…`<prefix>N`, one per endpoint (see test-utils startSshdFleet). */
export function endpointAliases(f: SshdFacts, endpoints: readonly { host: string; port: number }[], prefix = 'h'): { config: string; aliases: string[] } {
  const aliases = endpoints.map((_, index) => `${prefix}${index + 1}`);
  const config = endpoints
    .map(({ host, port }, index) => `Host ${aliases[index]}\n  HostName ${host}\n  Port ${port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n`)
    .join('\n');
  return { config: `${config}\n`, aliases };
}

/**
 * A client transport over the spawned server's stdin/stdout that records every stdout line and
 * every line that is not a JSON-RPC 2.0 message (which a client would choke on).
 */
export class CheckedStdioTransport implements Transport {
  readonly lines: string[] = [];
  readonly badLines: string[] = [];
  readonly stderr: string[] = [];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #child: ChildProcess | undefined;
  #pending = '';

  readonly #args: readonly string[];
  readonly #env: Record<string, string>;

  readonly #nodeArgs: readonly string[];

  constructor(args: readonly string[], env: Record<string, string>, nodeArgs: readonly string[] = []) {
    this.#args = args;
    this.#nodeArgs = nodeArgs;
    this.#env = env;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...this.#nodeArgs, cli, ...this.#args], { env: this.#env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.#child = child;
      child.once('error', reject);
      child.once('spawn', () => resolve());
      child.once('close', () => this.onclose?.());
      child.stderr?.on('data', (chunk: Buffer) => {
        this.stderr.push(chunk.toString('utf8'));
        for (const listener of this.#stderrListeners) listener();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        this.#pending += chunk.toString('utf8');
        let newline: number;
        while ((newline = this.#pending.indexOf('\n')) >= 0) {
          const line = this.#pending.slice(0, newline);
          this.#pending = this.#pending.slice(newline + 1);
          this.lines.push(line);
          let message: unknown;
          try {
            message = JSON.parse(line);
          } catch {
            this.badLines.push(line);
            continue;
          }
          if ((message as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
            this.badLines.push(line);
            continue;
          }
          this.onmessage?.(message as JSONRPCMessage);
        }
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.#child?.stdin;
      if (!stdin) return reject(new Error('not started'));
      stdin.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  readonly #stderrListeners = new Set<() => void>();

  /**
   * Resolves with the first match of `pattern` in the server's stderr after `from` characters
   * (default: all of it), as soon as it is written.
   */
  stderrMatch(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const match = pattern.exec(this.stderr.join('').slice(from));
        if (!match) return false;
        this.#stderrListeners.delete(listener);
        resolve(match);
        return true;
      };
      const listener = (): void => void check();
      if (!check()) this.#stderrListeners.add(listener);
    });
  }

  /** Characters of stderr so far (a `from` for stderrMatch). */
  get stderrLength(): number {
    return this.stderr.join('').length;
  }

  /** The server's process id (for memory and descendant checks). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The stdout text left without a newline (must be empty at the end). */
  get unterminated(): string {
    return this.#pending;
  }
}

export interface E2eServer {
  readonly client: Client;
  readonly transport: CheckedStdioTransport;
  readonly home: string;
  /** Every result, serialized, for the secrets check. */
  readonly results: string[];
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

/** Spawns the built bin with its own HOME and connects the SDK client to it. */
export async function startServer(
  f: SshdFacts | undefined,
  options: { args?: string[]; env?: Record<string, string>; home?: string; logLevel?: string; nodeArgs?: string[] } = {},
): Promise<E2eServer> {
  const home = options.home ?? serverHome(f as SshdFacts);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, ...options.env };
  // Tests log at debug (so secret checks see everything); benchmarks run at the default level.
  const transport = new CheckedStdioTransport(['--log-level', options.logLevel ?? 'debug', ...(options.args ?? [])], env, options.nodeArgs);
  const client = new Client({ name: 'e2e', version: '0.0.0' });
  await client.connect(transport);
  const results: string[] = [];
  return {
    client,
    transport,
    home,
    results,
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as ToolResult;
      results.push(JSON.stringify(result));
      return result;
    },
    async close() {
      await client.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
