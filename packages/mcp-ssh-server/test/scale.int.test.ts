// Scale through the built server bin, against a fleet of loopback sshd endpoints (test-utils
// startSshdFleet: 16 addresses per instance, as many instances as needed):
// - execute_command_on_hosts across 200 hosts with a concurrency limit: every host answers, no more
//   than the limit run at once (read off the commands' own clocks), one progress notification each;
// - SCALE_SESSIONS concurrent sessions in one server process (100 in `pnpm test`, 1 000 in
//   `pnpm scale`): open all with one command each, idle, check every one still answers, close all;
//   time to open, memory per session, and nothing left on the server or the host afterwards.
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, startSshdFleet, type SshdFacts, type SshdFleet } from 'test-utils';
import { endpointAliases, serverHome, startServer, text, type E2eServer } from './helpers';
import { recordFigure, remoteProcesses, usage } from './reliability';

const facts = sshdFacts();
const SESSIONS = Number(process.env.SCALE_SESSIONS ?? 100);
const HOSTS = 200;
const LIMIT = 8;
/** Calls the test keeps in flight while opening sessions one execute_command each. */
const IN_FLIGHT = 50;
const MB = 1024 * 1024;

type HostResult = { host: string; status: string; exit_code: number | null; output: string; error: { code: string; message: string } | null };

/** The most intervals open at one instant. */
function maxOverlap(intervals: readonly [number, number][]): number {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ] as const);
  // Ends before starts at the same instant: touching intervals do not overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

/** `run` over the items, `limit` at a time. */
async function inFlight<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await run(items[next++] as T);
  }));
}

describe.skipIf(!facts)(`scale through the server bin ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let fleet: SshdFleet;
  let config: string;
  let aliases: string[];

  beforeAll(async () => {
    const started = performance.now();
    fleet = await startSshdFleet(f, Math.max(SESSIONS, HOSTS) + 1);
    ({ config, aliases } = endpointAliases(f, fleet.endpoints));
    recordFigure('scale', 'sshd fleet: endpoints, started in', `${fleet.endpoints.length}, ${Math.round(performance.now() - started)}`, 'ms');
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it(`runs execute_command_on_hosts across ${HOSTS} hosts, ${LIMIT} at a time, with progress per host`, async () => {
    const server = await startServer(f, { home: serverHome(f, config, fleet.knownHosts) });
    try {
      const hosts = aliases.slice(0, HOSTS);
      const seen = server.transport.lines.length;
      const started = performance.now();
      const answer = await server.client.callTool(
        {
          name: 'execute_command_on_hosts',
          // Each host reports when its command began and ended on the host's clock (the fleet is this
          // machine, so the clocks are one): the overlap of those intervals is what ran at once.
          arguments: { hosts, command: 'a=$(date +%s%N); sleep 0.1; echo "$a $(date +%s%N)"', concurrency: LIMIT, timeout: 60 },
        },
        undefined,
        { onprogress: () => undefined, timeout: 300_000 },
      );
      const elapsed = performance.now() - started;
      const results = (answer.structuredContent as { results: HostResult[] }).results;
      expect(results.filter((r) => r.status !== 'completed' || r.exit_code !== 0)).toEqual([]);
      expect(results.map((r) => r.host)).toEqual(hosts);
      expect(answer.structuredContent).toMatchObject({ succeeded: HOSTS, failed: 0, running: 0 });
      const intervals = results.map((r) => r.output.trim().split(' ').map(Number) as [number, number]);
      const overlap = maxOverlap(intervals);
      expect(overlap).toBeLessThanOrEqual(LIMIT);
      // And it did run in parallel: more than one at a time.
      expect(overlap).toBeGreaterThan(1);
      // One progress notification per host, counting up to the total, before the answer.
      const wire = server.transport.lines.slice(seen).map((line) => JSON.parse(line) as { method?: string; id?: number; params?: { progress: number; total?: number } });
      const progress = wire.filter((message) => message.method === 'notifications/progress').map((message) => message.params);
      expect(progress.map((p) => p?.progress)).toEqual(hosts.map((_, index) => index + 1));
      expect(new Set(progress.map((p) => p?.total))).toEqual(new Set([HOSTS]));
      // The text gives each host's block; 200 hosts share the answer's output budget.
      expect(text(answer as never)).toMatch(new RegExp(`^${HOSTS} hosts: ${HOSTS} succeeded, 0 failed\\.`));
      recordFigure('scale', `execute_command_on_hosts: ${HOSTS} hosts (connect + command), concurrency ${LIMIT}, most at once`, `${Math.round(elapsed)} ms, ${overlap}`);
    } finally {
      await server.close();
    }
  }, 300_000);

  it(`holds ${SESSIONS} concurrent sessions in one server: opens all, each still answers after idling, closes all, leaves nothing`, async () => {
    const server: E2eServer = await startServer(f, { home: serverHome(f, config, fleet.knownHosts) });
    try {
      const pid = server.transport.pid as number;
      const hosts = aliases.slice(1, SESSIONS + 1);
      const hostBefore = await remoteProcesses(f.user);
      // One session first, so code loaded on first use is not counted per session.
      expect((await server.call('execute_command', { host: aliases[0] as string, command: 'echo warm' })).structuredContent?.output).toBe('warm\n');
      await sleep(1_000);
      const before = usage(pid);

      const opens: number[] = [];
      const failures: string[] = [];
      const started = performance.now();
      await inFlight(hosts, IN_FLIGHT, async (host) => {
        const t0 = performance.now();
        const result = await server.call('execute_command', { host, command: `echo ${host}` });
        opens.push(performance.now() - t0);
        if (result.structuredContent?.output !== `${host}\n`) failures.push(`${host}: ${text(result).slice(0, 200)}`);
      });
      const openAll = performance.now() - started;
      expect(failures).toEqual([]);

      // Idle: the sessions are held, nothing runs.
      await sleep(5_000);
      const held = usage(pid);
      const listed = (await server.call('list_sessions', {})).structuredContent?.sessions as unknown[];
      expect(listed).toHaveLength(SESSIONS + 1);
      // Every session still answers (and execute_command_on_hosts takes 500 at a time).
      const answered: HostResult[] = [];
      for (let index = 0; index < hosts.length; index += 500) {
        const batch = hosts.slice(index, index + 500);
        const result = await server.call('execute_command_on_hosts', { hosts: batch, command: 'echo again', concurrency: 50 });
        answered.push(...(result.structuredContent?.results as HostResult[]));
      }
      expect(answered.filter((r) => r.output !== 'again\n')).toEqual([]);
      expect(answered).toHaveLength(SESSIONS);
      expect((await server.call('list_sessions', {})).structuredContent?.sessions as unknown[]).toHaveLength(SESSIONS + 1);

      const closing = performance.now();
      await inFlight([aliases[0] as string, ...hosts], IN_FLIGHT, async (host) => {
        const result = await server.call('close_session', { host });
        if (result.isError) failures.push(`close ${host}: ${text(result).slice(0, 200)}`);
      });
      const closeAll = performance.now() - closing;
      expect(failures).toEqual([]);
      expect((await server.call('list_sessions', {})).structuredContent?.sessions as unknown[]).toHaveLength(0);
      // Every connection's socket is gone from the server, and every login ended on the host. A
      // close is polite (the socket is destroyed after a 1 s grace at most) and sshd tears a session
      // down after the client hangs up; neither has an event the test could wait on, so this
      // samples, bounded.
      let closed = usage(pid);
      let hostAfter = await remoteProcesses(f.user);
      for (let waited = 0; (closed.sockets > before.sockets - 1 || (hostAfter.bash ?? 0) > (hostBefore.bash ?? 0)) && waited < 30_000; waited += 250) {
        await sleep(250);
        closed = usage(pid);
        hostAfter = await remoteProcesses(f.user);
      }
      expect(closed.sockets).toBe(before.sockets - 1);
      expect(hostAfter.bash ?? 0).toBeLessThanOrEqual(hostBefore.bash ?? 0);
      expect(hostAfter['sshd-session'] ?? hostAfter.sshd ?? 0).toBeLessThanOrEqual(hostBefore['sshd-session'] ?? hostBefore.sshd ?? 0);

      const sorted = [...opens].sort((a, b) => a - b);
      const perSession = (held.rss - before.rss) / SESSIONS;
      recordFigure('scale', `${SESSIONS} sessions: time to open all (${IN_FLIGHT} calls in flight)`, Math.round(openAll), 'ms');
      recordFigure('scale', `${SESSIONS} sessions: one open + command, p50 / p99`, `${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} / ${sorted[Math.floor(sorted.length * 0.99)]?.toFixed(0)}`, 'ms');
      recordFigure('scale', `${SESSIONS} sessions: server RSS with 1 / with all, idle`, `${(before.rss / MB).toFixed(1)} / ${(held.rss / MB).toFixed(1)}`, 'MB');
      recordFigure('scale', `${SESSIONS} sessions: RSS per session`, Math.round(perSession / 1024), 'KB');
      recordFigure('scale', `${SESSIONS} sessions: server fds with 1 / all / after close (sockets)`, `${before.fds} (${before.sockets}) / ${held.fds} (${held.sockets}) / ${closed.fds} (${closed.sockets})`);
      recordFigure('scale', `${SESSIONS} sessions: time to close all`, Math.round(closeAll), 'ms');
      // Design target: an idle session costs the server under 2 MB.
      expect(perSession).toBeLessThan(2 * MB);
    } finally {
      await server.close();
    }
  }, 900_000);
});
