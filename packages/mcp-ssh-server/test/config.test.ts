import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/config';

describe('parseCli', () => {
  it('serves with defaults when given nothing', () => {
    expect(parseCli([], {})).toEqual({ kind: 'serve', config: { logLevel: 'info', overrides: {} } });
  });

  it('takes the log level from the flag before the environment', () => {
    expect(parseCli(['--log-level', 'debug'], { MCP_SSH_LOG_LEVEL: 'error' })).toEqual({
      kind: 'serve',
      config: { logLevel: 'debug', overrides: {} },
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
      },
    });
    expect(parseCli(['--ssh-config', '/tmp/c'], env)).toMatchObject({ config: { sshConfigPath: '/tmp/c' } });
    expect(() => parseCli([], { OVRD_web_PORT: 'eighty' })).toThrow(/invalid overrides/);
  });

  it('answers --help and --version', () => {
    expect(parseCli(['-h'], {})).toEqual({ kind: 'help' });
    expect(parseCli(['--version'], {})).toEqual({ kind: 'version' });
  });

  it('rejects unknown options and bad levels with a message', () => {
    expect(() => parseCli(['--bogus'], {})).toThrow(/bogus/);
    expect(() => parseCli(['--log-level', 'loud'], {})).toThrow(/invalid logLevel/);
  });
});
