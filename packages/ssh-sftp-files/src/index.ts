export type { SftpFileErrorCode } from './errors';
export { SftpFileError } from './errors';
