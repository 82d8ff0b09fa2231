// The server driving a network device: an in-process fake Cisco (FakeHost + fakeDevice) reached by
// the built bin over stdio with device_type, enable_password and a password login.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHost, fakeConfigLines, fakeDevice } from 'test-utils';
import { startServer, text, type E2eServer } from './helpers';

describe('mcp-ssh-server on a network device', () => {
  let host: FakeHost;
  let host2: FakeHost;
  let server: E2eServer;
  const enableSecret = 'en-secret-7Qx';
  let args: Record<string, unknown>;

  beforeAll(async () => {
    host = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'edge-rtr', enableSecret }) });
    host2 = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'edge2-rtr', enableSecret }) });
    const home = mkdtempSync(join(tmpdir(), 'mcp-device-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'config'), 'Host *\n  StrictHostKeyChecking yes\n');
    appendFileSync(join(home, '.ssh', 'known_hosts'), `[${host.address.host}]:${host.address.port} ${host.address.hostPublicKey}\n[${host2.address.host}]:${host2.address.port} ${host2.address.hostPublicKey}\n`);
    server = await startServer(undefined, { home, env: { OVRD_edge_HOST: host.address.host, OVRD_edge_PORT: String(host.address.port), OVRD_edge_USER: host.address.username, OVRD_edge_PASS: host.address.password, OVRD_edge_DEVICE_TYPE: 'cisco_ios', OVRD_edge_ENABLE_PASS: enableSecret, OVRD_edge2_HOST: host2.address.host, OVRD_edge2_PORT: String(host2.address.port), OVRD_edge2_USER: host2.address.username, OVRD_edge2_PASS: host2.address.password } });
    args = { host: host.address.host, port: host.address.port, username: host.address.username, password: host.address.password, device_type: 'cisco_ios', enable_password: enableSecret };
  });
  afterAll(async () => {
    await server?.close();
    await host?.close();
    await host2?.close();
  });

  it('runs a show command in enable mode: exact output, exit status none', async () => {
    const result = await server.call('execute_command', { ...args, command: 'show running-config' });
    expect(text(result)).toBe(`Exit Status: none (network device)\n\nSTDOUT:\n${fakeConfigLines('edge-rtr').join('\n')}\n`);
    expect(result.structuredContent).toMatchObject({ status: 'completed', exit_code: null, error: null });
  });

  it('refuses pipe_output on a device with INVALID_ARGUMENT', async () => {
    const piped = await server.call('execute_command', { ...args, command: 'show clock', pipe_output: true });
    expect(piped.isError).toBe(true);
    expect(text(piped)).toMatch(/^Error INVALID_ARGUMENT: .*network device.*leave pipe_output out/);
  });

  it('marks a failure indicator as a failed command; the session stays usable', async () => {
    const bad = await server.call('execute_command', { ...args, command: 'show bogus' });
    expect(bad.structuredContent).toMatchObject({ status: 'failed', exit_code: null, error: { code: 'COMMAND_FAILED', message: "% Invalid input detected at '^' marker." } });
    const clock = await server.call('execute_command', { ...args, command: 'show clock' });
    expect(clock.structuredContent).toMatchObject({ status: 'completed', output: '*10:00:00.000 UTC Wed Nov 25 2026\n' });
  });

  it('answers a device question through send_input; read_screen says it is a device', async () => {
    const copy = await server.call('execute_command', { ...args, command: 'copy running-config startup-config', timeout: 10 });
    expect(copy.structuredContent).toMatchObject({ status: 'awaiting_input', awaiting_input: 'Destination filename [startup-config]?' });
    const answered = await server.call('send_input', { command_id: copy.structuredContent?.command_id, input_text: '\\n' });
    expect(answered.structuredContent).toMatchObject({ status: 'completed', output: expect.stringContaining('[OK]') as unknown });
    expect(text(await server.call('read_screen', args))).toMatch(/^Error INVALID_ARGUMENT: this host is a network device/);
  });

  it('reaches a device by an alias made of OVRD_* variables alone, and lists it with its mode', async () => {
    const viaEnv = await server.call('execute_command', { host: 'edge', command: 'show clock' });
    expect(viaEnv.structuredContent).toMatchObject({ status: 'completed' });
    const sessions = await server.call('list_sessions');
    expect(sessions.structuredContent?.sessions).toEqual([
      expect.objectContaining({ login_shell: 'device:cisco_ios', device: { profile: 'cisco_ios', prompt: 'edge-rtr#', mode: 'privileged', enabled: true } }),
    ]);
  });

  it('runs one command on several devices: device_type for hosts that do not carry one; no exit status counts as success', async () => {
    // edge carries OVRD_edge_DEVICE_TYPE; edge2 only a login, so it needs the call's device_type.
    const both = await server.call('execute_command_on_hosts', { hosts: ['edge', 'edge2'], command: 'show clock', device_type: 'cisco_ios', enable_password: enableSecret });
    expect(both.structuredContent, text(both)).toMatchObject({
      succeeded: 2,
      failed: 0,
      results: [
        expect.objectContaining({ host: 'edge', status: 'completed', exit_code: null, output: '*10:00:00.000 UTC Wed Nov 25 2026\n' }),
        expect.objectContaining({ host: 'edge2', status: 'completed', exit_code: null, output: '*10:00:00.000 UTC Wed Nov 25 2026\n' }),
      ],
    });
    expect(text(both)).toContain('=== edge2: Exit Status: none (network device)\n*10:00:00.000 UTC Wed Nov 25 2026');
    // A host's own OVRD_edge_DEVICE_TYPE and _ENABLE_PASS win over the call's (edge reopens here).
    await server.call('close_session', { host: 'edge' });
    const failing = await server.call('execute_command_on_hosts', { hosts: ['edge', 'edge2'], command: 'show bogus', device_type: 'arista_eos', enable_password: 'not-the-secret' });
    const vendorError = expect.objectContaining({ status: 'failed', error: expect.objectContaining({ code: 'COMMAND_FAILED' }) as unknown });
    expect(failing.structuredContent).toMatchObject({ succeeded: 0, failed: 2, results: [vendorError, vendorError] });
    expect(text(failing)).toContain("=== edge: failed (command_id");
    expect(text(failing)).toContain("COMMAND_FAILED: % Invalid input detected at '^' marker.");
    const sessions = (await server.call('list_sessions')).structuredContent?.sessions as { alias: string; device: { profile: string; enabled: boolean } }[];
    expect(sessions.find((session) => session.alias === 'edge')?.device).toMatchObject({ profile: 'cisco_ios', enabled: true });
  });

  it('refuses an unknown device_type before connecting', async () => {
    const result = await server.call('execute_command', { ...args, device_type: 'cisco_bogus', command: 'show clock' });
    expect(text(result)).toMatch(/^Error INVALID_ARGUMENT: unknown device_type "cisco_bogus"/);
  });

  it('never shows the login password or the enable secret', () => {
    const all = server.results.join('\n') + server.transport.stderr.join('');
    expect(all).not.toContain(enableSecret);
    expect(all).not.toContain(host.address.password);
    expect(server.transport.badLines).toEqual([]);
  });
});
