import { SshError } from 'ssh-session-core';

/** Stable error codes of ssh-async-jobs. */
export type SshJobErrorCode =
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_RUNNING'
  | 'JOB_LIMIT_REACHED'
  | 'SESSION_BUSY'
  | 'INTERRUPT_FAILED';

/** An error of ssh-async-jobs. Check with `isSshError` from ssh-session-core. */
export class SshJobError extends SshError<SshJobErrorCode> {
  override name = 'SshJobError';
}
