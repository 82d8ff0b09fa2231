// Scenario 5: 200 idle sessions held by the MCP server (200 ssh_config aliases on distinct
// loopback endpoints, each opened with one execute_command). Reports the server's RSS growth per
// session, read from /proc, after the sessions have settled; and checks all 200 still answer.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { memoryOf, requireSshd, startSshdFleet } from 'test-utils';
import { endpointAliases, serverHome, startServer } from '../packages/mcp-ssh-server/test/helpers';
import { figure, size, writeResult } from './lib';

const SESSIONS = size(200, 20);
const OPEN_AT_ONCE = 20;
const MB = 1024 * 1024;

it('idle sessions: memory per session held by the MCP server', async () => {
  const f = requireSshd();
  const fleet = await startSshdFleet(f, SESSIONS + 1);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const { config, aliases } = endpointAliases(f, fleet.endpoints);
    const mcp = await startServer(f, { home: serverHome(f, config, fleet.knownHosts), logLevel: 'info' });
    server = mcp;
    const pid = mcp.transport.pid as number;
    const open = async (hosts: readonly string[]): Promise<void> => {
      for (let index = 0; index < hosts.length; index += OPEN_AT_ONCE) {
        const results = await Promise.all(hosts.slice(index, index + OPEN_AT_ONCE).map((host) => mcp.call('execute_command', { host, command: 'echo up' })));
        for (const result of results) expect(result.structuredContent?.output).toBe('up\n');
      }
    };
    // One session first, so code loaded on first use is not counted per session.
    await open(aliases.slice(0, 1));
    await sleep(1_000);
    const before = memoryOf(pid).rss;
    await open(aliases.slice(1));
    await sleep(2_000);
    const after = memoryOf(pid).rss;
    const listed = await mcp.call('list_sessions', {});
    expect((listed.structuredContent?.sessions as unknown[]).length).toBe(SESSIONS + 1);
    // Held, not just opened: every session still answers.
    await open(aliases.slice(1));
    const perSession = (after - before) / SESSIONS / MB;
    writeResult({
      id: 'idle-sessions',
      title: `5. ${SESSIONS} idle sessions held by the MCP server`,
      measurements: [
        figure('server RSS with 1 session', 'ours', 'MB', before / MB),
        figure(`server RSS with ${SESSIONS + 1} sessions`, 'ours', 'MB', after / MB),
        figure('RSS growth per session', 'ours', 'KB', perSession * 1024, SESSIONS),
      ],
      targets: [{ target: 'memory per idle session < 2 MB (design)', measured: `${(perSession * 1024).toFixed(0)} KB`, met: perSession < 2 }],
    });
  } finally {
    await server?.close();
    await fleet.stop();
  }
}, 900_000);
