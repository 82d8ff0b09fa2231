// Scenario 6: a command on a (fake) network device. How long after the device hands its prompt to
// ssh2 does DeviceSession resolve the command? Prompt-anchored completion has no idle wait, so a
// fraction of a millisecond. The fake (test-utils fakeDevice, cisco_ios) runs in process.
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { FakeHost, fakeDevice, fakeLogin } from 'test-utils';
import { DeviceSession, SshConnection } from '../packages/ssh-session-core/src/index';
import { ms, percentile, size, timing, writeResult } from './lib';

const ROUNDS = size(300, 20);

it('device command: prompt arrival → result', async () => {
  let promptSentAt = 0;
  const host = await FakeHost.start({ split: 'none', onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'bench1', onPromptSent: () => (promptSentAt = performance.now()) }) });
  const connection = await SshConnection.connect(fakeLogin(host.address));
  const session = await DeviceSession.open(connection, { deviceType: 'cisco_ios' });
  try {
    const afterPrompt: number[] = [];
    const total: number[] = [];
    for (let round = -10; round < ROUNDS; round++) {
      const start = performance.now();
      const result = await session.run('show clock', { timeoutMs: 5_000 });
      const end = performance.now();
      expect(result.output).toBe('*10:00:00.000 UTC Wed Nov 25 2026\n');
      if (round < 0) continue;
      afterPrompt.push(end - promptSentAt);
      total.push(end - start);
    }
    const p95 = percentile(afterPrompt, 95);
    writeResult({
      id: 'device',
      title: `6. Device command (show clock) on a fake cisco_ios over loopback SSH, ${ROUNDS} rounds`,
      measurements: [
        timing('prompt handed to ssh2 → result resolved', 'ours', afterPrompt),
        timing('whole command, DeviceSession.run', 'ours', total),
      ],
      targets: [{ target: 'result within 5 ms of the prompt (p95): no idle wait', measured: ms(p95), met: p95 <= 5 }],
    });
  } finally {
    session.close();
    connection.close();
    await host.close();
  }
}, 120_000);
