import { isSshError } from 'ssh-session-core';
import { describe, expect, it } from 'vitest';
import { toSftpFileError } from '../src/internal/sftp-status';

const sftpError = (code: number, message: string): Error => Object.assign(new Error(message), { code });

describe('toSftpFileError', () => {
  it('maps SSH_FX_NO_SUCH_FILE (2) to NOT_FOUND, naming the operation and path', () => {
    const error = toSftpFileError(sftpError(2, 'No such file'), 'read', '/etc/nope');
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'read /etc/nope: no such file or directory' });
    expect(error.details).toEqual({ operation: 'read', path: '/etc/nope', sftpStatus: 2 });
    expect(isSshError(error)).toBe(true);
  });

  it('maps SSH_FX_PERMISSION_DENIED (3) to PERMISSION_DENIED and suggests sudo', () => {
    expect(toSftpFileError(sftpError(3, 'Permission denied'), 'write', '/root/x')).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringContaining('use_sudo') as unknown,
    });
  });

  it('keeps other failures as SFTP_FAILED with the original message and cause', () => {
    const cause = sftpError(4, 'Failure');
    const error = toSftpFileError(cause, 'rename', '/tmp/a');
    expect(error).toMatchObject({ code: 'SFTP_FAILED', message: 'rename /tmp/a: Failure', cause });
    expect(toSftpFileError(new Error('socket hang up'), 'stat', '/x').details).toEqual({ operation: 'stat', path: '/x' });
  });
});
