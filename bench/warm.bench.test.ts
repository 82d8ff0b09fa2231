// Scenario 1: a trivial command on a warm session. Ours through the library (ShellSession.run) and
// through the built MCP server over stdio (execute_command), against a raw ssh2 exec channel on the
// same open connection and OpenSSH with ControlMaster multiplexing. The four are interleaved round
// by round so machine drift hits all alike. Reports; asserts only that every answer is right.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { keyLogin, requireSshd } from 'test-utils';
import { ShellSession, SshConnection } from '../packages/ssh-session-core/src/index';
import { startServer, text } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, controlMaster, ms, percentile, size, timing, writeResult, x } from './lib';

const ROUNDS = size(300, 20);

it('warm command: library and MCP stdio vs raw exec and OpenSSH ControlMaster', async () => {
  const f = requireSshd();
  const connection = await SshConnection.connect(keyLogin(f));
  const shell = await ShellSession.open(connection);
  const server = await startServer(f, { logLevel: 'info' });
  await configSettled();
  let cm: ReturnType<typeof controlMaster> | undefined;
  try {
    cm = controlMaster(f);
    const multiplexed = cm;
    const viaControlMaster = (): string => {
      const result = spawnSync('ssh', multiplexed.args('echo hi'));
      expect(result.status, result.stderr.toString()).toBe(0);
      return result.stdout.toString();
    };
    const viaMcp = async (): Promise<string> => {
      const result = await server.call('execute_command', { host: 'testhost', command: 'echo hi' });
      expect(result.isError, text(result)).toBeFalsy();
      return String(result.structuredContent?.output);
    };
    for (let i = 0; i < 10; i++) {
      await shell.run('echo warm');
      await connection.exec('echo warm');
      await viaMcp();
      viaControlMaster();
    }
    const samples = { library: [] as number[], mcp: [] as number[], raw: [] as number[], controlMaster: [] as number[] };
    const timed = async (into: number[], run: () => Promise<string> | string): Promise<void> => {
      const start = performance.now();
      const output = await run();
      into.push(performance.now() - start);
      expect(output).toBe('hi\n');
    };
    for (let round = 0; round < ROUNDS; round++) {
      await timed(samples.library, async () => (await shell.run('echo hi')).output);
      await timed(samples.mcp, viaMcp);
      await timed(samples.raw, async () => (await connection.exec('echo hi')).stdout);
      await timed(samples.controlMaster, viaControlMaster);
    }
    const p50 = (values: number[]): number => percentile(values, 50);
    writeResult({
      id: 'warm-command',
      title: `1. Trivial command (echo hi) on a warm session, ${ROUNDS} interleaved rounds`,
      measurements: [
        timing('ShellSession.run (library)', 'ours', samples.library),
        timing('execute_command, MCP server over stdio', 'ours', samples.mcp),
        timing('raw ssh2 exec channel, same connection', 'baseline', samples.raw),
        timing('OpenSSH ssh with ControlMaster', 'baseline', samples.controlMaster),
      ],
      targets: [
        { target: 'over MCP ≤ 5 ms p50 (issue)', measured: ms(p50(samples.mcp)), met: p50(samples.mcp) <= 5 },
        { target: 'over MCP ≤ 2 ms p50 (design)', measured: ms(p50(samples.mcp)), met: p50(samples.mcp) <= 2 },
        {
          target: 'over MCP faster than a raw exec channel (p50)',
          measured: `${x(p50(samples.mcp) / p50(samples.raw))} raw exec`,
          ratio: p50(samples.mcp) / p50(samples.raw),
          met: p50(samples.mcp) < p50(samples.raw),
        },
        {
          target: 'library faster than a raw exec channel (p50)',
          measured: `${x(p50(samples.library) / p50(samples.raw))} raw exec`,
          ratio: p50(samples.library) / p50(samples.raw),
          met: p50(samples.library) < p50(samples.raw),
        },
        {
          target: 'over MCP faster than OpenSSH ControlMaster (p50)',
          measured: `${x(p50(samples.mcp) / p50(samples.controlMaster))} ControlMaster`,
          ratio: p50(samples.mcp) / p50(samples.controlMaster),
          met: p50(samples.mcp) < p50(samples.controlMaster),
        },
      ],
    });
  } finally {
    cm?.stop();
    await server.close();
    shell.close();
    connection.close();
  }
}, 600_000);
