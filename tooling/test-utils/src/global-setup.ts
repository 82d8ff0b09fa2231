// vitest globalSetup of the integration project: one real sshd for the whole run.
import type { TestProject } from 'vitest/node';
import { checkTestHost, PROVISION_FIX, startSshd, type RunningSshd } from './sshd';
import type { SshdContext } from './inject';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const problems = checkTestHost();
  if (problems.length > 0) {
    const reason =
      `integration tests cannot run on this machine:\n  - ${problems.join('\n  - ')}\n` +
      `fix: ${PROVISION_FIX}, then run the tests as root (pnpm test).`;
    if (/^(1|true)$/i.test(process.env.CI ?? '')) {
      throw new Error(`${reason}\nCI=true: a missing sshd or test user is a failure, not a skip.`);
    }
    process.stderr.write(`\n!!! ${reason}\n!!! The integration tests are SKIPPED in this run.\n\n`);
    project.provide('sshd', { available: false, reason } satisfies SshdContext);
    return undefined;
  }
  // 16 loopback addresses: load tests hold that many distinct hosts (startSshdFleet for more).
  const sshd: RunningSshd = await startSshd({ loopbackAddresses: 16 });
  project.provide('sshd', { available: true, facts: sshd.facts } satisfies SshdContext);
  return () => sshd.stop();
}
