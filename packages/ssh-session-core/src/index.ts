export type { SshErrorOptions, SshSessionErrorCode } from './errors';
export { SshError, SshSessionError, isSshError } from './errors';
export type { LogLevel, Logger } from './logger';
export { noopLogger } from './logger';
export { REDACTED, Redactor } from './redact';
export { fingerprintSha256, parseOpenSshPublicKey } from './keys';
export type { PublicKeyInfo } from './keys';
export type { AppendKnownHostInput, CheckKnownHostsInput, HostKeyCheck } from './known-hosts';
export { appendKnownHost, checkKnownHosts, knownHostsName } from './known-hosts';
export type {
  AddedHostKey,
  AuthOptions,
  ChannelExit,
  ConnectOptions,
  ExecOptions,
  ExecResult,
  HostKeyInfo,
  HostKeyPolicy,
  PrivateKeySource,
  PtyOptions,
  SshChannel,
  SshEndpoint,
} from './connection';
export { SshConnection, sessionKeyOf } from './connection';
export type { SFTPWrapper } from './internal/ssh2';
export type { ConnectionPoolOptions } from './pool';
export { ConnectionPool } from './pool';
export type {
  JumpHop,
  ProxyJumpSpec,
  ResolvedTarget,
  ResolveTargetOptions,
  ResolveTargetOverrides,
  StrictHostKeyChecking,
} from './ssh-config';
export { listConfiguredHosts, parseProxyJump, resolveTarget } from './ssh-config';
export type { TargetConnectDefaults, TargetCredentials } from './target-options';
export { connectOptionsFor, defaultIdentityFiles } from './target-options';
export type { OutputRead, OutputSnapshot } from './output';
export { cleanTerminalOutput, OutputWindow } from './output';
export type {
  InterruptOutcome,
  CommandHandle,
  ShellCommand,
  ShellCommandEvent,
  ShellInfo,
  ShellResult,
  ShellRunOptions,
  ShellSessionOptions,
} from './shell-session';
export type { ScreenSnapshot } from './terminal-screen';
export { keysToInput, TerminalScreen } from './terminal-screen';
export { ShellSession } from './shell-session';
export type { ConfigLineResult, ConfigStepResult, ConfigureOptions, ConfigureResult, DeviceCommand, DeviceDetection, DeviceInfo, DeviceResult, DeviceSessionOptions } from './device/device-session';
export { DeviceSession } from './device/device-session';
export type { DeviceMode, DeviceProfile } from './device/profiles';
export {
  aristaEos,
  ciscoAsa,
  ciscoIos,
  ciscoNxos,
  ciscoXr,
  dellForce10,
  dellOs10,
  DEVICE_PROFILES,
  deviceProfile,
  fortinet,
  generic as genericDevice,
  hpComware,
  huaweiVrp,
  juniperJunos,
  loginUsername,
  mikrotikRouteros,
  modeOf,
  PAGER_PROMPTS,
  paloaltoPanos,
  promptPattern,
  ruckusFastiron,
  vyos,
} from './device/profiles';
export type { HostShell, HostShellDetection, OpenHostShellOptions } from './open-host-shell';
export { openHostShell } from './open-host-shell';
