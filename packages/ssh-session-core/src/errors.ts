const BRAND = Symbol.for('ssh-toolkit.error');

/** Stable error codes of ssh-session-core. Codes are public API: renaming one is breaking. */
export type SshSessionErrorCode =
  | 'CONNECT_FAILED'
  | 'CONNECT_TIMEOUT'
  | 'AUTH_FAILED'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'HOST_KEY_REVOKED'
  | 'HOST_KEY_REJECTED'
  | 'CONNECTION_CLOSED'
  | 'CHANNEL_OPEN_FAILED'
  | 'READ_TIMEOUT'
  | 'PROMPT_NOT_FOUND'
  | 'ENABLE_FAILED'
  /** A device did not enter configuration mode, or refused a commit confirmation. */
  | 'CONFIG_FAILED'
  | 'SUDO_AUTH_FAILED'
  | 'SUDO_NOT_PERMITTED'
  | 'SESSION_BUSY'
  | 'SHELL_EXITED'
  | 'AWAITING_INPUT'
  | 'FULL_SCREEN'
  | 'ABORTED'
  /** A value the caller gave cannot be used, found out at run time (a key file that is not there). */
  | 'INVALID_ARGUMENT';

export interface SshErrorOptions {
  readonly cause?: unknown;
  /** Secret-free facts for programs: the pattern awaited, a redacted output tail, a status. */
  readonly details?: Record<string, unknown>;
}

/**
 * Base class of every error thrown by the ssh toolkit packages. Each package subclasses it with
 * its own code union. Check with {@link isSshError}, not `instanceof`: the ESM and CJS builds of a
 * package may both be loaded in one process.
 */
export abstract class SshError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: SshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options.details });
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** An error of ssh-session-core: connections, host keys, auth, shells. */
export class SshSessionError extends SshError<SshSessionErrorCode> {
  override name = 'SshSessionError';
}

/** True for any error of the ssh toolkit packages, whichever copy (ESM or CJS) created it. */
export const isSshError = (value: unknown): value is SshError =>
  value instanceof Error && BRAND in value;
