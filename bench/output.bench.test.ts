// Scenario 3: large output. `seq 1 100000` (588 895 bytes), 3 MB and 100 MB of text through the
// library and the MCP server, against a raw ssh2 exec channel on the same connection and `ssh host
// cat` over an OpenSSH ControlMaster connection (so neither pays a connect). For 100 MB the MCP
// server's peak RSS growth is read from /proc (VmHWM after clear_refs). Interleaved per round.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { keyLogin, memoryOf, requireSshd, resetPeak } from 'test-utils';
import { ShellSession, SshConnection } from '../packages/ssh-session-core/src/index';
import { startServer, text } from '../packages/mcp-ssh-server/test/helpers';
import { configSettled, controlMaster, figure, ms, percentile, size, timing, writeResult, x, type Measurement, type Target } from './lib';

const SEQ_ROUNDS = size(10, 2);
const BIG_ROUNDS = size(3, 1);
const BIG_BYTES = size(100_000_000, 10_000_000);
const MB = 1_000_000;

it('large output: seq 1 100000, 3 MB and 100 MB vs raw exec and ssh cat', async () => {
  const f = requireSshd();
  const connection = await SshConnection.connect(keyLogin(f));
  const shell = await ShellSession.open(connection);
  const server = await startServer(f, { logLevel: 'info' });
  await configSettled();
  const remoteDir = (await connection.exec('mktemp -d')).stdout.trim();
  let cm: ReturnType<typeof controlMaster> | undefined;
  const line = 'benchmark output line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const files = { small: `${remoteDir}/3m.txt`, big: `${remoteDir}/big.txt` };
  try {
    for (const [path, bytes] of [[files.small, 3 * MB], [files.big, BIG_BYTES]] as const) {
      const made = await connection.exec(`yes '${line}' | head -c ${bytes} > ${path} && wc -c < ${path}`);
      expect(made.stdout.trim()).toBe(String(bytes));
    }
    cm = controlMaster(f);
    const multiplexed = cm;

    // Each path returns the byte count it saw, checked against the expected size.
    const library = async (command: string): Promise<number> => (await shell.run(command, { timeoutMs: 600_000 })).totalChars;
    const mcp = async (command: string): Promise<number> => {
      const result = await server.call('execute_command', { host: 'testhost', command, timeout: 600 });
      expect(result.structuredContent?.status, text(result).slice(0, 500)).toBe('completed');
      return Number(result.structuredContent?.total_chars);
    };
    const raw = async (command: string): Promise<number> => {
      const channel = await connection.execChannel(command);
      let bytes = 0;
      channel.on('data', (chunk: Buffer) => (bytes += chunk.length));
      channel.stderr.resume();
      await new Promise((resolve) => channel.once('close', resolve));
      return bytes;
    };
    const sshCat = (command: string): Promise<number> =>
      new Promise((resolve, reject) => {
        let bytes = 0;
        const child = spawn('ssh', multiplexed.args(command), { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`ssh exited ${code}`))));
      });
    const paths = { library, mcp, raw, sshCat };
    type PathName = keyof typeof paths;
    const run = async (command: string, expected: number, rounds: number, onRound?: (name: PathName, elapsed: number) => void) => {
      const samples: Record<PathName, number[]> = { library: [], mcp: [], raw: [], sshCat: [] };
      for (let round = -1; round < rounds; round++) {
        for (const name of Object.keys(paths) as PathName[]) {
          const pid = server.transport.pid as number;
          if (name === 'mcp') resetPeak(pid);
          const before = memoryOf(pid).rss;
          const start = performance.now();
          const bytes = await paths[name](command);
          const elapsed = performance.now() - start;
          expect(bytes, `${name}: ${command}`).toBe(expected);
          if (round >= 0) {
            samples[name].push(elapsed);
            if (name === 'mcp') peakGrowth.push(memoryOf(pid).peak - before);
            onRound?.(name, elapsed);
          }
        }
      }
      return samples;
    };
    const peakGrowth: number[] = [];
    const seq = await run('seq 1 100000', 588_895, SEQ_ROUNDS);
    const small = await run(`cat ${files.small}`, 3 * MB, SEQ_ROUNDS);
    peakGrowth.length = 0;
    const big = await run(`cat ${files.big}`, BIG_BYTES, BIG_ROUNDS);
    const bigGrowthMB = Math.max(...peakGrowth) / 1024 / 1024;

    const p50 = (values: number[]): number => percentile(values, 50);
    const throughput = (values: number[]): number => BIG_BYTES / MB / (p50(values) / 1000);
    const label: Record<PathName, [string, Measurement['role']]> = {
      library: ['ShellSession.run (library)', 'ours'],
      mcp: ['execute_command, MCP server over stdio', 'ours'],
      raw: ['raw ssh2 exec channel, same connection', 'baseline'],
      sshCat: ['OpenSSH ssh host cat (ControlMaster)', 'baseline'],
    };
    const rows = (name: string, samples: Record<PathName, number[]>): Measurement[] =>
      (Object.keys(samples) as PathName[]).map((path) => timing(`${name}: ${label[path][0]}`, label[path][1], samples[path]));
    const bigMB = BIG_BYTES / MB;
    const targets: Target[] = [
      { target: 'seq 1 100000 over MCP < 300 ms (issue)', measured: ms(p50(seq.mcp)), met: p50(seq.mcp) < 300 },
      { target: 'seq 1 100000 over MCP < 60 ms (design)', measured: ms(p50(seq.mcp)), met: p50(seq.mcp) < 60 },
      { target: '3 MB over MCP < 100 ms, complete (design)', measured: ms(p50(small.mcp)), met: p50(small.mcp) < 100 },
      {
        target: `${bigMB} MB over MCP ≥ 50% of ssh cat throughput`,
        measured: `${x(throughput(big.mcp) / throughput(big.sshCat))} (${throughput(big.mcp).toFixed(0)} vs ${throughput(big.sshCat).toFixed(0)} MB/s)`,
        ratio: throughput(big.mcp) / throughput(big.sshCat),
        met: throughput(big.mcp) >= 0.5 * throughput(big.sshCat),
      },
      {
        target: `${bigMB} MB library ≥ 50% of ssh cat throughput`,
        measured: `${x(throughput(big.library) / throughput(big.sshCat))} (${throughput(big.library).toFixed(0)} MB/s)`,
        ratio: throughput(big.library) / throughput(big.sshCat),
        met: throughput(big.library) >= 0.5 * throughput(big.sshCat),
      },
      { target: `${bigMB} MB: MCP server peak RSS growth < 100 MB`, measured: `${bigGrowthMB.toFixed(1)} MB`, met: bigGrowthMB < 100 },
    ];
    writeResult({
      id: 'output',
      title: `3. Large output: seq 1 100000 and 3 MB (${SEQ_ROUNDS} rounds), ${bigMB} MB (${BIG_ROUNDS} rounds), interleaved`,
      measurements: [
        ...rows('seq 1 100000', seq),
        ...rows('3 MB', small),
        ...rows(`${bigMB} MB`, big),
        ...(Object.keys(big) as PathName[]).map((path) => figure(`${bigMB} MB throughput: ${label[path][0]}`, label[path][1], 'MB/s', throughput(big[path]), big[path].length)),
        figure(`${bigMB} MB: MCP server peak RSS growth`, 'ours', 'MB', bigGrowthMB, peakGrowth.length),
      ],
      targets,
    });
  } finally {
    await connection.exec(`rm -rf '${remoteDir}'`).catch(() => undefined);
    cm?.stop();
    await server.close();
    shell.close();
    connection.close();
  }
}, 900_000);
