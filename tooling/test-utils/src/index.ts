export type { RunningSshd, SshdFacts, StartSshdOptions } from './sshd';
export { checkTestHost, descendants, startSshd, PROVISION_FIX, PROVISION_SCRIPT, SSHD_PATH, TEST_USER } from './sshd';
export type { SshdContext } from './inject';
export { keyLogin, requireSshd, sshdFacts, sshdSkipReason } from './inject';
export type { FakeHostAddress, FakeHostOptions, ScriptedCli, SplitPolicy } from './fake-host';
export { DEFAULT_SPLIT, FakeChannel, FakeHost, scriptedCli } from './fake-host';
export type { ExecResult } from './ssh-client';
export { connectClient, execCommand, openShell, readUntil } from './ssh-client';
