import { describe, expect, it } from 'vitest';
import { fromSsh2Error } from '../src/internal/ssh2-errors';

const ssh2Error = (message: string, extra: Record<string, unknown>): Error => Object.assign(new Error(message), extra);

describe('fromSsh2Error', () => {
  it('maps client-authentication to AUTH_FAILED, listing the methods tried', () => {
    const error = fromSsh2Error(
      ssh2Error('All configured authentication methods failed', { level: 'client-authentication' }),
      'connect',
      'bob@h:22',
      { authTried: 'publickey (~/.ssh/id_ed25519), password' },
    );
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect(error.message).toContain('bob@h:22; tried: publickey (~/.ssh/id_ed25519), password');
  });

  it('maps a timeout to CONNECT_TIMEOUT while connecting and CONNECTION_CLOSED once established', () => {
    const timeout = ssh2Error('Timed out while waiting for handshake', { level: 'client-timeout' });
    expect(fromSsh2Error(timeout, 'connect', 'u@h:22', { timeoutMs: 5000 })).toMatchObject({
      code: 'CONNECT_TIMEOUT',
      message: expect.stringContaining('after 5000 ms') as unknown,
    });
    expect(fromSsh2Error(ssh2Error('Keepalive timeout', { level: 'client-timeout' }), 'established', 'u@h:22')).toMatchObject({
      code: 'CONNECTION_CLOSED',
      message: expect.stringContaining('keepalives') as unknown,
    });
  });

  it('maps socket errors to CONNECT_FAILED with an actionable hint', () => {
    expect(fromSsh2Error(ssh2Error('connect ECONNREFUSED', { level: 'client-socket', code: 'ECONNREFUSED' }), 'connect', 'u@h:1')).toMatchObject({
      code: 'CONNECT_FAILED',
      message: 'cannot connect to u@h:1: connection refused: is sshd running and listening on that port?',
    });
    expect(fromSsh2Error(ssh2Error('getaddrinfo ENOTFOUND nope', { level: 'client-dns', code: 'ENOTFOUND' }), 'connect', 'u@nope:22').message).toMatch(/DNS/);
    expect(fromSsh2Error(ssh2Error('read ECONNRESET', { level: 'client-socket', code: 'ECONNRESET' }), 'established', 'u@h:22')).toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
  });
});
