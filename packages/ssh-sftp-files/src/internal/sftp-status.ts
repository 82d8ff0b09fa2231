import { isSshError, type SshSessionError } from 'ssh-session-core';
import { SftpFileError, type SftpFileErrorCode } from '../errors';

// SSH_FX_* status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks).
const SSH_FX_NO_SUCH_FILE = 2;
const SSH_FX_PERMISSION_DENIED = 3;
const SSH_FX_OP_UNSUPPORTED = 8;

const CODE_BY_STATUS: ReadonlyMap<number, SftpFileErrorCode> = new Map([
  [SSH_FX_NO_SUCH_FILE, 'NOT_FOUND'],
  [SSH_FX_PERMISSION_DENIED, 'PERMISSION_DENIED'],
]);

/**
 * Turns an ssh2 SFTP error (an Error with a numeric `code`, the SSH_FX status) into a coded
 * {@link SftpFileError} that names the operation and the path. A coded error (a lost connection's
 * `CONNECTION_CLOSED`) is passed on as it is: wrapped, it would read as a failed SFTP request.
 */
export function toSftpFileError(error: unknown, operation: string, path: string): SftpFileError | SshSessionError {
  if (isSshError(error)) return error as SshSessionError;
  const status = typeof (error as { code?: unknown })?.code === 'number' ? (error as { code: number }).code : undefined;
  const code = (status !== undefined && CODE_BY_STATUS.get(status)) || 'SFTP_FAILED';
  const reason =
    code === 'NOT_FOUND'
      ? 'no such file or directory'
      : code === 'PERMISSION_DENIED'
        ? 'permission denied (use_sudo can retry through sudo)'
        : status === SSH_FX_OP_UNSUPPORTED
          ? 'operation not supported by this SFTP server'
          : error instanceof Error
            ? error.message
            : String(error);
  return new SftpFileError(code, `${operation} ${path}: ${reason}`, {
    cause: error,
    details: { operation, path, ...(status === undefined ? {} : { sftpStatus: status }) },
  });
}
