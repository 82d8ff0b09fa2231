// Scenario: server start → `tools/list`, as an MCP client starts a server: spawn the built bin
// over stdio, initialize, list the tools. Ours against the peer (ssh-mcp, started the same way
// with its generated config) and a bare `node -e 0` (the floor: Node's own start), interleaved
// round by round. Asserts only that both servers list their tools.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { requireSshd } from 'test-utils';
import { startServer } from '../packages/mcp-ssh-server/test/helpers';
import { ms, percentile, size, timing, writeResult, x } from './lib';
import { PEER, PEER_VERSION, startPeer } from './peer';

const ROUNDS = size(20, 3);

it('start → tools/list: ours vs the peer and bare node', async () => {
  const f = requireSshd();
  const samples = { ours: [] as number[], peer: [] as number[], node: [] as number[] };
  const ours = async (): Promise<number> => {
    const start = performance.now();
    const server = await startServer(f, { logLevel: 'info' });
    const { tools } = await server.client.listTools();
    const elapsed = performance.now() - start;
    expect(tools.map((tool) => tool.name)).toContain('execute_command');
    await server.close();
    return elapsed;
  };
  const peer = async (): Promise<number> => {
    const started = await startPeer(f, { profiles: 1 });
    await started.close();
    return started.startMs;
  };
  const node = async (): Promise<number> => {
    const start = performance.now();
    const result = spawnSync(process.execPath, ['-e', '0']);
    expect(result.status).toBe(0);
    return performance.now() - start;
  };
  const paths: [number[], () => Promise<number>][] = [
    [samples.ours, ours],
    [samples.peer, peer],
    [samples.node, node],
  ];
  // Round -1 warms the page cache and is not kept; the order alternates each round.
  for (let round = -1; round < ROUNDS; round++) {
    for (const [into, run] of round % 2 === 0 ? paths : [...paths].reverse()) {
      const elapsed = await run();
      if (round >= 0) into.push(elapsed);
    }
  }
  const p50 = (values: number[]): number => percentile(values, 50);
  const ratio = p50(samples.ours) / p50(samples.peer);
  writeResult({
    id: 'start',
    title: `0. Server start → tools/list over stdio, ${ROUNDS} interleaved rounds`,
    measurements: [
      timing('mcp-ssh-server: spawn, initialize, tools/list', 'ours', samples.ours),
      timing(`${PEER} ${PEER_VERSION}: spawn, initialize, tools/list`, 'baseline', samples.peer),
      timing('node -e 0 (Node.js start alone)', 'baseline', samples.node),
    ],
    targets: [
      { target: 'start → tools/list ≤ 200 ms (p50, issue 16)', measured: ms(p50(samples.ours)), met: p50(samples.ours) <= 200 },
      { target: `start → tools/list ≤ ${PEER}'s (p50)`, measured: `${x(ratio)} (${ms(p50(samples.ours))} vs ${ms(p50(samples.peer))})`, ratio, met: ratio <= 1 },
    ],
  });
}, 600_000);
