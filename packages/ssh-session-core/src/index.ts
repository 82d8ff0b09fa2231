export type { SshErrorOptions, SshSessionErrorCode } from './errors';
export { SshError, SshSessionError, isSshError } from './errors';
export type { LogLevel, Logger } from './logger';
export { noopLogger } from './logger';
export { REDACTED, Redactor } from './redact';
export { fingerprintSha256, parseOpenSshPublicKey } from './keys';
export type { PublicKeyInfo } from './keys';
