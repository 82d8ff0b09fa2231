import type { AddedHostKey, SshChannel, SshConnection } from './connection';
import { DeviceSession, type DeviceSessionOptions } from './device/device-session';
import { deviceProfile } from './device/profiles';
import { SshSessionError, isSshError } from './errors';
import { discardChannel, ShellSession, shellPty, withOpenRetry, type ShellSessionOptions } from './shell-session';

export interface OpenHostShellOptions {
  /**
   * netmiko `device_type` (`cisco_ios`…), `autodetect` (a network device, vendor detected),
   * `linux` (a POSIX shell), or undefined: decided from evidence when the session opens.
   */
  readonly deviceType?: string;
  readonly shell?: Omit<ShellSessionOptions, 'loginShell'>;
  readonly device?: Omit<DeviceSessionOptions, 'deviceType' | 'profile' | 'probeVersion'>;
  /**
   * How long the exec probe may take before the host counts as one that does not run commands
   * (some devices accept exec and never answer). Default 15000: a slow `.bashrc` is still a
   * POSIX host.
   */
  readonly probeTimeoutMs?: number;
  /** Stops the open: no further connect, and whatever was opened is closed (`ABORTED`). */
  readonly signal?: AbortSignal;
}

/** What the session talks to, and why. */
export interface HostShellDetection {
  readonly kind: 'posix' | 'device';
  /** `linux` for a POSIX shell, else the device profile (`cisco_ios`, `generic`…). */
  readonly profile: string;
  /** False when `deviceType` named it. */
  readonly detected: boolean;
  /** The evidence, for people: `exec refused; prompt "edge-rtr#"; "show version" names it`. */
  readonly evidence: string;
}

export interface HostShell {
  /** The connection the shell runs on: a device that hung up after a probe gets a new one. */
  readonly connection: SshConnection;
  readonly shell: ShellSession | DeviceSession;
  readonly detection: HostShellDetection;
  /** Host keys accept-new recorded on any connection the open made (one that hung up included). */
  readonly hostKeysAdded: readonly AddedHostKey[];
}

/** What the steps below return; the host keys are gathered over every connection at the end. */
type Opened = Omit<HostShell, 'hostKeysAdded'>;

const PROBE_TAG = '__MCPSSH_PROBE';
/**
 * Every Unix shell (sh, bash, zsh, ash, fish, csh) expands `$SHELL` in double quotes (a space after
 * it: csh would read `$SHELL:` as a modifier); a device CLI answers with an error, or echoes the
 * line with `$SHELL` left as it is.
 */
const PROBE = `echo "${PROBE_TAG} $SHELL __"`;
const PROBE_ANSWER = new RegExp(`${PROBE_TAG} ([^\\s$]*) *__`);
/**
 * A prompt a POSIX shell shows, not a device's: `user@host:~$`, `root@host:/etc#` (Debian),
 * `[user@host ~]$` (RHEL), `bash-5.2$`, anything ending in `$`.
 */
const POSIX_PROMPT = /^[\w.-]+@[\w.-]+:\S*[$#]$|^\[[\w.-]+@[\w.-]+ [^\]]*\][$#]$|^(?:ba|z|k|da)?sh-\d[\d.]*[$#]$|^\S*\$$/;
const DEVICE_RECONNECTS = 2;

/**
 * Opens the persistent shell of a host: a {@link ShellSession} on POSIX hosts, a
 * {@link DeviceSession} on network devices. With no `deviceType` it decides from evidence, at
 * the cost of no round trip on a POSIX host (the probe is the exec that asks for `$SHELL`,
 * which the POSIX shell needs anyway): exec refused, failing or not run by a shell, then the
 * CLI prompt and the device's own version output pick the profile; a POSIX-looking prompt whose
 * shell runs the marker setup is still a POSIX host. `connect` gives the connection (again, when
 * a device hung up after the probe: Cisco IOS ends the connection with its exec channel).
 *
 * @throws SshSessionError `CHANNEL_OPEN_FAILED` (exec and shell both refused, or MaxSessions),
 *   `PROMPT_NOT_FOUND`, `ENABLE_FAILED`, `CONNECTION_CLOSED`, `CONNECT_*`, `AUTH_FAILED`.
 * @throws RangeError for an unknown `deviceType`.
 */
export async function openHostShell(connect: () => Promise<SshConnection>, options: OpenHostShellOptions = {}): Promise<HostShell> {
  const wanted = options.deviceType?.toLowerCase();
  // An unknown type fails before anything connects.
  if (wanted !== undefined && wanted !== 'linux' && wanted !== 'autodetect') deviceProfile(wanted);
  // Every connection made here: the one returned stays open, the others are closed, all of them
  // when the open fails.
  const made: SshConnection[] = [];
  const tracked = async (): Promise<SshConnection> => {
    if (options.signal?.aborted) throw new SshSessionError('ABORTED', 'the session open was cancelled');
    const connection = await connect();
    made.push(connection);
    return connection;
  };
  try {
    const opened = await openTracked(tracked, options, wanted);
    for (const connection of made) if (connection !== opened.connection) connection.close();
    return { ...opened, hostKeysAdded: made.flatMap((connection) => connection.hostKeysAdded) };
  } catch (error) {
    for (const connection of made) connection.close();
    throw error;
  }
}

async function openTracked(connect: () => Promise<SshConnection>, options: OpenHostShellOptions, wanted: string | undefined): Promise<Opened> {
  let connection = await connect();
  if (wanted === 'linux') {
    const shell = await ShellSession.open(connection, options.shell);
    return { connection, shell, detection: { kind: 'posix', profile: 'linux', detected: false, evidence: 'device_type linux' } };
  }
  if (wanted !== undefined) return openDevice(connect, connection, options, wanted, wanted === 'autodetect' ? 'device_type autodetect' : undefined);

  // The shell channel a POSIX host will need is asked for while the probe runs (its open,
  // pty-req and shell requests overlap the probe's round trips); a device's is discarded.
  let early: Promise<SshChannel> | undefined = connection.shellChannel(shellPty(options.shell ?? {}));
  early.catch(() => undefined);
  let probe: Awaited<ReturnType<typeof probeExec>>;
  try {
    probe = await probeExec(connection, options.probeTimeoutMs ?? 15_000);
  } catch (error) {
    await discardChannel(early);
    early = undefined;
    // A host that allows one session channel at a time (MaxSessions 1, many devices) refused the
    // probe's because the shell's came first: probe again, alone, as before the overlap.
    if (!isSshError(error) || error.code !== 'CHANNEL_OPEN_FAILED') throw error;
    probe = await withOpenRetry(() => probeExec(connection, options.probeTimeoutMs ?? 15_000));
  }
  if (probe.loginShell === undefined && early) await discardChannel(early);
  else {
    try {
      const shell = await ShellSession.openOn(connection, { ...options.shell, loginShell: probe.loginShell }, early);
      return { connection, shell, detection: { kind: 'posix', profile: 'linux', detected: true, evidence: probe.evidence } };
    } catch (error) {
      // exec ran a shell, but the interactive session does not run our setup: a CLI behind it.
      if (!isSshError(error) || error.code !== 'PROMPT_NOT_FOUND') throw error;
      return openDevice(connect, connection, options, 'autodetect', `${probe.evidence}, but the interactive shell did not run the marker setup`);
    }
  }
  if (!connection.isOpen) connection = await connect();
  const opened = await openDevice(connect, connection, options, 'autodetect', probe.evidence);
  const device = opened.shell as DeviceSession;
  // No vendor matched and the prompt is a POSIX one: a shell whose exec is closed (ForceCommand).
  if (device.detection.by === 'fallback' && POSIX_PROMPT.test(device.info.prompt)) {
    device.close();
    try {
      const shell = await ShellSession.open(opened.connection, { ...options.shell, loginShell: 'sh', startupTimeoutMs: Math.min(options.shell?.startupTimeoutMs ?? 5_000, 5_000) });
      return { connection: opened.connection, shell, detection: { kind: 'posix', profile: 'linux', detected: true, evidence: `${probe.evidence}; prompt ${JSON.stringify(device.info.prompt)} ran the marker setup` } };
    } catch (error) {
      if (!isSshError(error) || error.code !== 'PROMPT_NOT_FOUND') throw error;
      return openDevice(connect, opened.connection, options, 'generic', `${opened.detection.evidence}; it did not run the marker setup: not a POSIX shell`);
    }
  }
  return opened;
}

/** Asks for `$SHELL` over exec: a login shell means a POSIX host; otherwise the evidence why not. */
async function probeExec(connection: SshConnection, timeoutMs: number): Promise<{ loginShell?: string; evidence: string }> {
  try {
    // exec's signal covers the exec request too: a peer that never answers it times out here.
    const result = await connection.exec(PROBE, { signal: AbortSignal.timeout(timeoutMs) });
    const answer = PROBE_ANSWER.exec(result.stdout);
    if (answer && result.exitCode === 0) return { loginShell: answer[1] ?? '', evidence: `exec ran a shell (${answer[1] || '$SHELL unset'})` };
    const said = (result.stdout + result.stderr).trim().split('\n').find((line) => /[A-Za-z]/.test(line) && !line.includes(PROBE_TAG));
    return { evidence: `exec is not run by a shell${said ? ` (${JSON.stringify(said.trim().slice(0, 80))})` : ''}` };
  } catch (error) {
    if (!isSshError(error)) throw error;
    if (error.code === 'CHANNEL_OPEN_FAILED' && error.details['refused'] === 'exec') return { evidence: 'exec refused' };
    if (error.code === 'ABORTED') return { evidence: `exec gave no answer within ${timeoutMs} ms` };
    if (error.code === 'CONNECTION_CLOSED') return { evidence: 'the connection closed on exec' };
    // A channel refused outright is a real limit (MaxSessions): say so, do not guess.
    throw error;
  }
}

async function openDevice(
  connect: () => Promise<SshConnection>,
  first: SshConnection,
  options: OpenHostShellOptions,
  deviceType: string,
  evidence: string | undefined,
): Promise<Opened> {
  let connection = first;
  let probeVersion = true;
  // After a probe found no shell, a device may end the channel or refuse another before the
  // connection closes (the order is the device's): such a failure gets a new connection once.
  let afterProbe = evidence !== undefined && evidence !== `device_type ${deviceType}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const shell = await DeviceSession.open(connection, { ...options.device, deviceType, probeVersion });
      const detected = evidence !== undefined;
      const seen = shell.detection;
      return {
        connection,
        shell,
        detection: {
          kind: 'device',
          profile: shell.info.profile,
          detected,
          evidence: detected ? [evidence, seen.evidence, seen.by === 'fallback' ? 'no vendor recognised: generic' : ''].filter(Boolean).join('; ') : `device_type ${deviceType}`,
        },
      };
    } catch (error) {
      if (!isSshError(error)) throw error;
      if (error.code === 'CHANNEL_OPEN_FAILED' && error.details['refused'] === 'shell') {
        throw new SshSessionError(
          'CHANNEL_OPEN_FAILED',
          `${connection.key} refused ${evidence === 'exec refused' ? 'both a command (exec) and ' : ''}an interactive shell: there is nothing to drive (an SFTP-only or tunnel-only account?)`,
          { cause: error, details: { refused: 'shell' } },
        );
      }
      // Cisco IOS hangs up after an exec channel; some devices hang up on `show version`.
      const hungUp = error.code === 'CONNECTION_CLOSED' || (afterProbe && (error.code === 'SHELL_EXITED' || error.code === 'CHANNEL_OPEN_FAILED'));
      if (!hungUp || attempt >= DEVICE_RECONNECTS) throw error;
      afterProbe = false;
      if (error.details['versionProbeDropped'] === true) {
        probeVersion = false;
        evidence = `${evidence ?? `device_type ${deviceType}`}; the version command closed the connection`;
      }
      connection = await connect();
    }
  }
}
