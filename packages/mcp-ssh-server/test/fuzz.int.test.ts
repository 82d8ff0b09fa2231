// Fuzzing the built bin (see fuzz.ts): FUZZ_CALLS seeded tool calls (1 000 in `pnpm test`, 10 000
// in `pnpm fuzz`; FUZZ_SEED replays a run) in concurrent batches. Each must be answered, as a
// result or an MCP error, within its deadline; the server must never exit, print anything but
// JSON-RPC on stdout, or grow its memory past a bound; it must still answer a plain command at the end.
// FUZZ_CODES=1 prints how the calls were answered (tool and error code), to tune the arbitraries.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { RECENT, toolCall, type FuzzCall } from './fuzz';
import { serverHome, startServer, type E2eServer } from './helpers';

const facts = sshdFacts();
const CALLS = Number(process.env.FUZZ_CALLS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const BATCH = 8;

/** Resident memory of a process, in MB. */
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;

describe.skipIf(!facts)(`fuzzing the server bin ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  let local: string;
  const remoteRoot = `/tmp/mcp-fuzz-${process.pid}`;

  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), 'mcp-fuzz-local-'));
    writeFileSync(join(local, 'in.bin'), Buffer.from([0, 1, 2, 255, 10]));
    // `closed`: a host that refuses connections at once.
    const home = serverHome(f, 'Host closed\n  HostName 127.0.0.1\n  Port 1\n  User nobody\n\n');
    server = await startServer(f, { home, logLevel: 'warn', args: ['--local-root', local] });
  });
  afterAll(async () => {
    await server?.call('execute_command', { host: 'testhost', command: `rm -rf ${remoteRoot}` }).catch(() => undefined);
    await server?.close();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  it(`answers ${CALLS} seeded calls (seed ${SEED}) within their deadlines, never exits, memory bounded`, async () => {
    await server.call('execute_command', { host: 'testhost', command: `mkdir -p ${remoteRoot}` });
    const { tools } = await server.client.listTools();
    const calls = fc.sample(toolCall(tools, { remoteRoot, localRoot: local }), { seed: SEED, numRuns: CALLS });
    const seen: string[] = [];
    const outcomes = { results: 0, toolErrors: 0, protocolErrors: 0 };
    const codes = new Map<string, number>();
    const pid = server.transport.pid as number;
    let rssAfterWarmup = 0;
    const one = async (call: FuzzCall, index: number): Promise<void> => {
      const args = { ...call.args };
      if (args.command_id === RECENT) args.command_id = seen[index % Math.max(seen.length, 1)] ?? 'none';
      try {
        const result = await server.client.callTool({ name: call.name, arguments: args }, undefined, { timeout: call.deadlineMs });
        if (result.isError) {
          outcomes.toolErrors++;
          const code = /^(?:Error )?([A-Z_]+|MCP error -?\d+)/.exec((result.content as { text?: string }[])[0]?.text ?? '')?.[1] ?? 'other';
          codes.set(`${call.name} ${code}`, (codes.get(`${call.name} ${code}`) ?? 0) + 1);
        } else outcomes.results++;
        const id = (result.structuredContent as { command_id?: unknown } | undefined)?.command_id;
        if (typeof id === 'string') seen.push(id);
      } catch (error) {
        // An MCP error is an answer (invalid arguments, unknown tool); a timeout is a hang, a closed connection a crash.
        const hang = error instanceof McpError && error.code === -32001;
        if (!(error instanceof McpError) || hang || error.code === -32000) {
          const shown = JSON.stringify({ name: call.name, args }).slice(0, 600);
          throw new Error(`call ${index} (seed ${SEED}) ${hang ? 'was not answered within its deadline' : `broke the connection: ${String(error)}`}: ${shown}`);
        }
        outcomes.protocolErrors++;
      }
    };
    for (let start = 0; start < calls.length; start += BATCH) {
      await Promise.all(calls.slice(start, start + BATCH).map((call, offset) => one(call, start + offset)));
      if (start < CALLS / 10 && start + BATCH >= CALLS / 10) rssAfterWarmup = rssMb(pid);
    }
    // Still a working server: nothing left hanging on the host's session.
    await server.call('close_all_sessions');
    const plain = await server.call('execute_command', { host: 'testhost', command: 'echo alive' });
    expect(plain.structuredContent).toMatchObject({ exit_code: 0, output: 'alive\n' });
    const rssEnd = rssMb(pid);
    process.stderr.write(`fuzz: ${CALLS} calls, seed ${SEED}: ${outcomes.results} results, ${outcomes.toolErrors} tool errors, ${outcomes.protocolErrors} protocol errors; rss ${rssAfterWarmup.toFixed(0)} → ${rssEnd.toFixed(0)} MB\n`);
    if (process.env.FUZZ_CODES) process.stderr.write(`${[...codes].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${n} ${key}`).join('\n')}\n`);
    expect(outcomes.results + outcomes.toolErrors + outcomes.protocolErrors).toBe(CALLS);
    expect(server.transport.badLines).toEqual([]);
    // Flat: the job history and the output kept per job are bounded, whatever the run's length.
    expect(rssEnd - rssAfterWarmup).toBeLessThan(150);
  }, 3_600_000);
});
