// `pnpm run provision`: makes this machine ready for the integration tests, or says exactly why not.
// Runs provision-test-host.sh as root (directly, or through passwordless sudo). With CI=true a
// machine that cannot be provisioned fails the run; elsewhere the integration tests will be
// skipped and this says what to run.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./provision-test-host.sh', import.meta.url));
const fix = `sudo sh ${script}`;
const isCi = /^(1|true)$/i.test(process.env.CI ?? '');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  return result.status === 0;
}

let ok = false;
if (process.platform !== 'linux') {
  console.error(`provision: integration tests need Linux with OpenSSH; this is ${process.platform}.`);
} else if (isRoot) {
  ok = run('sh', [script]);
} else if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) {
  ok = run('sudo', ['-n', 'sh', script]);
} else {
  console.error('provision: not root and no passwordless sudo; cannot install sshd or create the test user.');
}

if (!ok) {
  const message =
    `provision: this machine is NOT ready for the integration tests (real sshd, sudo, test user).\n` +
    `provision: fix: ${fix}   then run the tests as root (the suite starts its own sshd as root).`;
  if (isCi) {
    console.error(`${message}\nprovision: CI=true, so this is a failure.`);
    process.exit(1);
  }
  console.error(`${message}\nprovision: continuing; the integration tests will be reported as skipped.`);
}
