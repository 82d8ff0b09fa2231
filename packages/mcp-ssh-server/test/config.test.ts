import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCli } from '../src/config';
import { Policy } from '../src/policy';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-config-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('parseCli', () => {
  it('serves with defaults when given nothing', () => {
    expect(parseCli([], {})).toEqual({ kind: 'serve', config: { logLevel: 'info', overrides: {}, policy: {}, confirmNewHosts: false, outputSchemas: false } });
  });

  it('takes the log level from the flag before the environment', () => {
    expect(parseCli(['--log-level', 'debug'], { MCP_SSH_LOG_LEVEL: 'error' })).toEqual({
      kind: 'serve',
      config: { logLevel: 'debug', overrides: {}, policy: {}, confirmNewHosts: false, outputSchemas: false },
    });
    expect(parseCli([], { MCP_SSH_LOG_LEVEL: 'warn' })).toMatchObject({ config: { logLevel: 'warn' } });
  });

  it('reads the ssh_config path, the agent and OVRD_<alias>_* overrides', () => {
    const env = {
      MCP_SSH_CONFIG: '/etc/ssh/custom_config',
      SSH_AUTH_SOCK: '/run/agent.sock',
      OVRD_web1_PASS: 'pw-1',
      OVRD_web1_PORT: '2222',
      OVRD_DB_PROD_SUDO_PASS: 'sudo-pw',
      OVRD_DB_PROD_ENABLE_PASS: 'en',
      OVRD_x_UNKNOWN: 'ignored',
    };
    expect(parseCli([], env)).toEqual({
      kind: 'serve',
      config: {
        logLevel: 'info',
        sshConfigPath: '/etc/ssh/custom_config',
        agent: '/run/agent.sock',
        overrides: { web1: { password: 'pw-1', port: 2222 }, DB_PROD: { sudoPassword: 'sudo-pw', enablePassword: 'en' } },
        policy: {},
        confirmNewHosts: false,
        outputSchemas: false,
      },
    });
    expect(parseCli(['--ssh-config', '/tmp/c'], env)).toMatchObject({ config: { sshConfigPath: '/tmp/c' } });
    expect(() => parseCli([], { OVRD_web_PORT: 'eighty' })).toThrow(/invalid overrides/);
  });

  it('takes the approval socket and --confirm-new-hosts from flags or MCP_SSH_*', () => {
    expect(parseCli(['--approval-socket', '/run/user/1000/a.sock', '--confirm-new-hosts'], {})).toMatchObject({ config: { approvalSocket: '/run/user/1000/a.sock', confirmNewHosts: true } });
    expect(parseCli([], { MCP_SSH_APPROVAL_SOCKET: '/tmp/b.sock', MCP_SSH_CONFIRM_NEW_HOSTS: 'yes' })).toMatchObject({ config: { approvalSocket: '/tmp/b.sock', confirmNewHosts: true } });
    expect(() => parseCli([], { MCP_SSH_CONFIRM_NEW_HOSTS: 'maybe' })).toThrow(/MCP_SSH_CONFIRM_NEW_HOSTS must be/);
  });

  it('takes the audit log, its rotation size and the recording directory from flags or MCP_SSH_*; refuses a tiny size', () => {
    expect(parseCli(['--audit-log', '/var/log/mcp-audit.jsonl', '--audit-max-bytes', '1048576'], {})).toMatchObject({
      config: { auditLog: '/var/log/mcp-audit.jsonl', auditMaxBytes: 1_048_576 },
    });
    expect(parseCli([], { MCP_SSH_AUDIT_LOG: '/tmp/a.jsonl', MCP_SSH_AUDIT_MAX_BYTES: '4096' })).toMatchObject({ config: { auditLog: '/tmp/a.jsonl', auditMaxBytes: 4096 } });
    expect(() => parseCli(['--audit-log', '/tmp/a.jsonl', '--audit-max-bytes', '10'], {})).toThrow(/auditMaxBytes/);
    expect(parseCli(['--record-dir', '/var/log/casts'], {})).toMatchObject({ config: { recordDir: '/var/log/casts' } });
    expect(parseCli([], { MCP_SSH_RECORD_DIR: '/tmp/casts' })).toMatchObject({ config: { recordDir: '/tmp/casts' } });
  });

  it('takes the approval mode from the flag, MCP_SSH_APPROVAL or the policy file with per-host modes; refuses an unknown mode', () => {
    expect(parseCli(['--approval', 'changes', '--approval-timeout', '30'], {})).toMatchObject({ config: { policy: { approval: 'changes' }, approvalTimeoutSeconds: 30 } });
    expect(parseCli([], { MCP_SSH_APPROVAL: 'all' })).toMatchObject({ config: { policy: { approval: 'all' } } });
    const dir = tempDir();
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ approval: 'changes', hosts: { 'prod-*': { approval: 'all' }, 'lab-*': { approval: 'off' } } }));
    const parsed = parseCli(['--policy', file], {});
    expect(parsed).toMatchObject({ config: { policy: { approval: 'changes', hosts: { 'prod-*': { approval: 'all' } } } } });
    const policy = new Policy((parsed as { config: { policy: ConstructorParameters<typeof Policy>[0] } }).config.policy);
    expect([policy.approvalFor('prod-db1'), policy.approvalFor('lab-1'), policy.approvalFor('web1'), policy.approvalFor('prod-db1.example.com')]).toEqual(['all', 'off', 'changes', 'changes']);
    expect(() => parseCli(['--approval', 'sometimes'], {})).toThrow(/approval/);
  });

  it('takes an empty MCP_SSH_* value as unset (a bundle leaves optional fields empty); checks --tools at start', () => {
    expect(parseCli([], { MCP_SSH_CONFIG: '', MCP_SSH_POLICY: '', MCP_SSH_LOG_LEVEL: '', MCP_SSH_TOOLS: '' })).toEqual({ kind: 'serve', config: { logLevel: 'info', overrides: {}, policy: {}, confirmNewHosts: false, outputSchemas: false } });
    expect(parseCli(['--tools', 'core,read_file', '--output-schemas'], {})).toMatchObject({ config: { tools: 'core,read_file', outputSchemas: true } });
    expect(() => parseCli([], { MCP_SSH_TOOLS: 'core,nope' })).toThrow(/unknown group or tool "nope"/);
  });

  it('answers --help and --version', () => {
    expect(parseCli(['-h'], {})).toEqual({ kind: 'help' });
    expect(parseCli(['--version'], {})).toEqual({ kind: 'version' });
  });

  it('rejects unknown options and bad levels with a message', () => {
    expect(() => parseCli(['--bogus'], {})).toThrow(/bogus/);
    expect(() => parseCli(['--log-level', 'loud'], {})).toThrow(/invalid logLevel/);
  });

  it('builds the policy from a file, flags and the environment; a bad pattern stops the start', () => {
    const dir = tempDir();
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ allowedHosts: ['db-*'], deniedCommands: ['\\breboot\\b'] }));
    expect(parseCli(['--policy', file, '--allow-hosts', 'web-*, 10.0.0.*', '--deny-command', 'rm\\s+-rf', '--read-only'], {})).toMatchObject({
      config: { policy: { allowedHosts: ['db-*', 'web-*', '10.0.0.*'], deniedCommands: ['\\breboot\\b', 'rm\\s+-rf'], readOnly: true } },
    });
    expect(parseCli([], { MCP_SSH_READ_ONLY: '1', MCP_SSH_ALLOW_COMMANDS: '^uptime$\n^df( -h)?$' })).toMatchObject({
      config: { policy: { readOnly: true, allowedCommands: ['^uptime$', '^df( -h)?$'] } },
    });
    expect(() => parseCli(['--deny-command', '(unclosed'], {})).toThrow(/invalid denied command pattern/);
    writeFileSync(file, JSON.stringify({ readonly: true }));
    expect(() => parseCli(['--policy', file], {})).toThrow(/invalid policy file/);
    expect(() => parseCli(['--policy', join(dir, 'missing.json')], {})).toThrow(/cannot read the policy file/);
    // Fail closed: an empty allow-list or an unclear boolean is an error, not "no restriction".
    expect(() => parseCli(['--allow-hosts', ' , '], {})).toThrow(/allowedHosts was given but is empty/);
    expect(() => parseCli([], { MCP_SSH_READ_ONLY: 'enabled' })).toThrow(/MCP_SSH_READ_ONLY must be/);
    expect(parseCli([], { MCP_SSH_READ_ONLY: 'off' })).toMatchObject({ config: { policy: {} } });
    expect(parseCli(['--local-root', '/srv/a', '--local-root', '/srv/b'], {})).toMatchObject({ config: { localRoots: ['/srv/a', '/srv/b'] } });
    expect(parseCli([], { MCP_SSH_LOCAL_ROOTS: '/srv/a:/srv/b' })).toMatchObject({ config: { localRoots: ['/srv/a', '/srv/b'] } });
  });

  it('needs a bearer token for --http, from the environment or a file, never a flag', () => {
    expect(() => parseCli(['--http'], {})).toThrow(/needs a bearer token/);
    expect(() => parseCli(['--http'], { MCP_SSH_HTTP_TOKEN: 'short' })).toThrow(/at least 16/);
    expect(parseCli(['--http', '--http-port', '0'], { MCP_SSH_HTTP_TOKEN: 'x'.repeat(32) })).toMatchObject({
      config: { http: { host: '127.0.0.1', port: 0, token: 'x'.repeat(32), allowedOrigins: [] } },
    });
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), `${'t'.repeat(40)}\n`);
    expect(parseCli(['--http', '--http-token-file', join(dir, 'token'), '--allowed-origin', 'https://app.example'], {})).toMatchObject({
      config: { http: { port: 8765, token: 't'.repeat(40), allowedOrigins: ['https://app.example'] } },
    });
    expect(() => parseCli(['--http-token', 'x'], {})).toThrow(/http-token/);
  });
});

describe('Policy', () => {
  it('allows hosts by glob on any of their names, case-insensitively', () => {
    const policy = new Policy({ allowedHosts: ['web-*', '10.0.0.?'] });
    expect(() => policy.checkHost('WEB-1')).not.toThrow();
    expect(() => policy.checkHost('prod', '10.0.0.7')).not.toThrow();
    expect(() => policy.checkHost('db-1', 'db-1.example')).toThrow(expect.objectContaining({ code: 'POLICY_DENIED' }));
    // `*` never crosses a dot: a DNS name under another domain is not `web-*` nor `10.0.0.*`.
    expect(() => policy.checkHost('web-1.attacker.example', '10.0.0.77')).toThrow(/not in the server's allowed hosts/);
    expect(() => new Policy({ allowedHosts: ['10.0.0.*'] }).checkHost('10.0.0.1.attacker.example')).toThrow(/allowed hosts/);
    expect(() => new Policy({ allowedHosts: ['*.example.com'] }).checkHost('db.example.com')).not.toThrow();
    expect(() => new Policy().checkHost('anything')).not.toThrow();
  });

  it('refuses denied commands; read-only refuses writes and all but allowed commands', () => {
    const denied = new Policy({ deniedCommands: ['\\brm\\s+-rf\\b'] });
    expect(() => denied.checkCommand('ls; rm -rf /tmp/x')).toThrow(/denied pattern/);
    expect(() => denied.checkCommand('ls -la')).not.toThrow();
    expect(() => denied.checkWrite('write_file')).not.toThrow();
    const readOnly = new Policy({ readOnly: true, allowedCommands: ['^uptime$'] });
    expect(() => readOnly.checkCommand('uptime')).not.toThrow();
    expect(() => readOnly.checkCommand('uptime; reboot')).toThrow(/read-only/);
    expect(() => readOnly.checkCommand('uptime $(reboot)')).toThrow(/without shell operators/);
    expect(() => denied.checkInput('rm -rf /\n')).toThrow(/denied pattern/);
    expect(() => readOnly.checkWrite('write_file')).toThrow(expect.objectContaining({ code: 'POLICY_DENIED' }));
    expect(new Policy().isOpen).toBe(true);
    expect(readOnly.describe()).toBe('read-only');
  });
});
