// Scenario 4: 50 sessions × 100 commands at once. Through the library (50 connections, one
// ShellSession each) and through the MCP server (50 ssh_config aliases on distinct loopback
// endpoints, so 50 server sessions, every call concurrent over one stdio pipe), against raw exec
// channels on the same 50 connections. Each phase runs twice, alternating. Reports throughput,
// per-command p50/p95 and errors; asserts only that every answer is right.
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { keyLogin, requireSshd, startSshdFleet } from 'test-utils';
import { ShellSession, SshConnection } from '../packages/ssh-session-core/src/index';
import { endpointAliases, serverHome, startServer } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, figure, percentile, size, timing, writeResult, x, type Measurement } from './lib';

const SESSIONS = size(50, 5);
const COMMANDS = size(100, 10);
const ROUNDS = size(2, 1);

interface Phase {
  latencies: number[];
  errors: number;
  wallMs: number;
}

/** Runs `COMMANDS` commands on each of `SESSIONS` lanes, all lanes at once. */
async function phase(run: (lane: number, index: number) => Promise<string>): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, lane) => {
      for (let index = 0; index < COMMANDS; index++) {
        const began = performance.now();
        try {
          const output = await run(lane, index);
          if (output !== `${lane}:${index}\n`) throw new Error(`lane ${lane} command ${index}: wrong output ${JSON.stringify(output)}`);
          latencies.push(performance.now() - began);
        } catch (error) {
          errors++;
          if (errors === 1) process.stderr.write(`first error: ${String(error)}\n`);
        }
      }
    }),
  );
  return { latencies, errors, wallMs: performance.now() - start };
}

it('parallel: 50 sessions × 100 commands, library and MCP vs raw exec', async () => {
  const f = requireSshd();
  const fleet = await startSshdFleet(f, SESSIONS);
  const connections: SshConnection[] = [];
  const shells: ShellSession[] = [];
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    connections.push(...(await Promise.all(Array.from({ length: SESSIONS }, () => SshConnection.connect(keyLogin(f))))));
    shells.push(...(await Promise.all(connections.map((connection) => ShellSession.open(connection)))));
    const { config, aliases } = endpointAliases(f, fleet.endpoints);
    server = await startServer(f, { home: serverHome(f, config, fleet.knownHosts), logLevel: 'info' });
    const mcpServer = server;
    await configSettled();
    const paths = {
      library: async (lane: number, index: number) => (await (shells[lane] as ShellSession).run(`echo ${lane}:${index}`)).output,
      mcp: async (lane: number, index: number) => {
        const result = await mcpServer.call('execute_command', { host: aliases[lane], command: `echo ${lane}:${index}` });
        if (result.isError) throw new Error(result.content.map((part) => part.text).join('\n'));
        return String(result.structuredContent?.output);
      },
      raw: async (lane: number, index: number) => (await (connections[lane] as SshConnection).exec(`echo ${lane}:${index}`)).stdout,
    };
    type PathName = keyof typeof paths;
    // Open the MCP sessions and warm every path.
    await Promise.all(aliases.map((host) => mcpServer.call('execute_command', { host, command: 'true' })));
    for (const run of Object.values(paths)) await Promise.all(Array.from({ length: SESSIONS }, (_, lane) => run(lane, 0)));

    const results: Record<PathName, Phase[]> = { library: [], mcp: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(paths) as PathName[]) results[name].push(await phase(paths[name]));
    }
    const merged = (name: PathName) => {
      const phases = results[name];
      const total = phases.reduce((sum, p) => sum + p.latencies.length + p.errors, 0);
      const wall = phases.reduce((sum, p) => sum + p.wallMs, 0);
      return { latencies: phases.flatMap((p) => p.latencies), errors: phases.reduce((sum, p) => sum + p.errors, 0), perSecond: (total / wall) * 1000 };
    };
    const m = { library: merged('library'), mcp: merged('mcp'), raw: merged('raw') };
    const label: Record<PathName, [string, Measurement['role']]> = {
      library: ['ShellSession.run (library)', 'ours'],
      mcp: ['execute_command, MCP server over stdio', 'ours'],
      raw: ['raw ssh2 exec channels, same connections', 'baseline'],
    };
    const names = Object.keys(m) as PathName[];
    writeResult({
      id: 'parallel',
      title: `4. ${SESSIONS} sessions × ${COMMANDS} commands at once (${ROUNDS} rounds, alternating)`,
      measurements: [
        ...names.map((name) => figure(`throughput: ${label[name][0]}`, label[name][1], 'commands/s', m[name].perSecond, m[name].latencies.length)),
        ...names.map((name) => timing(`per command: ${label[name][0]}`, label[name][1], m[name].latencies)),
        ...names.map((name) => figure(`errors: ${label[name][0]}`, label[name][1], 'count', m[name].errors)),
      ],
      targets: [
        { target: 'zero errors', measured: `${m.library.errors + m.mcp.errors} errors`, met: m.library.errors + m.mcp.errors === 0 },
        { target: 'over MCP ≥ 1000 commands/s (design)', measured: `${m.mcp.perSecond.toFixed(0)}/s`, met: m.mcp.perSecond >= 1000 },
        {
          target: 'over MCP ≥ raw exec throughput',
          measured: `${x(m.mcp.perSecond / m.raw.perSecond)} raw exec (${m.raw.perSecond.toFixed(0)}/s)`,
          ratio: m.mcp.perSecond / m.raw.perSecond,
          met: m.mcp.perSecond >= m.raw.perSecond,
        },
        {
          target: 'library ≥ raw exec throughput',
          measured: `${x(m.library.perSecond / m.raw.perSecond)} raw exec`,
          ratio: m.library.perSecond / m.raw.perSecond,
          met: m.library.perSecond >= m.raw.perSecond,
        },
      ],
      notes: [`p95 per command over MCP: ${percentile(m.mcp.latencies, 95).toFixed(1)} ms`],
    });
    expect(m.library.errors + m.mcp.errors + m.raw.errors).toBe(0);
  } finally {
    await server?.close();
    for (const shell of shells) shell.close();
    for (const connection of connections) connection.close();
    await fleet.stop();
  }
}, 900_000);
