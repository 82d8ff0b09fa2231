import { isSshError } from 'ssh-session-core';
import { describe, expect, it } from 'vitest';
import { SshJobError } from '../src/index';

describe('SshJobError', () => {
  it('is an SshError of the shared family with its own name and code', () => {
    const error = new SshJobError('JOB_NOT_FOUND', 'no job 42; list_running_commands shows the live ones');
    expect(isSshError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'SshJobError', code: 'JOB_NOT_FOUND' });
  });
});
