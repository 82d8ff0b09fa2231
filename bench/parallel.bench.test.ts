// Scenario 4: 50 sessions × 100 commands at once. Through the library (50 connections, one
// ShellSession each) and through the MCP server (50 ssh_config aliases on distinct loopback
// endpoints, so 50 server sessions, every call concurrent over one stdio pipe), against raw exec
// channels on the same 50 connections. Each phase runs twice, alternating. Reports throughput,
// per-command p50/p95 and errors; asserts only that every answer is right.
// Then the smaller rows, with the peer (ssh-mcp): open 10 sessions at once (ours by alias
// and with explicit parameters, the peer's open-session + run-command on fresh profiles, raw ssh2
// connect + exec), and 10 sessions × 20 commands (ours both ways, the peer's sessions, raw exec
// channels), interleaved round by round.
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { keyLogin, requireSshd, startSshdFleet } from 'test-utils';
import { ShellSession, SshConnection } from '../packages/ssh-session-core/src/index';
import { endpointAliases, serverHome, startServer } from '../packages/mcp-ssh-server/test/helpers';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { configSettled, figure, ms, percentile, size, timing, writeResult, x, type Measurement } from './lib';
import { PEER, PEER_VERSION, startPeer } from './peer';

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

const SMALL_SESSIONS = 10;
const SMALL_COMMANDS = 20;
const OPEN_ROUNDS = size(8, 2);
const SMALL_ROUNDS = size(4, 1);

it('parallel: open 10 sessions at once, 10 sessions × 20 commands, ours vs the peer and raw ssh2', async () => {
  const f = requireSshd();
  const fleet = await startSshdFleet(f, SMALL_SESSIONS);
  const key = readFileSync(f.keyPath);
  const { config, aliases } = endpointAliases(f, fleet.endpoints, 'p');
  const server = await startServer(f, { home: serverHome(f, config, fleet.knownHosts), logLevel: 'info' });
  // Profiles 0–9 hold the warm sessions; each open round (and the warm-up round) takes 10 fresh ones.
  const peer = await startPeer(f, { profiles: SMALL_SESSIONS * (OPEN_ROUNDS + 2), endpoints: fleet.endpoints });
  const rawClients: ssh2.Client[] = [];
  try {
    await configSettled();
    const lanes = Array.from({ length: SMALL_SESSIONS }, (_, lane) => lane);
    const explicit = (lane: number) => ({ host: fleet.endpoints[lane]?.host, port: fleet.endpoints[lane]?.port, username: f.user, key_filename: f.keyPath });
    const mcpRun = async (args: Record<string, unknown>, expected: string): Promise<void> => {
      const result = await server.call('execute_command', args);
      expect(result.structuredContent?.output, JSON.stringify(result.content).slice(0, 300)).toBe(expected);
    };
    const closeAll = (): Promise<unknown> =>
      Promise.all(
        lanes.map(async (lane) => {
          const { host, port, username } = explicit(lane);
          const closed = await server.call('close_session', { host, port, username });
          expect(closed.structuredContent?.closed, JSON.stringify(closed.content)).toHaveLength(1);
        }),
      );
    const rawConnect = (lane: number): Promise<ssh2.Client> =>
      new Promise((resolve, reject) => {
        const client = new ssh2.Client();
        client.once('error', reject);
        client.once('ready', () => resolve(client));
        client.connect({ host: fleet.endpoints[lane]?.host, port: fleet.endpoints[lane]?.port, username: f.user, privateKey: key });
      });
    const rawExec = (client: ssh2.Client, command: string): Promise<string> =>
      new Promise((resolve, reject) => {
        client.exec(command, (error, channel) => {
          if (error) return reject(error);
          let out = '';
          channel.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
          channel.stderr.resume();
          channel.once('close', () => resolve(out));
        });
      });
    let nextProfile = SMALL_SESSIONS;
    const open = {
      mcp: () => Promise.all(lanes.map((lane) => mcpRun({ host: aliases[lane], command: 'true' }, ''))),
      mcpExplicit: () => Promise.all(lanes.map((lane) => mcpRun({ ...explicit(lane), command: 'true' }, ''))),
      peer: () => {
        const first = nextProfile;
        nextProfile += SMALL_SESSIONS;
        return Promise.all(
          lanes.map(async (lane) => {
            await peer.open(`o${first + lane}`, `p${first + lane}`);
            const result = await peer.run('true', `p${first + lane}`, `o${first + lane}`);
            expect(result.isError, result.text).toBe(false);
          }),
        );
      },
      raw: () =>
        Promise.all(
          lanes.map(async (lane) => {
            const client = await rawConnect(lane);
            await rawExec(client, 'true');
            client.end();
          }),
        ),
    };
    type OpenName = keyof typeof open;
    const opened: Record<OpenName, number[]> = { mcp: [], mcpExplicit: [], peer: [], raw: [] };
    const openNames = Object.keys(open) as OpenName[];
    for (let round = -1; round < OPEN_ROUNDS; round++) {
      const order = round % 2 === 0 ? openNames : [...openNames].reverse();
      for (const name of order) {
        const start = performance.now();
        await open[name]();
        const elapsed = performance.now() - start;
        if (round >= 0) opened[name].push(elapsed);
        if (name === 'mcp' || name === 'mcpExplicit') await closeAll();
      }
    }

    // 10 sessions × 20 commands: sessions opened first (not timed), then each path in turn.
    await open.mcp();
    await Promise.all(lanes.map((lane) => peer.open(`w${lane}`, `p${lane}`)));
    rawClients.push(...(await Promise.all(lanes.map((lane) => rawConnect(lane)))));
    const burst = async (run: (lane: number, index: number) => Promise<void>): Promise<number> => {
      const start = performance.now();
      await Promise.all(lanes.map(async (lane) => {
        for (let index = 0; index < SMALL_COMMANDS; index++) await run(lane, index);
      }));
      return ((SMALL_SESSIONS * SMALL_COMMANDS) / (performance.now() - start)) * 1000;
    };
    const commands = {
      mcp: (lane: number, index: number) => mcpRun({ host: aliases[lane], command: `echo ${lane}:${index}` }, `${lane}:${index}\n`),
      mcpExplicit: (lane: number, index: number) => mcpRun({ ...explicit(lane), command: `echo ${lane}:${index}` }, `${lane}:${index}\n`),
      // The peer trims its session output.
      peer: async (lane: number, index: number) => {
        const result = await peer.run(`echo ${lane}:${index}`, `p${lane}`, `w${lane}`);
        expect(result.text).toBe(`${lane}:${index}`);
      },
      raw: async (lane: number, index: number) => {
        expect(await rawExec(rawClients[lane] as ssh2.Client, `echo ${lane}:${index}`)).toBe(`${lane}:${index}\n`);
      },
    };
    type CommandName = keyof typeof commands;
    const rates: Record<CommandName, number[]> = { mcp: [], mcpExplicit: [], peer: [], raw: [] };
    const commandNames = Object.keys(commands) as CommandName[];
    for (let round = -1; round < SMALL_ROUNDS; round++) {
      for (const name of round % 2 === 0 ? commandNames : [...commandNames].reverse()) {
        const rate = await burst(commands[name]);
        if (round >= 0) rates[name].push(rate);
      }
    }

    const p50 = (values: number[]): number => percentile(values, 50);
    const openLabel: Record<OpenName, [string, Measurement['role']]> = {
      mcp: ['open 10: execute_command by alias, 10 new sessions at once', 'ours'],
      mcpExplicit: ['open 10: execute_command explicit parameters, 10 new sessions at once', 'ours'],
      peer: [`open 10: ${PEER} ${PEER_VERSION} open-session + run-command on 10 new profiles at once`, 'baseline'],
      raw: ['open 10: raw ssh2 connect + exec, 10 at once', 'baseline'],
    };
    const rateLabel: Record<CommandName, [string, Measurement['role']]> = {
      mcp: ['10 × 20: execute_command by alias', 'ours'],
      mcpExplicit: ['10 × 20: execute_command explicit parameters', 'ours'],
      peer: [`10 × 20: ${PEER} ${PEER_VERSION} run-command in 10 sessions`, 'baseline'],
      raw: ['10 × 20: raw ssh2 exec channels on 10 connections', 'baseline'],
    };
    const openVsRaw = (name: OpenName) => {
      const ratio = p50(opened[name]) / p50(opened.raw);
      return { target: `${openLabel[name][0]} ≤ 1.1× raw ssh2 (p50, issue 16)`, measured: `${x(ratio)} (${ms(p50(opened[name]))} vs ${ms(p50(opened.raw))})`, ratio, met: ratio <= 1.1 };
    };
    const rateVsPeer = (name: CommandName) => {
      const ratio = p50(rates[name]) / p50(rates.peer);
      return { target: `${rateLabel[name][0]} ≥ 1.2× the peer (p50 of rounds, issue 16)`, measured: `${x(ratio)} (${p50(rates[name]).toFixed(0)} vs ${p50(rates.peer).toFixed(0)} commands/s)`, ratio, met: ratio >= 1.2 };
    };
    writeResult({
      id: 'parallel-10',
      title: `4b. Open 10 sessions at once (${OPEN_ROUNDS} rounds) and 10 sessions × 20 commands (${SMALL_ROUNDS} rounds), interleaved`,
      measurements: [
        ...openNames.map((name) => timing(openLabel[name][0], openLabel[name][1], opened[name])),
        ...commandNames.map((name) => figure(rateLabel[name][0], rateLabel[name][1], 'commands/s', p50(rates[name]), rates[name].length)),
      ],
      targets: [openVsRaw('mcp'), openVsRaw('mcpExplicit'), rateVsPeer('mcp'), rateVsPeer('mcpExplicit')],
    });
  } finally {
    for (const client of rawClients) client.end();
    await server.close();
    await peer.close();
    await fleet.stop();
  }
}, 900_000);
