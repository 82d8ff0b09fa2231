// DeviceSession against in-process fake devices (FakeHost + fakeDevice): each vendor's prompts,
// enable, paging (off, and the pager fallback with the vendor's repaint), config mode, failure
// indicators, login questions, interrupts, prompts split across packets.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost, fakeConfigLines, fakeDevice, fakeLogin, type FakeDeviceSpec, type FakeVendor } from 'test-utils';
import { DeviceSession, loginUsername, mikrotikRouteros, modeOf, promptPattern, SshConnection, deviceProfile } from '../src/index';
import { TerminalLines } from '../src/device/terminal-lines';

const hosts: FakeHost[] = [];
const connections: SshConnection[] = [];
const sessions: DeviceSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  for (const connection of connections.splice(0)) connection.close();
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

async function device(spec: FakeDeviceSpec, options: Parameters<typeof DeviceSession.open>[1] = {}): Promise<DeviceSession> {
  const host = await FakeHost.start({ onShell: fakeDevice(spec) });
  hosts.push(host);
  const connection = await SshConnection.connect(fakeLogin(host.address));
  connections.push(connection);
  const session = await DeviceSession.open(connection, options);
  sessions.push(session);
  return session;
}

const config = (hostname: string): string => `${fakeConfigLines(hostname).join('\n')}\n`;

describe('TerminalLines', () => {
  it('applies carriage returns, backspaces and cursor moves like a terminal, across split sequences', () => {
    const lines = new TerminalLines();
    for (const part of ['ab\x1b[', '1mc\x1b', '[0m\r\n', ' --More-- ', '\b\b\b\b\b\b\b\b\b\b', '          \b\b\b\b\b\b\b\b\b\bline2\r\n', 'x\x1b[16D    \x1b[16Dline3\r\n', 'tail']) {
      lines.feed(part);
    }
    expect(lines.takeLines()).toEqual(['abc', 'line2', 'line3']);
    expect(lines.current).toBe('tail');
  });
});

interface VendorCase {
  readonly vendor: FakeVendor;
  readonly profile: string;
  readonly hostname: string;
  readonly prompt: string;
  readonly show: string;
  readonly bad: string;
  readonly failure: RegExp;
  readonly configEnter: string;
  readonly configCommand: string;
  readonly configPrompt: string;
  readonly configExit: string;
  /** Told apart without device_type (by prompt or version output). Default true. */
  readonly detect?: boolean;
  /** Its pager is one the engine answers (not `less`'s `:`). Default true. */
  readonly pager?: boolean;
}

const CASES: readonly VendorCase[] = [
  { vendor: 'cisco_ios', profile: 'cisco_ios', hostname: 'core-rtr1', prompt: 'core-rtr1#', show: 'show running-config', bad: 'show bogus', failure: /% Invalid input/, configEnter: 'configure terminal', configCommand: 'interface Gi0/1', configPrompt: 'core-rtr1(config-if)#', configExit: 'end' },
  { vendor: 'cisco_nxos', profile: 'cisco_nxos', hostname: 'nx9k', prompt: 'nx9k#', show: 'show running-config', bad: 'show bogus', failure: /% Invalid command/, configEnter: 'configure terminal', configCommand: 'interface Eth1/1', configPrompt: 'nx9k(config-if)#', configExit: 'end' },
  { vendor: 'cisco_asa', profile: 'cisco_asa', hostname: 'fw1', prompt: 'fw1#', show: 'show running-config', bad: 'show bogus', failure: /ERROR: % Invalid input/, configEnter: 'configure terminal', configCommand: 'interface Gi0/1', configPrompt: 'fw1(config-if)#', configExit: 'end' },
  { vendor: 'arista_eos', profile: 'arista_eos', hostname: 'leaf1', prompt: 'leaf1#', show: 'show running-config', bad: 'show bogus', failure: /% Invalid input/, configEnter: 'configure terminal', configCommand: 'interface Ethernet1', configPrompt: 'leaf1(config-if-Et1)#', configExit: 'end' },
  { vendor: 'juniper_junos', profile: 'juniper_junos', hostname: 'mx1', prompt: 'admin@mx1>', show: 'show configuration', bad: 'show bogus', failure: /syntax error/, configEnter: 'configure', configCommand: 'set system ntp server 10.0.0.1', configPrompt: 'admin@mx1#', configExit: 'rollback 0\nexit configuration-mode' },
  { vendor: 'mikrotik_routeros', profile: 'mikrotik_routeros', hostname: 'MikroTik', prompt: '[admin@MikroTik] >', show: '/export', bad: '/bogus print', failure: /bad command name/, configEnter: '', configCommand: '', configPrompt: '', configExit: '' },
  { vendor: 'huawei', profile: 'huawei', hostname: 'HUAWEI', prompt: '<HUAWEI>', show: 'display current-configuration', bad: 'display bogus', failure: /Error: Unrecognized command/, configEnter: 'system-view', configCommand: 'interface GigabitEthernet0/0/1', configPrompt: '[HUAWEI-GigabitEthernet0/0/1]', configExit: 'return' },
  { vendor: 'ruckus_fastiron', profile: 'ruckus_fastiron', hostname: 'icx1', prompt: 'SSH@icx1#', show: 'show running-config', bad: 'show bogus', failure: /Invalid input -> bogus/, configEnter: 'configure terminal', configCommand: 'interface ethernet 1/1/1', configPrompt: 'SSH@icx1(config-if-e1000-1/1/1)#', configExit: 'end' },
  { vendor: 'hp_comware', profile: 'hp_comware', hostname: 'H3C', prompt: '<H3C>', show: 'display current-configuration', bad: 'display bogus', failure: /% Unrecognized command/, configEnter: 'system-view', configCommand: 'interface GigabitEthernet0/0/1', configPrompt: '[H3C-GigabitEthernet0/0/1]', configExit: 'return' },
  { vendor: 'cisco_xr', profile: 'cisco_xr', hostname: 'edge1', prompt: 'RP/0/RP0/CPU0:edge1#', show: 'show running-config', bad: 'show bogus', failure: /% Invalid input/, configEnter: 'configure terminal', configCommand: 'interface Gi0/0/0/1', configPrompt: 'RP/0/RP0/CPU0:edge1(config-if)#', configExit: 'abort' },
  { vendor: 'vyos', profile: 'vyos', hostname: 'edge', prompt: 'admin@edge:~$', show: 'show configuration commands', bad: 'bogus', failure: /Invalid command: \[bogus\]/, configEnter: 'configure', configCommand: 'set system ntp server 10.0.0.1', configPrompt: 'admin@edge#', configExit: 'discard\nexit', detect: false, pager: false },
  { vendor: 'dell_os10', profile: 'dell_os10', hostname: 'OS10', prompt: 'OS10#', show: 'show running-configuration', bad: 'show bogus', failure: /% Error: Unrecognized command/, configEnter: 'configure terminal', configCommand: 'interface ethernet1/1/1', configPrompt: 'OS10(conf-if-eth1/1/1)#', configExit: 'end' },
  { vendor: 'fortinet', profile: 'fortinet', hostname: 'FGT60E', prompt: 'FGT60E #', show: 'show', bad: 'bogus', failure: /command parse error before 'bogus'/, configEnter: 'config system interface', configCommand: 'edit port1', configPrompt: 'FGT60E (port1) #', configExit: 'abort' },
  { vendor: 'paloalto_panos', profile: 'paloalto_panos', hostname: 'PA-VM', prompt: 'admin@PA-VM>', show: 'show config running', bad: 'show bogus', failure: /Invalid syntax/, configEnter: 'configure', configCommand: 'set deviceconfig system hostname-alias fw', configPrompt: 'admin@PA-VM#', configExit: 'revert config\nexit', pager: false, detect: false },
];

describe.each(CASES)('DeviceSession on a fake $vendor', (c) => {
  it('learns the prompt, turns paging off, and returns exact output with a null exit code', async () => {
    const log: string[] = [];
    const session = await device({ vendor: c.vendor, hostname: c.hostname, log }, { deviceType: c.profile });
    expect(session.info).toMatchObject({ profile: c.profile, prompt: c.prompt });
    expect(log).toEqual(expect.arrayContaining([...deviceProfile(c.profile).preparation]));
    const result = await session.run(c.show, { timeoutMs: 10_000 });
    expect(result).toMatchObject({ output: config(c.hostname), exitCode: null, failure: undefined, prompt: c.prompt });
  });

  it.skipIf(c.pager === false)('answers the vendor pager when paging stays on, and removes it and its repaint from the output', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname, ignorePagingOff: true }, { deviceType: c.profile });
    const result = await session.run(c.show, { timeoutMs: 10_000 });
    expect(result.output).toBe(config(c.hostname));
  });

  it.skipIf(c.detect === false)('detects the vendor from the prompt and the version output', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname });
    expect(session.info.profile).toBe(c.profile);
    await expect(session.run(c.show, { timeoutMs: 10_000 })).resolves.toMatchObject({ output: config(c.hostname) });
  });

  it('marks a failure indicator as a failed result; the session stays usable', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname }, { deviceType: c.profile });
    const bad = await session.run(c.bad, { timeoutMs: 10_000 });
    expect(bad.exitCode).toBeNull();
    expect(bad.failure).toMatch(c.failure);
    const good = await session.run(c.show, { timeoutMs: 10_000 });
    expect(good.failure).toBeUndefined();
  });

  it.skipIf(c.configEnter === '')('completes commands in config mode and reports the mode', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname }, { deviceType: c.profile });
    await session.run(c.configEnter, { timeoutMs: 10_000 });
    expect(session.info.mode).toBe('config');
    const inConfig = await session.run(c.configCommand, { timeoutMs: 10_000 });
    expect(inConfig).toMatchObject({ output: '', prompt: c.configPrompt, mode: 'config' });
    await session.run(c.configExit, { timeoutMs: 10_000 });
    expect(session.info.prompt).toBe(c.prompt);
  });
});

describe('DeviceSession enable mode (Cisco-like)', () => {
  it('enters enable mode with the secret at open and shows it in info', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'r1', enableSecret: 's3cret' }, { deviceType: 'cisco_ios', enablePassword: 's3cret' });
    expect(session.info).toMatchObject({ prompt: 'r1#', mode: 'privileged', enabled: true });
    await expect(session.run('show running-config', { timeoutMs: 10_000 })).resolves.toMatchObject({ output: config('r1') });
  });

  it('accepts an empty enable secret (an empty line)', async () => {
    const session = await device({ vendor: 'arista_eos', hostname: 'leaf2', enableSecret: '' }, { deviceType: 'arista_eos', enablePassword: '' });
    expect(session.info.enabled).toBe(true);
  });

  it('fails a wrong secret with ENABLE_FAILED, leaving the session usable in user mode', async () => {
    const log: string[] = [];
    const host = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'r2', enableSecret: 'right', log }) });
    hosts.push(host);
    const connection = await SshConnection.connect(fakeLogin(host.address));
    connections.push(connection);
    const failed = DeviceSession.open(connection, { deviceType: 'cisco_ios', enablePassword: 'wrong' });
    await expect(failed).rejects.toMatchObject({ code: 'ENABLE_FAILED' });
    const plain = await DeviceSession.open(connection, { deviceType: 'cisco_ios' });
    sessions.push(plain);
    expect(plain.info).toMatchObject({ mode: 'user', enabled: false });
    await expect(plain.enable('wrong')).rejects.toMatchObject({ code: 'ENABLE_FAILED', message: expect.not.stringContaining('wrong') as unknown });
    await expect(plain.run('show clock', { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENABLE_FAILED' });
    await plain.enable('right');
    expect(plain.info.enabled).toBe(true);
  });

  it.each(['huawei', 'hp_comware'] as const)('%s: `super` with the secret raises the level the `<name>` prompt cannot show; a wrong one is ENABLE_FAILED', async (vendor) => {
    const session = await device({ vendor, hostname: 'vrp1', enableSecret: 'sup3r' }, { deviceType: vendor, enablePassword: 'sup3r' });
    expect(session.info).toMatchObject({ prompt: '<vrp1>', mode: 'privileged', enabled: true });
    await session.run('system-view', { timeoutMs: 5_000 });
    await session.run('return', { timeoutMs: 5_000 });
    expect(session.info).toMatchObject({ prompt: '<vrp1>', mode: 'privileged' });
    await expect(device({ vendor, hostname: 'vrp2', enableSecret: 'sup3r' }, { deviceType: vendor, enablePassword: 'wrong' })).rejects.toMatchObject({
      code: 'ENABLE_FAILED',
      message: expect.stringContaining('Error: Password is wrong.') as unknown,
    });
  });

  it.each(['huawei', 'hp_comware'] as const)('%s: a `super` that switches without asking (the login is level 15 already) counts as done', async (vendor) => {
    const log: string[] = [];
    const session = await device({ vendor, hostname: 'vrp3', superWithoutPassword: true, log }, { deviceType: vendor, enablePassword: 'unused' });
    expect(session.info).toMatchObject({ mode: 'privileged', enabled: true });
    await session.run('display clock', { timeoutMs: 5_000 });
    expect(log.filter((line) => line === 'super')).toHaveLength(1);
  });

  it('re-enables a session that dropped back to user mode before the next command', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'r3', enableSecret: 'pw' }, { deviceType: 'cisco_ios', enablePassword: 'pw' });
    await session.run('disable', { timeoutMs: 5_000 });
    expect(session.info.mode).toBe('user');
    const result = await session.run('show running-config', { timeoutMs: 10_000 });
    expect(result).toMatchObject({ output: config('r3'), prompt: 'r3#', mode: 'privileged' });
  });
});

describe('DeviceSession behaviour', () => {
  it('keeps up with a renamed device: the new prompt completes the command', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'old-name' }, { deviceType: 'cisco_ios' });
    await session.run('configure terminal', { timeoutMs: 5_000 });
    const renamed = await session.run('hostname new-name', { timeoutMs: 5_000 });
    expect(renamed.prompt).toBe('new-name(config)#');
    await session.run('end', { timeoutMs: 5_000 });
    expect(session.info).toMatchObject({ prompt: 'new-name#', basePrompt: 'new-name' });
  });

  it('runs several lines as one command, each up to its prompt', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'r4' }, { deviceType: 'cisco_ios' });
    const result = await session.run('configure terminal\ninterface Gi0/2\ndescription uplink\nend', { timeoutMs: 10_000 });
    expect(result).toMatchObject({ output: 'Enter configuration commands, one per line.  End with CNTL/Z.\n', prompt: 'r4#', failure: undefined });
  });

  it('interrupts a running ping with Ctrl+C; the next command runs at once', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'r5' }, { deviceType: 'cisco_ios' });
    const ping = session.start('ping 10.0.0.1');
    await new Promise<void>((resolve) => {
      const stop = ping.subscribe((event) => {
        if (event.type === 'output' && event.text.startsWith('reply 2')) {
          stop();
          resolve();
        }
      });
    });
    await expect(ping.interrupt()).resolves.toBe('interrupted');
    const result = await ping.done;
    expect(result.output).toMatch(/^Type escape sequence to abort\.\nreply 1 from 10\.0\.0\.1\nreply 2/);
    await expect(session.run('show clock', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: '*10:00:00.000 UTC Wed Nov 25 2026\n' });
  });

  it('reports a question as awaiting input, and completes when it is answered', async () => {
    const session = await device({ vendor: 'cisco_ios', hostname: 'r6' }, { deviceType: 'cisco_ios' });
    const copy = session.start('copy running-config startup-config');
    await new Promise<void>((resolve) => {
      copy.subscribe((event) => {
        if (event.type === 'awaiting-input' && event.prompt) resolve();
      });
    });
    expect(copy.awaitingInput).toBe('Destination filename [startup-config]?');
    copy.write('\n');
    await expect(copy.done).resolves.toMatchObject({ output: 'Destination filename [startup-config]? \nBuilding configuration...\n[OK]\n', prompt: 'r6#' });
  });

  it('answers the MikroTik license question at login; the login name carries the terminal options', async () => {
    expect(loginUsername('admin', mikrotikRouteros)).toBe('admin+ct511w4098h');
    expect(loginUsername('admin+c', mikrotikRouteros)).toBe('admin+c');
    const session = await device({ vendor: 'mikrotik_routeros', hostname: 'MikroTik', licenseQuestion: true });
    expect(session.info).toMatchObject({ profile: 'mikrotik_routeros', prompt: '[admin@MikroTik] >' });
    await expect(session.run('/interface print', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: expect.stringContaining('0 R ether1  ether  1500\n') as unknown });
  });

  it('refuses a prompt that is not the given profile\'s, and an unknown device_type', async () => {
    await expect(device({ vendor: 'huawei', hostname: 'HW' }, { deviceType: 'juniper_junos' })).rejects.toMatchObject({ code: 'PROMPT_NOT_FOUND', message: expect.stringContaining('check device_type') as unknown });
    expect(() => deviceProfile('cisco_iosxyz')).toThrow(/unknown device_type "cisco_iosxyz"; known: cisco_xr, mikrotik_routeros/);
  });

  it('works on devices that refuse exec channels, with prompts split into 1-11 byte packets', async () => {
    // FakeHost refuses exec without onExec and splits every write (DEFAULT_SPLIT): the whole suite runs so.
    const session = await device({ vendor: 'juniper_junos', hostname: 'edge' });
    await expect(session.run('show version', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: expect.stringContaining('Junos: 22.4R2.8\n') as unknown });
  });
});

describe('DeviceSession.configure', () => {
  const change = ['interface Gi0/1', 'description uplink', 'ip address 999.1.1.1 255.255.255.0', 'no shutdown', 'exit'];

  it('stops at the failing third of five lines (4 and 5 never sent), leaves config mode; fixed, applies and saves through [confirm]', async () => {
    const log: string[] = [];
    const session = await device({ vendor: 'cisco_ios', hostname: 'sw1', rejectConfig: /^ip address 999\./, saveConfirm: true, log });
    const failed = await session.configure(change, { save: true });
    expect(failed).toMatchObject({ ok: false, applied: false, saved: false, mode: 'privileged', notSent: ['no shutdown', 'exit'] });
    expect(failed.lines.map((line) => [line.line, line.ok])).toEqual([
      ['interface Gi0/1', true],
      ['description uplink', true],
      ['ip address 999.1.1.1 255.255.255.0', false],
    ]);
    expect(failed.lines[2]?.failure).toBe("% Invalid input detected at '^' marker.");
    expect(failed.summary).toMatch(/line 3 of 5 failed; the lines before it are applied .* the 2 after it were not sent/);
    expect(log).not.toContain('no shutdown');
    expect(log).not.toContain('copy running-config startup-config');

    const fixed = await session.configure(change.map((line) => line.replace('999.', '10.')), { save: true });
    expect(fixed).toMatchObject({ ok: true, applied: true, saved: true, notSent: [], mode: 'privileged' });
    expect(fixed.steps.map((step) => step.command)).toEqual(['copy running-config startup-config']);
    expect((await session.run('show startup-config')).output).toContain('ip address 10.1.1.1 255.255.255.0');
    // A device without a candidate: commit and dry run are refused before anything is sent.
    await expect(session.configure(['logging host 10.0.0.9'], { commit: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('on a candidate config: checks and commits, shows a dry run, discards a failing commit, and a confirmed commit rolls back unless confirmed', async () => {
    const session = await device({ vendor: 'juniper_junos', hostname: 'mx1', commitFails: /no-such-peer/, minuteMs: 150 });
    const committed = await session.configure(['set system ntp server 10.0.0.1', 'set system syslog host 10.0.0.2 any any'], { commit: true });
    expect(committed).toMatchObject({ ok: true, applied: true, confirmBy: null, mode: 'privileged', summary: 'committed' });
    expect(committed.steps.map((step) => [step.command, step.ok])).toEqual([
      ['commit check', true],
      ['commit', true],
    ]);
    expect((await session.run('show configuration')).output).toContain('set system ntp server 10.0.0.1');

    const dry = await session.configure(['set system ntp server 10.0.0.3'], { dryRun: true });
    expect(dry).toMatchObject({ applied: false, compare: '[edit]\n+  system ntp server 10.0.0.3\n' });
    expect((await session.run('show configuration')).output).not.toContain('10.0.0.3');

    const refused = await session.configure(['set protocols bgp group x neighbor no-such-peer'], { commit: true });
    expect(refused).toMatchObject({ ok: false, applied: false, mode: 'privileged' });
    expect(refused.steps.map((step) => [step.command, step.ok])).toEqual([
      ['commit check', false],
      ['rollback 0', true],
    ]);
    expect(refused.steps[0]?.failure).toBe('error: mandatory statement missing');
    expect(refused.steps[0]?.output).toContain('error: configuration check-out failed');

    // Not confirmed: the device goes back by itself.
    const unconfirmed = await session.configure(['set system host-name-alias edge'], { commit: true, commitConfirmedMinutes: 1 });
    expect(unconfirmed).toMatchObject({ applied: true, confirmBy: 1 });
    expect(unconfirmed.steps.map((step) => step.command)).toEqual(['commit check', 'commit confirmed 1']);
    expect((await session.run('show configuration')).output).toContain('host-name-alias edge');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await session.run('show configuration')).output).not.toContain('host-name-alias edge');
    // Confirmed in time: it stays.
    await session.configure(['set system host-name-alias core'], { commit: true, commitConfirmedMinutes: 1 });
    await expect(session.confirmCommit()).resolves.toMatchObject({ command: 'commit', ok: true });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await session.run('show configuration')).output).toContain('host-name-alias core');
  });

  it('discards the candidate (and says so) when neither commit nor dry run was asked; a failing line discards too', async () => {
    const session = await device({ vendor: 'juniper_junos', hostname: 'mx2', rejectConfig: /bogus/ });
    const left = await session.configure(['set system ntp server 10.9.9.9']);
    expect(left).toMatchObject({ ok: false, applied: false, summary: expect.stringContaining('pass commit') as unknown });
    expect(left.steps.map((step) => step.command)).toEqual(['rollback 0']);
    const bad = await session.configure(['set system ntp server 10.9.9.8', 'set bogus', 'set system ntp server 10.9.9.7'], { commit: true });
    expect(bad).toMatchObject({ ok: false, applied: false, notSent: ['set system ntp server 10.9.9.7'] });
    expect(bad.steps.map((step) => step.command)).toEqual(['rollback 0']);
    expect((await session.run('show configuration')).output).not.toContain('10.9.9');
  });
});

interface CandidateCase {
  readonly vendor: FakeVendor;
  readonly hostname: string;
  readonly show: string;
  /** A change of two lines, and the line of it the running configuration then shows. */
  readonly change: (value: string) => string[];
  readonly shown: (value: string) => string;
  readonly commit: readonly string[];
  readonly failed: readonly (readonly [string, boolean])[];
  readonly confirmed?: RegExp;
  readonly confirm?: RegExp;
  readonly compare?: string;
}

const CANDIDATE_CASES: readonly CandidateCase[] = [
  {
    vendor: 'cisco_xr',
    hostname: 'edge1',
    show: 'show running-config',
    change: (value) => ['interface Gi0/0/0/1', `description ${value}`, 'exit'],
    shown: (value) => `description ${value}`,
    commit: ['commit'],
    failed: [['commit', false], ['abort', true]],
    confirmed: /^commit confirmed minutes 1$/,
    confirm: /^commit$/,
    compare: 'show commit changes diff',
  },
  {
    vendor: 'arista_eos',
    hostname: 'leaf1',
    show: 'show running-config',
    change: (value) => ['interface Ethernet1', `description ${value}`],
    shown: (value) => `description ${value}`,
    commit: ['commit'],
    failed: [['commit', false], ['abort', true]],
    confirmed: /^commit timer 00:01:00$/,
    confirm: /^configure session mcp-\w+ commit$/,
    compare: 'show session-config diffs',
  },
  {
    vendor: 'vyos',
    hostname: 'edge',
    show: 'show configuration commands',
    change: (value) => [`set system ntp server ${value}`, `set service ntp allow-client address ${value}`],
    shown: (value) => `set system ntp server ${value}`,
    commit: ['commit'],
    failed: [['commit', false], ['discard', true]],
    confirmed: /^commit-confirm 1$/,
    confirm: /^confirm$/,
    compare: 'compare',
  },
  {
    vendor: 'paloalto_panos',
    hostname: 'PA-VM',
    show: 'show config running',
    change: (value) => [`set deviceconfig system ntp-servers primary-ntp-server ntp-server-address ${value}`, 'set deviceconfig system timezone UTC'],
    shown: (value) => `ntp-server-address ${value}`,
    commit: ['validate full', 'commit'],
    failed: [['validate full', false], ['revert config', true]],
  },
];

describe.each(CANDIDATE_CASES)('DeviceSession.configure on a fake $vendor candidate', (c) => {
  it('commits, and a failing commit is discarded so nothing applies', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname, commitFails: /broken/ }, { deviceType: c.vendor });
    const committed = await session.configure(c.change('10.0.0.1'), { commit: true });
    expect(committed).toMatchObject({ ok: true, applied: true, mode: 'privileged', summary: 'committed' });
    expect(committed.steps.map((step) => step.command)).toEqual(c.commit);
    expect((await session.run(c.show)).output).toContain(c.shown('10.0.0.1'));

    const refused = await session.configure(c.change('broken'), { commit: true });
    expect(refused).toMatchObject({ ok: false, applied: false, mode: 'privileged' });
    expect(refused.steps.map((step) => [step.command, step.ok])).toEqual(c.failed);
    expect(refused.summary).toMatch(/failed; the candidate was discarded/);
    expect((await session.run(c.show)).output).not.toContain('broken');
    // Still a clean candidate: the next change commits alone.
    await expect(session.configure(c.change('10.0.0.2'), { commit: true })).resolves.toMatchObject({ ok: true, applied: true });
  });

  it.skipIf(c.compare === undefined)('shows a dry run against the running configuration and applies nothing', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname }, { deviceType: c.vendor });
    const dry = await session.configure(c.change('10.0.0.3'), { dryRun: true });
    expect(dry).toMatchObject({ ok: true, applied: false, mode: 'privileged' });
    expect(dry.steps[0]?.command).toBe(c.compare);
    expect(dry.compare).toContain(`+  ${c.shown('10.0.0.3').replace(/^set /, '')}`);
    expect((await session.run(c.show)).output).not.toContain('10.0.0.3');
  });

  it.skipIf(c.confirmed === undefined)('a confirmed commit rolls back unless confirmed in time', async () => {
    const session = await device({ vendor: c.vendor, hostname: c.hostname, minuteMs: 150 }, { deviceType: c.vendor });
    const unconfirmed = await session.configure(c.change('10.0.0.4'), { commit: true, commitConfirmedMinutes: 1 });
    expect(unconfirmed).toMatchObject({ ok: true, applied: true, confirmBy: 1, mode: 'privileged' });
    expect(unconfirmed.steps.at(-1)?.command).toMatch(c.confirmed as RegExp);
    expect((await session.run(c.show)).output).toContain(c.shown('10.0.0.4'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await session.run(c.show)).output).not.toContain('10.0.0.4');

    await session.configure(c.change('10.0.0.5'), { commit: true, commitConfirmedMinutes: 1 });
    await expect(session.confirmCommit()).resolves.toMatchObject({ command: expect.stringMatching(c.confirm as RegExp) as unknown, ok: true });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await session.run(c.show)).output).toContain(c.shown('10.0.0.5'));
    expect(session.info.mode).toBe('privileged');
  });
});

describe('DeviceSession.configure, vendor specifics', () => {
  it('Arista: without commit the lines apply at once in configure terminal (no session); a session only for commit or dry run', async () => {
    const log: string[] = [];
    const session = await device({ vendor: 'arista_eos', hostname: 'leaf3', log }, { deviceType: 'arista_eos' });
    const plain = await session.configure(['interface Ethernet1', 'description direct']);
    expect(plain).toMatchObject({ ok: true, applied: true, steps: [], summary: 'applied' });
    expect(log).toContain('configure terminal');
    expect(log.some((line) => line.startsWith('configure session'))).toBe(false);
    await session.configure(['interface Ethernet1', 'description staged'], { commit: true });
    expect(log.filter((line) => /^configure session mcp-\w+$/.test(line))).toHaveLength(1);
    // Confirming with no timer set in this session is refused before anything is sent.
    await expect(session.confirmCommit()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('VyOS: answers commit-confirm\'s question, and saves in config mode', async () => {
    const log: string[] = [];
    const session = await device({ vendor: 'vyos', hostname: 'edge', log }, { deviceType: 'vyos' });
    const result = await session.configure(['set system ntp server 10.1.1.1'], { commit: true, commitConfirmedMinutes: 5, save: true });
    expect(result).toMatchObject({ ok: true, applied: true, saved: true, confirmBy: 5 });
    expect(result.steps.map((step) => step.command)).toEqual(['commit-confirm 5', 'save']);
    // Printed only once `Proceed? [confirm]` was answered yes.
    expect(result.steps[0]?.output).toContain('Initialized commit-confirm; 5 minutes to confirm');
    expect(log.slice(log.indexOf('commit-confirm 5'))).toEqual(['commit-confirm 5', 'save', 'exit']);
  });

  it('FortiOS: config blocks apply at end; a failing set aborts the open blocks and leaves the CLI at its top', async () => {
    const log: string[] = [];
    const session = await device({ vendor: 'fortinet', hostname: 'FGT60E', rejectConfig: /alias bad/, log }, { deviceType: 'fortinet' });
    const ok = await session.configure(['config system interface', 'edit port1', 'set alias uplink', 'next', 'end']);
    expect(ok).toMatchObject({ ok: true, applied: true, mode: 'privileged', prompt: 'FGT60E #' });
    expect((await session.run('show')).output).toContain('config interface / edit port1: set alias uplink');

    const bad = await session.configure(['config system interface', 'edit port2', 'set alias bad', 'set status down', 'next', 'end']);
    expect(bad).toMatchObject({ ok: false, applied: false, mode: 'privileged', notSent: ['set status down', 'next', 'end'] });
    expect(bad.lines.at(-1)?.failure).toMatch(/value parse error/);
    expect(log.slice(-2)).toEqual(['set alias bad', 'abort']);
    expect((await session.run('show')).output).not.toContain('port2');
  });
});

describe('device profile prompt patterns', () => {
  it.each([
    ['cisco_xr', 'RP/0/RP0/CPU0:edge1#', 'RP/0/RP0/CPU0:edge1(config-if)#', 'RP/0/RP0/CPU0:edge1'],
    ['vyos', 'vyos@edge:~$ ', 'vyos@edge# ', 'vyos@edge'],
    ['dell_os10', 'OS10#', 'OS10(config)#', 'OS10'],
    ['dell_force10', 'ftos1>', 'ftos1(conf)#', 'ftos1'],
    ['fortinet', 'FGT60E # ', 'FGT60E (interface) # ', 'FGT60E'],
    ['paloalto_panos', 'admin@PA-VM> ', 'admin@PA-VM# ', 'admin@PA-VM'],
  ])('%s: learns the base from %j and matches its config prompt %j', (name, login, config, base) => {
    const profile = deviceProfile(name);
    expect(profile.basePrompt.exec(login.trim())?.[1]).toBe(base);
    const prompt = promptPattern(profile, base);
    expect(prompt.test(login)).toBe(true);
    expect(prompt.test(config)).toBe(true);
    expect(modeOf(profile, config.trim())).toBe('config');
    // Output that merely contains the base is no prompt.
    expect(prompt.test(`${base} uptime is 3 weeks`)).toBe(false);
  });
});
