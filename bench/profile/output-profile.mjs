// Where does a large output's time go? Run by bench/profile.bench.test.ts (BENCH_PROFILE=1 pnpm
// bench) under `node --cpu-prof` with the loopback sshd's facts in BENCH_SSHD. Times `seq 1 100000` and a `cat`
// of BENCH_FILE through: an exec channel without a PTY, an exec channel with a PTY in raw mode
// and in cooked mode (what the persistent shell reads through), and ShellSession.run; prints the figures as JSON.
import { performance } from 'node:perf_hooks';
import { ShellSession, SshConnection } from '../../packages/ssh-session-core/dist/index.js';

const f = JSON.parse(process.env.BENCH_SSHD);
const file = process.env.BENCH_FILE;
const connection = await SshConnection.connect({
  host: f.host,
  port: f.port,
  username: f.user,
  auth: { privateKeys: [{ path: f.keyPath }] },
  hostKeys: { mode: 'strict', knownHostsFiles: [f.knownHostsPath] },
});
const drain = async (channel) => {
  let bytes = 0;
  channel.on('data', (chunk) => (bytes += chunk.length));
  channel.stderr.resume();
  await new Promise((resolve) => channel.once('close', resolve));
  return bytes;
};
const time = async (run) => {
  const start = performance.now();
  const bytes = await run();
  return { ms: performance.now() - start, bytes };
};
const shell = await ShellSession.open(connection);
const figures = {};
for (const [name, command, rounds] of [['seq 1 100000', 'seq 1 100000', 9], ['cat 100 MB', `cat ${file}`, 3]]) {
  const runs = { noPty: [], ptyRaw: [], ptyCooked: [], shell: [] };
  for (let round = 0; round < rounds; round++) {
    runs.noPty.push(await time(async () => drain(await connection.execChannel(command))));
    runs.ptyRaw.push(await time(async () => drain(await connection.execChannel(`stty raw -echo; ${command}`, { pty: { term: 'dumb', cols: 200, rows: 50 } }))));
    runs.ptyCooked.push(await time(async () => drain(await connection.execChannel(command, { pty: { term: 'dumb', cols: 200, rows: 50 } }))));
    runs.shell.push(await time(async () => (await shell.run(command, { timeoutMs: 600_000 })).totalChars));
  }
  figures[name] = runs;
}
shell.close();
connection.close();
process.stdout.write(JSON.stringify(figures));
