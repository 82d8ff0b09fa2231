import { SshError } from 'ssh-session-core';

/** Stable error codes of the server itself (the libraries' codes pass through unchanged). */
export type ServerErrorCode = 'POLICY_DENIED' | 'APPROVAL_DENIED' | 'APPROVAL_PENDING' | 'APPROVAL_NOT_FOUND' | 'NO_SESSION' | 'INVALID_ARGUMENT' | 'LOCAL_NOT_FOUND' | 'LOCAL_EXISTS';

/** An error of mcp-ssh-server: a policy refusal, a tool that needs an open session, a bad argument. */
export class ServerError extends SshError<ServerErrorCode> {
  override name = 'ServerError';
}
