import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/config';

describe('parseCli', () => {
  it('serves with defaults when given nothing', () => {
    expect(parseCli([], {})).toEqual({ kind: 'serve', config: { logLevel: 'info' } });
  });

  it('takes the log level from the flag before the environment', () => {
    expect(parseCli(['--log-level', 'debug'], { MCP_SSH_LOG_LEVEL: 'error' })).toEqual({
      kind: 'serve',
      config: { logLevel: 'debug' },
    });
    expect(parseCli([], { MCP_SSH_LOG_LEVEL: 'warn' })).toMatchObject({ config: { logLevel: 'warn' } });
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
