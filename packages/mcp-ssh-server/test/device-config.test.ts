// Configuration changes on network devices through the built bin: send_config stopping at a
// rejected line on a Cisco-like switch, fixed, applied, diffed and saved through [confirm]; on a
// Junos-like router a dry run, a commit whose check fails (discarded), and a confirmed commit that
// rolls back unless confirm_commit follows; IOS-XR commit and abort, an Arista config session with a
// commit timer; changes kept by change_id, recorded line by line, and kept across a restart;
// format json on show commands. In-process fakes
// (FakeHost + fakeDevice) model the running config and the candidate.
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHost, fakeDevice } from 'test-utils';
import { startServer, text, type E2eServer } from './helpers';

describe('send_config, confirm_commit, config_diff and format json through the server bin', () => {
  let ios: FakeHost;
  let junos: FakeHost;
  let nxos: FakeHost;
  let xr: FakeHost;
  let eos: FakeHost;
  let server: E2eServer;
  let home: string;
  const iosLog: string[] = [];
  const login = (host: FakeHost, deviceType: string): Record<string, unknown> => ({
    host: host.address.host,
    port: host.address.port,
    username: host.address.username,
    password: host.address.password,
    device_type: deviceType,
  });

  beforeAll(async () => {
    ios = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_ios', hostname: 'sw-access1', rejectConfig: /^ip address 999\./, saveConfirm: true, log: iosLog }) });
    junos = await FakeHost.start({ onShell: fakeDevice({ vendor: 'juniper_junos', hostname: 'mx-core', commitFails: /no-such-peer/, minuteMs: 200 }) });
    nxos = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_nxos', hostname: 'nx1' }) });
    xr = await FakeHost.start({ onShell: fakeDevice({ vendor: 'cisco_xr', hostname: 'pe1', commitFails: /broken/ }) });
    eos = await FakeHost.start({ onShell: fakeDevice({ vendor: 'arista_eos', hostname: 'leaf1', minuteMs: 200 }) });
    home = mkdtempSync(join(tmpdir(), 'mcp-devcfg-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'config'), 'Host *\n  StrictHostKeyChecking yes\n');
    for (const host of [ios, junos, nxos, xr, eos]) appendFileSync(join(home, '.ssh', 'known_hosts'), `[${host.address.host}]:${host.address.port} ${host.address.hostPublicKey}\n`);
    writeFileSync(join(home, 'change.cfg'), 'interface Gi0/2\ndescription from-file\nexit\n');
    // Relative local paths start at the first local root: the test's HOME.
    server = await startServer(undefined, { home, args: ['--local-root', home, '--record-dir', join(home, 'casts'), '--config-snapshots', join(home, 'snapshots')] });
  });
  afterAll(async () => {
    await server?.close();
    for (const host of [ios, junos, nxos, xr, eos]) await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const five = ['interface Gi0/1', 'description uplink-to-core', 'ip address 999.0.0.1 255.255.255.0', 'no shutdown', 'exit'];

  it('stops at the rejected third of five lines (4 and 5 never sent); fixed, applies with a diff, and saves through [confirm]', async () => {
    const failed = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_commands: five, save: true });
    expect(failed.structuredContent, text(failed)).toMatchObject({ ok: false, applied: false, saved: false, not_sent: ['no shutdown', 'exit'], mode: 'privileged' });
    expect((failed.structuredContent?.lines as { line: string; ok: boolean; failure: string | null }[]).map((line) => [line.line, line.ok, line.failure])).toEqual([
      ['interface Gi0/1', true, null],
      ['description uplink-to-core', true, null],
      ['ip address 999.0.0.1 255.255.255.0', false, "% Invalid input detected at '^' marker."],
    ]);
    expect(text(failed)).toMatch(/^NOT OK: line 3 of 5 failed;/);
    expect(text(failed)).toContain('Not sent (2):');
    expect(iosLog).not.toContain('no shutdown');
    // The two accepted lines did change the running config (IOS has no candidate), and the diff says so.
    expect(failed.structuredContent?.diff).toContain('+description uplink-to-core');

    const fixed = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_commands: five.map((line) => line.replace('999.', '10.')), save: true });
    expect(fixed.structuredContent, text(fixed)).toMatchObject({ ok: true, applied: true, saved: true, not_sent: [], summary: 'applied; saved' });
    expect(fixed.structuredContent?.steps).toEqual([{ command: 'copy running-config startup-config', output: expect.stringContaining('[OK]') as unknown, ok: true, failure: null }]);
    expect(fixed.structuredContent?.diff).toMatch(/\+ip address 10\.0\.0\.1 255\.255\.255\.0\n\+no shutdown/);
    const diff = await server.call('config_diff', { host: ios.address.host, port: ios.address.port, username: ios.address.username });
    const hunks = (patch: unknown): string => String(patch).split('\n').slice(2).join('\n');
    expect(diff.structuredContent).toMatchObject({ changed: true });
    expect(hunks(diff.structuredContent?.diff)).toBe(hunks(fixed.structuredContent?.diff));
    const startup = await server.call('execute_command', { ...login(ios, 'cisco_ios'), command: 'show startup-config' });
    expect(startup.structuredContent?.output).toContain('ip address 10.0.0.1 255.255.255.0');
  });

  it('takes lines from a config_file within the local roots; refuses one outside', async () => {
    const applied = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_file: 'change.cfg' });
    expect(applied.structuredContent, text(applied)).toMatchObject({ ok: true, applied: true });
    expect(applied.structuredContent?.diff).toContain('+description from-file');
    const outside = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_file: '/etc/hostname' });
    expect(text(outside)).toMatch(/^Error POLICY_DENIED: .*outside the server's local roots/);
    const both = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_file: 'change.cfg', config_commands: ['x'] });
    expect(text(both)).toMatch(/^Error INVALID_ARGUMENT: give config_commands or config_file/);
    // A device without a candidate has nothing to commit: refused before anything is sent.
    const commit = await server.call('send_config', { ...login(ios, 'cisco_ios'), config_commands: ['logging host 10.9.9.9'], commit: true });
    expect(text(commit)).toMatch(/^Error INVALID_ARGUMENT: cisco_ios applies each line at once/);
  });

  it('on a Junos-like router: dry run, a commit whose check fails is discarded, a confirmed commit rolls back unless confirmed', async () => {
    const mx = login(junos, 'juniper_junos');
    const dry = await server.call('send_config', { ...mx, config_commands: ['set system ntp server 10.1.1.1'], dry_run: true });
    expect(dry.structuredContent, text(dry)).toMatchObject({ applied: false, compare: '[edit]\n+  system ntp server 10.1.1.1\n', diff: '' });

    const refused = await server.call('send_config', { ...mx, config_commands: ['set protocols bgp group core neighbor no-such-peer'], commit: true });
    expect(refused.structuredContent).toMatchObject({ ok: false, applied: false, diff: '' });
    expect((refused.structuredContent?.steps as { command: string; ok: boolean }[]).map((step) => [step.command, step.ok])).toEqual([
      ['commit check', false],
      ['rollback 0', true],
    ]);

    const unconfirmed = await server.call('send_config', { ...mx, config_commands: ['set system ntp server 10.2.2.2'], commit: true, commit_confirmed_minutes: 1 });
    expect(unconfirmed.structuredContent, text(unconfirmed)).toMatchObject({ ok: true, applied: true, confirm_by_minutes: 1 });
    expect(unconfirmed.structuredContent?.diff).toContain('+set system ntp server 10.2.2.2');
    // One fake minute is 200 ms: past it, the device rolled the change back by itself.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const since = await server.call('config_diff', { host: junos.address.host, port: junos.address.port, username: junos.address.username, against: 'since_before' });
    expect(since.structuredContent).toMatchObject({ changed: false, diff: '' });

    const kept = await server.call('send_config', { ...mx, config_commands: ['set system ntp server 10.3.3.3'], commit: true, commit_confirmed_minutes: 1 });
    expect(kept.structuredContent?.applied).toBe(true);
    const confirmed = await server.call('confirm_commit', { ...mx });
    expect(confirmed.structuredContent, text(confirmed)).toMatchObject({ command: 'commit', ok: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stays = await server.call('execute_command', { ...mx, command: 'show configuration' });
    expect(stays.structuredContent?.output).toContain('set system ntp server 10.3.3.3');
  });

  it('format json appends the platform modifier and parses the output; a platform without one is refused', async () => {
    const nx = await server.call('execute_command', { ...login(nxos, 'cisco_nxos'), command: 'show version', format: 'json' });
    expect(nx.structuredContent, text(nx)).toMatchObject({ status: 'completed', command: 'show version | json', parsed: { hostname: 'nx1', uptime: { days: 23 } } });
    const mx = await server.call('execute_command', { ...login(junos, 'juniper_junos'), command: 'show interfaces', format: 'json' });
    expect(mx.structuredContent).toMatchObject({ command: 'show interfaces | display json', parsed: { interfaces: [{ name: 'Ethernet1', up: true }, { name: 'Ethernet2', up: false }] } });
    const none = await server.call('execute_command', { ...login(ios, 'cisco_ios'), command: 'show version', format: 'json' });
    expect(text(none)).toMatch(/^Error INVALID_ARGUMENT: cisco_ios has no JSON output/);
    // Output that is not JSON: parsed null, and the notice says why.
    const bad = await server.call('execute_command', { ...login(nxos, 'cisco_nxos'), command: 'show bogus', format: 'json' });
    expect(bad.structuredContent).toMatchObject({ status: 'failed' });
  });

  it('on IOS-XR: commit, and a failing commit aborted; on Arista: a config session with a commit timer confirmed by confirm_commit', async () => {
    const pe = login(xr, 'cisco_xr');
    const committed = await server.call('send_config', { ...pe, config_commands: ['interface Gi0/0/0/1', 'description core-link', 'exit'], commit: true });
    expect(committed.structuredContent, text(committed)).toMatchObject({ ok: true, applied: true, summary: 'committed' });
    expect(committed.structuredContent?.diff).toContain('+description core-link');
    const aborted = await server.call('send_config', { ...pe, config_commands: ['interface Gi0/0/0/1', 'description broken'], commit: true });
    expect(aborted.structuredContent).toMatchObject({ ok: false, applied: false, diff: '' });
    expect((aborted.structuredContent?.steps as { command: string; ok: boolean }[]).map((step) => [step.command, step.ok])).toEqual([
      ['commit', false],
      ['abort', true],
    ]);

    const leaf = login(eos, 'arista_eos');
    const dry = await server.call('send_config', { ...leaf, config_commands: ['interface Ethernet1', 'description staged'], dry_run: true });
    expect(dry.structuredContent, text(dry)).toMatchObject({ applied: false, diff: '', compare: expect.stringContaining('+  description staged') as unknown });
    const timed = await server.call('send_config', { ...leaf, config_commands: ['interface Ethernet1', 'description timed'], commit: true, commit_confirmed_minutes: 2 });
    expect(timed.structuredContent, text(timed)).toMatchObject({ ok: true, applied: true, confirm_by_minutes: 2 });
    expect((timed.structuredContent?.steps as { command: string }[]).map((step) => step.command)).toEqual(['commit timer 00:02:00']);
    const confirmed = await server.call('confirm_commit', { ...leaf });
    expect(confirmed.structuredContent, text(confirmed)).toMatchObject({ command: expect.stringMatching(/^configure session mcp-\w+ commit$/) as unknown, ok: true });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const stays = await server.call('execute_command', { ...leaf, command: 'show running-config' });
    expect(stays.structuredContent?.output).toContain('description timed');
  });

  it('keeps each change for config_diff by change_id, in the recording line by line, and across a restart (--config-snapshots)', async () => {
    const pe = login(xr, 'cisco_xr');
    const first = await server.call('send_config', { ...pe, config_commands: ['interface Gi0/0/0/2', 'description first'], commit: true });
    const second = await server.call('send_config', { ...pe, config_commands: ['interface Gi0/0/0/2', 'description second'], commit: true });
    const firstId = first.structuredContent?.change_id as string;
    expect(firstId).toMatch(/^[0-9a-f]{8}$/);
    expect(second.structuredContent?.change_id).not.toBe(firstId);
    const where = { host: xr.address.host, port: xr.address.port, username: xr.address.username };
    const older = await server.call('config_diff', { ...where, change_id: firstId.slice(0, 5) });
    expect(older.structuredContent, text(older)).toMatchObject({ change_id: firstId, changed: true });
    expect(older.structuredContent?.diff).toContain('+description first');
    expect(older.structuredContent?.diff).not.toContain('second');
    expect((older.structuredContent?.changes as { change_id: string }[]).slice(0, 2).map((entry) => entry.change_id)).toEqual([second.structuredContent?.change_id, firstId]);
    const unknown = await server.call('config_diff', { ...where, change_id: 'ffffffff' });
    expect(text(unknown)).toMatch(/^Error INVALID_ARGUMENT: no single kept change of .* has the id "ffffffff"; kept: /);

    const cast = readdirSync(join(home, 'casts')).find((name) => name.includes(`${xr.address.port}`));
    const events = readFileSync(join(home, 'casts', cast as string), 'utf8');
    expect(events).toContain(`send_config ${firstId}`);
    expect(events).toContain('RP/0/RP0/CPU0:pe1(config-if)# description first');
    expect(events).toContain('send_config ok: committed');

    const [deviceDir] = readdirSync(join(home, 'snapshots')).filter((name) => name.endsWith(`_${xr.address.port}`));
    const files = readdirSync(join(home, 'snapshots', deviceDir as string));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) expect(statSync(join(home, 'snapshots', deviceDir as string, file)).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'snapshots')).mode & 0o777).toBe(0o700);

    const again = await startServer(undefined, { home, args: ['--config-snapshots', join(home, 'snapshots')] });
    try {
      await again.call('execute_command', { ...pe, command: 'show clock' });
      const kept = await again.call('config_diff', { ...where, change_id: firstId });
      expect(kept.structuredContent, text(kept)).toMatchObject({ change_id: firstId, diff: older.structuredContent?.diff });
    } finally {
      await again.call('close_all_sessions');
      await again.client.close();
    }
  });

  it('refuses send_config in read-only mode', async () => {
    const readOnly = await startServer(undefined, { home, args: ['--read-only'] });
    try {
      const refused = await readOnly.call('send_config', { ...login(ios, 'cisco_ios'), config_commands: ['logging host 10.0.0.1'] });
      expect(text(refused)).toMatch(/^Error POLICY_DENIED: the server is read-only: send_config is refused/);
    } finally {
      await readOnly.call('close_all_sessions');
      await readOnly.client.close();
    }
  });
});
