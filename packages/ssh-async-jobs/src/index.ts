export type { SshJobErrorCode } from './errors';
export { SshJobError } from './errors';
export type {
  JobEvent,
  JobInfo,
  JobManagerOptions,
  JobObserver,
  JobOutput,
  JobProgress,
  JobRunOptions,
  JobRunResult,
  JobState,
  JobStatus,
  JobStatusOptions,
  JobShell,
  JobShellCommand,
  JobShellResult,
  JobTarget,
  SendInputOptions,
} from './jobs';
export { JobManager, shellQuote, unescapeInput } from './jobs';
