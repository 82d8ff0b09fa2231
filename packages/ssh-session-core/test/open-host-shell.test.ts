// openHostShell without a device_type against in-process fakes: every vendor's CLI found from
// evidence (exec refused or not run by a shell, the prompt, the version output), devices that hang
// up after an exec or on the version probe, a host that refuses exec and shells, Brocade's `SSH@`
// prompt, more vendors' pagers and questions, and a pasted block that stops at its first error.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost, fakeConfigLines, fakeDevice, fakeLogin, scriptedCli, type FakeDeviceSpec, type FakeHostOptions, type FakeVendor } from 'test-utils';
import { DeviceSession, genericDevice, juniperJunos, openHostShell, SshConnection, type HostShell } from '../src/index';

const hosts: FakeHost[] = [];
const opened: HostShell[] = [];
afterEach(async () => {
  for (const { shell, connection } of opened.splice(0)) {
    shell.close();
    connection.close();
  }
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

/** Opens a fake host through openHostShell with no device type; each connect is a new login. */
async function open(spec: FakeDeviceSpec | undefined, hostOptions: FakeHostOptions = {}, options: Parameters<typeof openHostShell>[1] = {}): Promise<{ host: FakeHost; opened: HostShell; connects: () => number }> {
  const host = await FakeHost.start({ ...(spec ? { onShell: fakeDevice(spec) } : {}), ...hostOptions });
  hosts.push(host);
  let count = 0;
  const connect = (): Promise<SshConnection> => {
    count++;
    return SshConnection.connect(fakeLogin(host.address));
  };
  const result = await openHostShell(connect, options);
  opened.push(result);
  return { host, opened: result, connects: () => count };
}

const device = (result: HostShell): DeviceSession => {
  expect(result.shell).toBeInstanceOf(DeviceSession);
  return result.shell as DeviceSession;
};

const VENDORS: readonly { vendor: FakeVendor; hostname: string; show: string }[] = [
  { vendor: 'cisco_ios', hostname: 'sw1', show: 'show running-config' },
  { vendor: 'cisco_nxos', hostname: 'nx1', show: 'show running-config' },
  { vendor: 'cisco_asa', hostname: 'fw1', show: 'show running-config' },
  { vendor: 'arista_eos', hostname: 'leaf1', show: 'show running-config' },
  { vendor: 'juniper_junos', hostname: 'mx1', show: 'show configuration' },
  { vendor: 'mikrotik_routeros', hostname: 'MikroTik', show: '/export' },
  { vendor: 'huawei', hostname: 'HUAWEI', show: 'display current-configuration' },
  { vendor: 'hp_comware', hostname: 'H3C', show: 'display current-configuration' },
  { vendor: 'ruckus_fastiron', hostname: 'icx7150', show: 'show running-config' },
];

describe('openHostShell without device_type', () => {
  it.each(VENDORS)('finds a $vendor that refuses exec, and runs its commands exactly', async ({ vendor, hostname, show }) => {
    const { opened: result } = await open({ vendor, hostname });
    expect(result.detection).toMatchObject({ kind: 'device', profile: vendor, detected: true, evidence: expect.stringMatching(/^exec refused; prompt "/) as unknown });
    await expect(device(result).run(show, { timeoutMs: 10_000 })).resolves.toMatchObject({ output: `${fakeConfigLines(hostname).join('\n')}\n`, exitCode: null, failure: undefined });
  });

  it('falls back to generic for a CLI no profile knows, and still uses its enable_password', async () => {
    const { opened: result } = await open({ vendor: 'cisco_ios', hostname: 'acme1', enableSecret: 'en-9', version: 'ACME Switch OS 3.1\n' }, {}, { device: { enablePassword: 'en-9' } });
    expect(result.detection).toMatchObject({ kind: 'device', profile: 'generic', evidence: expect.stringContaining('no vendor recognised: generic') as unknown });
    expect(device(result).info).toMatchObject({ prompt: 'acme1#', mode: 'privileged', enabled: true });
    await expect(device(result).run('show running-config', { timeoutMs: 10_000 })).resolves.toMatchObject({ output: `${fakeConfigLines('acme1').join('\n')}\n` });
  });

  it('takes an exec answered by the CLI (Cisco IOS style) for a device, and reconnects when the device hung up after it', async () => {
    const { opened: result, connects } = await open(
      { vendor: 'cisco_ios', hostname: 'ios1' },
      {
        onExec: (command, channel) => {
          void channel.write(`${' '.repeat(8)}^\r\n% Invalid input detected at '^' marker.\r\n`).then(async () => {
            await channel.end(0);
            // IOS ends the whole connection with its exec channel.
            hosts[0]?.dropConnections();
          });
          void command;
        },
      },
    );
    expect(result.detection).toMatchObject({ profile: 'cisco_ios', evidence: expect.stringContaining('exec is not run by a shell ("% Invalid input detected') as unknown });
    expect(connects()).toBe(2);
    await expect(device(result).run('show clock', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: '*10:00:00.000 UTC Wed Nov 25 2026\n' });
  });

  it('reconnects a device that drops the connection on the version probe, and picks the profile another way', async () => {
    let drops = 0;
    const spec: FakeDeviceSpec = {
      vendor: 'cisco_ios',
      hostname: 'fragile',
      onCommand: (line) => {
        if (line !== 'show version') return false;
        drops++;
        hosts[0]?.dropConnections();
        return true;
      },
    };
    const { opened: result, connects } = await open(spec);
    expect(drops).toBe(1);
    expect(connects()).toBe(2);
    expect(result.detection).toMatchObject({ kind: 'device', profile: 'generic', evidence: expect.stringContaining('the version command closed the connection') as unknown });
    await expect(device(result).run('show clock', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: '*10:00:00.000 UTC Wed Nov 25 2026\n', failure: undefined });
  });

  it('says so when a host refuses both exec and an interactive shell', async () => {
    await expect(open(undefined)).rejects.toMatchObject({
      code: 'CHANNEL_OPEN_FAILED',
      message: expect.stringMatching(/refused both a command \(exec\) and an interactive shell/) as unknown,
    });
  });

  it('never takes a shell prompt with a path (`root@box:~#`, `user@host:~>`) for Junos', () => {
    for (const prompt of ['root@box:~#', 'user@host:~>', 'admin@fw:/var/log#']) expect(juniperJunos.promptShape?.test(prompt), prompt).toBe(false);
    for (const prompt of ['admin@mx1>', 'admin@mx1#', 'lab@re0.mx-edge>']) expect(juniperJunos.promptShape?.test(prompt), prompt).toBe(true);
    expect(genericDevice.modes.user?.test('shell$')).toBe(false);
  });

  it('closes every connection it made when the open fails (a refused enable secret)', async () => {
    const host = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'leak1', enableSecret: 'right' }) });
    hosts.push(host);
    await expect(openHostShell(() => SshConnection.connect(fakeLogin(host.address)), { device: { enablePassword: 'wrong' } })).rejects.toMatchObject({ code: 'ENABLE_FAILED' });
    await host.whenIdle();
    expect(host.connectionCount).toBe(1);
  });

  it('sends no enable to a generic CLI whose prompt shows no user mode (`acme%`), and runs its commands', async () => {
    const lines: string[] = [];
    const cli = scriptedCli({ prompt: 'acme% ', handle: (line) => (lines.push(line), line === 'show clock' ? '10:00' : undefined) });
    const { opened: result } = await open(undefined, { onShell: cli }, { device: { enablePassword: 'x' } });
    expect(result.detection.profile).toBe('generic');
    await expect(device(result).run('show clock', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: '10:00\n' });
    expect(lines).not.toContain('enable');
  });

  it('never takes Ruckus/Brocade FastIron `SSH@host>` for Junos `user@host>`', async () => {
    const { opened: result } = await open({ vendor: 'ruckus_fastiron', hostname: 'ICX7150-48', enableSecret: 'e' }, {}, { device: { enablePassword: 'e' } });
    expect(result.detection.profile).toBe('ruckus_fastiron');
    expect(device(result).info).toMatchObject({ prompt: 'SSH@ICX7150-48#', enabled: true });
  });
});

describe('device pagers and questions', () => {
  it.each([
    '--More-- or (q)uit',
    '-- More --, next page: Space, next line: Enter, quit: Control-C',
    'Press any key to continue',
  ])('answers and removes the pager prompt %j', async (pager) => {
    const { opened: result } = await open({ vendor: 'cisco_ios', hostname: 'pg1', ignorePagingOff: true, pager });
    await expect(device(result).run('show running-config', { timeoutMs: 10_000 })).resolves.toMatchObject({ output: `${fakeConfigLines('pg1').join('\n')}\n` });
  });

  it.each([
    { vendor: 'cisco_ios' as const, command: 'clear counters', question: 'Clear "show interface" counters on all interfaces [confirm]', answer: '\r', done: '' },
    { vendor: 'cisco_nxos' as const, command: 'reload', question: 'This command will reboot the system. (y/n)?  [n]', answer: 'n\n', done: 'Cancelled.\n' },
    { vendor: 'juniper_junos' as const, command: 'request system reboot', question: 'Reboot the system ? [yes,no] (no)', answer: 'no\n', done: 'Cancelled.\n' },
    { vendor: 'huawei' as const, command: 'save', question: 'The current configuration will be written to the device. Are you sure to continue?[Y/N]:', answer: 'N\n', done: 'Cancelled.\n' },
  ])('never answers $vendor\'s "$command" question itself: awaiting input until the caller answers', async ({ vendor, command, question, answer, done }) => {
    const { opened: result } = await open({ vendor, hostname: 'q1' });
    const running = device(result).start(command);
    await new Promise<void>((resolve) => {
      running.subscribe((event) => {
        if (event.type === 'awaiting-input' && event.prompt) resolve();
      });
    });
    expect(running.awaitingInput).toBe(question);
    expect(running.write(answer)).toBe(true);
    const finished = await running.done;
    expect(finished.output.endsWith(done)).toBe(true);
  });
});

describe('a pasted block on a device', () => {
  it('sends it line by line, keeps every line\'s output in order, and stops at the first failing line', async () => {
    const log: string[] = [];
    const { opened: result } = await open({ vendor: 'cisco_ios', hostname: 'blk1', log });
    const run = await device(result).run('configure terminal\ninterface Gi0/1\ndescription uplink\nbogus line here\nshutdown\nend', { timeoutMs: 10_000 });
    expect(run.output).toBe("Enter configuration commands, one per line.  End with CNTL/Z.\n            ^\n% Invalid input detected at '^' marker.\n");
    expect(run.failure).toBe(`% Invalid input detected at '^' marker. (line 4 of 6: "bogus line here"; the 2 lines after it were not sent; the device is still in config mode (blk1(config-if)#))`);
    expect(log).not.toContain('shutdown');
    expect(log.slice(-4)).toEqual(['configure terminal', 'interface Gi0/1', 'description uplink', 'bogus line here']);
  });
});
