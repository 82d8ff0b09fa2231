export type { SshJobErrorCode } from './errors';
export { SshJobError } from './errors';
