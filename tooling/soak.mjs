// pnpm soak [--minutes N]: the load suite's soak (packages/mcp-ssh-server/test/load.int.test.ts)
// for N minutes (default 30) instead of the 60 s `pnpm test` runs. Figures go to
// $RELIABILITY_OUT when set.
import { spawnSync } from 'node:child_process';

const at = process.argv.indexOf('--minutes');
const minutes = at >= 0 ? Number(process.argv[at + 1]) : 30;
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error('usage: pnpm soak [--minutes N]   (N > 0, default 30)');
  process.exit(2);
}
const run = (command, args, env = {}) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('pnpm', ['run', 'build']);
run('pnpm', ['run', 'provision']);
run('pnpm', ['exec', 'vitest', 'run', '--project', 'integration', 'packages/mcp-ssh-server/test/load.int.test.ts'], { SOAK_SECONDS: String(Math.round(minutes * 60)) });
