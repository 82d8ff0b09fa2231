import { SshSessionError } from '../errors';

/** Where in a connection's life an ssh2 error happened: codes differ before and after `ready`. */
export type ConnectPhase = 'connect' | 'established';

interface Ssh2Error extends Error {
  readonly level?: string;
  readonly code?: string;
}

const NETWORK_HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: is sshd running and listening on that port?',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found (DNS): check the name or the HostName in ssh_config',
  EAI_AGAIN: 'host name lookup failed temporarily (DNS)',
  ETIMEDOUT: 'TCP connect timed out',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed by peer',
};

/**
 * Turns an ssh2 error into a coded {@link SshSessionError}. `target` is `user@host:port` (no
 * secrets); `context` is appended to the message (e.g. which auth methods were tried).
 */
export function fromSsh2Error(
  error: unknown,
  phase: ConnectPhase,
  target: string,
  context: { readonly authTried?: string; readonly timeoutMs?: number } = {},
): SshSessionError {
  const err = (error instanceof Error ? error : new Error(String(error))) as Ssh2Error;
  const level = err.level ?? '';
  const details = { target, ssh2Level: level || undefined, errno: err.code };
  if (level === 'client-authentication') {
    return new SshSessionError(
      'AUTH_FAILED',
      `authentication failed for ${target}${context.authTried ? `; tried: ${context.authTried}` : ''}` +
        '. Check the username, password or key (key_filename), or load the key into ssh-agent.',
      { cause: err, details: { ...details, authTried: context.authTried } },
    );
  }
  if (level === 'client-timeout' || /timed out/i.test(err.message)) {
    if (phase === 'connect') {
      return new SshSessionError(
        'CONNECT_TIMEOUT',
        `timed out connecting to ${target}${context.timeoutMs ? ` after ${context.timeoutMs} ms` : ''} ` +
          '(no SSH handshake): check the host and port, a firewall, or raise ConnectTimeout.',
        { cause: err, details },
      );
    }
    return new SshSessionError(
      'CONNECTION_CLOSED',
      `connection to ${target} lost: the server stopped answering keepalives`,
      { cause: err, details },
    );
  }
  const hint = err.code ? NETWORK_HINTS[err.code] : undefined;
  if (phase === 'established') {
    return new SshSessionError('CONNECTION_CLOSED', `connection to ${target} closed: ${hint ?? err.message}`, {
      cause: err,
      details,
    });
  }
  return new SshSessionError('CONNECT_FAILED', `cannot connect to ${target}: ${hint ?? err.message}`, {
    cause: err,
    details,
  });
}
