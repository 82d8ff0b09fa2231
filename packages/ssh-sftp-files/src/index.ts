export type { SftpFileErrorCode } from './errors';
export { SftpFileError } from './errors';
export type {
  ContentEncoding,
  FileInfo,
  FileType,
  ReadFileOptions,
  ReadFileResult,
  RemoteFilesOptions,
  TransferOptions,
  TransferProgress,
  TransferResult,
  WriteFileOptions,
  WriteFileResult,
} from './remote-files';
export { parseMode, RemoteFiles } from './remote-files';
