import { describe, expect, it } from 'vitest';
import { isSshError, SshSessionError } from '../src/index';

describe('SshSessionError', () => {
  it('carries a stable code, frozen details and the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new SshSessionError('CONNECT_FAILED', 'cannot reach 10.0.0.1:22', {
      cause,
      details: { host: '10.0.0.1' },
    });
    expect(error).toMatchObject({ name: 'SshSessionError', code: 'CONNECT_FAILED', cause });
    expect(error.details).toEqual({ host: '10.0.0.1' });
    expect(Object.isFrozen(error.details)).toBe(true);
    expect(String(error)).toBe('SshSessionError: cannot reach 10.0.0.1:22');
  });

  it('is recognised by isSshError through the brand, not by class identity', () => {
    expect(isSshError(new SshSessionError('ABORTED', 'stop'))).toBe(true);
    expect(isSshError(new Error('plain'))).toBe(false);
    expect(isSshError({ code: 'AUTH_FAILED', message: 'lookalike' })).toBe(false);
    // A copy from another bundle (ESM vs CJS) carries the same global symbol.
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('ssh-toolkit.error'), { value: true });
    expect(isSshError(foreign)).toBe(true);
  });
});
