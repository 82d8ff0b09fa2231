// The reference's calls to network devices, without device_type: the built bin over stdio finds
// what it talks to (exec refused, the prompt, show version), keeps enable mode, sends a pasted
// block line by line, leaves confirmation questions to the caller, and says so in its results.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHost, fakeConfigLines, fakeDevice } from 'test-utils';
import { startServer, text, type E2eServer } from './helpers';

describe('mcp-ssh-server on network devices reached without device_type', () => {
  const hosts: FakeHost[] = [];
  let server: E2eServer;
  let home: string;
  const enableSecret = 'en-Detect-4Kp';
  const login = (host: FakeHost): Record<string, unknown> => ({ host: host.address.host, port: host.address.port, username: host.address.username, password: host.address.password });
  let ios: FakeHost;
  let junos: FakeHost;
  let acme: FakeHost;
  const iosLog: string[] = [];

  beforeAll(async () => {
    ios = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'sw-core', enableSecret: '', log: iosLog }) });
    junos = await FakeHost.start({ onShell: fakeDevice({ vendor: 'juniper_junos', hostname: 'mx-edge' }) });
    acme = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'acme7', enableSecret, version: 'ACME Switch OS 3.1\n' }) });
    hosts.push(ios, junos, acme);
    home = mkdtempSync(join(tmpdir(), 'mcp-detect-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    // The reference's default: unknown hosts are added (here, to this HOME's known_hosts).
    writeFileSync(join(home, '.ssh', 'config'), 'Host *\n  StrictHostKeyChecking accept-new\n');
    server = await startServer(undefined, { home });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all(hosts.map((host) => host.close()));
    rmSync(home, { recursive: true, force: true });
  });

  it('runs a privileged show on a Cisco-like switch given only a login and enable_password "", and says what it found', async () => {
    const first = await server.call('execute_command', { ...login(ios), enable_password: '', command: 'show running-config' });
    expect(first.structuredContent, text(first)).toMatchObject({ status: 'completed', exit_code: null, output: `${fakeConfigLines('sw-core').join('\n')}\n` });
    // accept-new recorded the switch's key first; then what the session found.
    expect(first.structuredContent?.notice).toMatch(/^Added host key SHA256:\S+ for \[127\.0\.0\.1\]:\d+ to \S+known_hosts .*\n\ndetected: cisco_ios \(exec refused; prompt "sw-core>"; "show version" names it\)$/);
    expect(text(first)).toContain('detected: cisco_ios');
    const sessions = (await server.call('list_sessions')).structuredContent?.sessions as Record<string, unknown>[];
    expect(sessions.find((session) => String(session.session).endsWith(`:${ios.address.port}`))).toMatchObject({
      login_shell: 'device:cisco_ios',
      device: { profile: 'cisco_ios', prompt: 'sw-core#', mode: 'privileged', enabled: true },
      detection: { kind: 'device', profile: 'cisco_ios', detected: true, evidence: expect.stringContaining('exec refused') as unknown },
    });
  });

  it('keeps enable mode for later calls without enable_password, and re-enables after `disable`', async () => {
    const later = await server.call('execute_command', { ...login(ios), command: 'show running-config' });
    expect(later.structuredContent).toMatchObject({ status: 'completed', output: expect.stringContaining('hostname sw-core') as unknown, notice: null });
    await server.call('execute_command', { ...login(ios), command: 'disable' });
    const again = await server.call('execute_command', { ...login(ios), command: 'show running-config' });
    expect(again.structuredContent).toMatchObject({ status: 'completed', output: expect.stringContaining('hostname sw-core') as unknown });
    expect(iosLog.filter((line) => line === 'enable')).toHaveLength(2);
  });

  it('sends a pasted config block line by line and stops at the first failing line, naming it', async () => {
    iosLog.length = 0;
    const ok = await server.call('execute_command', { ...login(ios), command: 'configure terminal\ninterface Gi0/1\ndescription uplink\nend' });
    expect(ok.structuredContent, text(ok)).toMatchObject({ status: 'completed', error: null, output: 'Enter configuration commands, one per line.  End with CNTL/Z.\n' });
    const bad = await server.call('execute_command', { ...login(ios), command: 'configure terminal\nvlan 10\nname x\nend' });
    expect(bad.structuredContent).toMatchObject({
      status: 'failed',
      exit_code: null,
      error: { code: 'COMMAND_FAILED', message: `% Invalid input detected at '^' marker. (line 2 of 4: "vlan 10"; the 2 lines after it were not sent; the device is still in config mode (sw-core(config)#))` },
    });
    expect(iosLog).not.toContain('name x');
    await server.call('execute_command', { ...login(ios), command: 'end' });
  });

  it('never answers a confirmation itself: awaiting_input with the question, answered by send_input', async () => {
    const asked = await server.call('execute_command', { ...login(ios), command: 'clear counters', timeout: 10 });
    expect(asked.structuredContent).toMatchObject({ status: 'awaiting_input', awaiting_input: 'Clear "show interface" counters on all interfaces [confirm]' });
    const answered = await server.call('send_input', { command_id: asked.structuredContent?.command_id, input_text: '\\r' });
    expect(answered.structuredContent).toMatchObject({ status: 'completed' });
  });

  it('finds a Junos router by its prompt alone, and says an enable_password has no use there', async () => {
    const result = await server.call('execute_command', { ...login(junos), enable_password: 'unused-secret', command: 'show configuration' });
    expect(result.structuredContent).toMatchObject({ status: 'completed', output: `${fakeConfigLines('mx-edge').join('\n')}\n` });
    expect(String(result.structuredContent?.notice).split('\n\n')[1]).toBe(
      'detected: juniper_junos (exec refused; prompt "admin@mx-edge>")\nenable_password not used: juniper_junos has no enable mode (its CLI already has the login\'s rights)',
    );
  });

  it('uses an explicit enable_password on a CLI no profile knows (generic), and fails a wrong one with a code', async () => {
    const wrong = await server.call('execute_command', { ...login(acme), enable_password: 'not-it', command: 'show running-config' });
    expect(text(wrong)).toMatch(/^Error ENABLE_FAILED: enable did not reach privileged mode: the enable secret was refused/);
    const right = await server.call('execute_command', { ...login(acme), enable_password: enableSecret, command: 'show running-config' });
    expect(right.structuredContent, text(right)).toMatchObject({ status: 'completed', output: `${fakeConfigLines('acme7').join('\n')}\n`, notice: expect.stringContaining('detected: generic') as unknown });
  });

  it('says a device refused exec when told it is a Linux host, without the MaxSessions hint', async () => {
    await server.call('close_session', { host: junos.address.host, port: junos.address.port });
    const forced = await server.call('execute_command', { ...login(junos), device_type: 'linux', command: 'uname' });
    expect(text(forced)).toMatch(/^Error CHANNEL_OPEN_FAILED: .* refused to run a command \(exec request\): network devices and restricted accounts/);
    expect(text(forced)).not.toContain('MaxSessions');
  });

  it('never shows the login password or the enable secrets', () => {
    const all = server.results.join('\n') + server.transport.stderr.join('');
    expect(all).not.toContain(enableSecret);
    expect(all).not.toContain('not-it');
    expect(all).not.toContain('unused-secret');
    expect(all).not.toContain(ios.address.password);
    expect(server.transport.badLines).toEqual([]);
  });
});
