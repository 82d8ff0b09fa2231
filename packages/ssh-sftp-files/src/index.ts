export type { SftpFileErrorCode } from './errors';
export { SftpFileError } from './errors';
export type { DecodedText, EncodingErrors } from './text-codec';
export { decodeText, encodeContent } from './text-codec';
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
export { TempFileJournal, type TempJournalErrorHandler, type TempJournalOptions } from './temp-journal';
