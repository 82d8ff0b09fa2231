import { SshError } from 'ssh-session-core';

/** Stable error codes of ssh-sftp-files. */
export type SftpFileErrorCode =
  | 'NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'NOT_A_FILE'
  | 'FILE_TOO_LARGE'
  | 'ATOMIC_RENAME_UNSUPPORTED'
  | 'SUDO_FALLBACK_FAILED'
  | 'SFTP_FAILED'
  /** Bytes read are not valid in the encoding asked for (`errors: 'strict'`). */
  | 'DECODE_FAILED'
  /** Content has a character the encoding cannot carry (`errors: 'strict'`). */
  | 'ENCODE_FAILED'
  /** The transfer was cancelled (its `signal`): the destination is as it was, the temp file removed. */
  | 'CANCELLED';

/** An error of ssh-sftp-files. Check with `isSshError` from ssh-session-core. */
export class SftpFileError extends SshError<SftpFileErrorCode> {
  override name = 'SftpFileError';
}
