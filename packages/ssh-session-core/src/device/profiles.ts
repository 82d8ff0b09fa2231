/**
 * Network-device profiles: what differs between vendors is data, the engine is one
 * ({@link DeviceSession}). Names follow netmiko's `device_type`.
 */

/** The CLI mode a prompt shows. */
export type DeviceMode = 'user' | 'privileged' | 'config';

export interface DeviceProfile {
  /** netmiko's `device_type`: `cisco_ios`, `arista_eos`, `juniper_junos`… */
  readonly name: string;
  /** Other names that select it (`cisco_xe`, `huawei_vrp`…). */
  readonly aliases?: readonly string[];
  readonly vendor: string;
  /**
   * Takes the base prompt (group 1, usually the host name) out of the prompt line seen at login.
   * A learned prompt that does not match is not this profile's.
   */
  readonly basePrompt: RegExp;
  /**
   * Source of the prompt in any mode, `{base}` standing for the escaped base. It must match the
   * whole last line, so a `#` or `>` inside output never ends a command.
   */
  readonly prompt: string;
  /** How a prompt line shows its mode; tested in order config, privileged, user. */
  readonly modes: { readonly config?: RegExp; readonly privileged?: RegExp; readonly user?: RegExp };
  /** Sent once the prompt is known: paging off, terminal width. Their failures are ignored. */
  readonly preparation: readonly string[];
  /** Entering privileged mode, for devices that have one. */
  readonly enable?: {
    readonly command: string;
    readonly passwordPrompt: RegExp;
    /** What the device says when the secret is wrong. */
    readonly failure: RegExp;
    /**
     * The prompt does not show the privilege level (Huawei and H3C `super`: `<name>` before and
     * after): success is an accepted secret and no failure line.
     */
    readonly promptUnchanged?: boolean;
  };
  readonly configMode?: { readonly enter: string; readonly exit: string };
  /**
   * No config mode to enter, but config blocks the lines open themselves (FortiOS `config system
   * interface` … `end`): after a change, blocks still open are closed with `end` (applying what
   * the lines set), or after a failing line with `abort` (dropping it), so the CLI is left at its top.
   */
  readonly configBlocks?: { readonly end: string; readonly abort: string };
  /**
   * A candidate configuration (Junos, IOS-XR, PAN-OS, VyOS): what is typed in config mode applies
   * only when committed. In the commands, `{minutes}` is the caller's number of minutes, `{hms}`
   * the same as `hh:mm:ss`, and `{session}` the config session's name.
   */
  readonly candidate?: {
    /**
     * Used only when a commit or a dry run is asked (Arista EOS config sessions); otherwise lines
     * apply at once in the plain config mode.
     */
    readonly optional?: boolean;
    /** Enters the candidate instead of `configMode.enter` (`configure session {session}`). */
    readonly enter?: string;
    /** Validates the candidate without applying it. */
    readonly check?: string;
    readonly commit: string;
    /** Applies it, rolled back by the device unless confirmed in time (`commit confirmed {minutes}`). */
    readonly confirmed?: string;
    /** Questions the confirmed commit asks (VyOS `Proceed? [confirm]`), answered because the caller asked for it. */
    readonly confirmedAnswers?: readonly { readonly pattern: RegExp; readonly answer: string }[];
    /** Confirms a `confirmed` commit. */
    readonly confirm?: string;
    /** The confirm is typed outside config mode (EOS `configure session {session} commit`). */
    readonly confirmInExec?: boolean;
    /** Throws the candidate away (`rollback 0`, `abort`). */
    readonly discard: string;
    /** Shows the candidate against the running configuration. */
    readonly compare?: string;
    /** Output of check or commit that means it failed. */
    readonly failure: RegExp;
    /**
     * Questions on leaving config mode with a candidate still there (IOS-XR `Uncommitted changes
     * found…`), answered so nothing is committed by leaving.
     */
    readonly exitAnswers?: readonly { readonly pattern: RegExp; readonly answer: string }[];
  };
  /** Saves the running configuration for the next boot, answering its questions. */
  readonly save?: {
    readonly command: string;
    readonly answers: readonly { readonly pattern: RegExp; readonly answer: string }[];
    /** Typed in config mode (VyOS `save`), not after leaving it. */
    readonly inConfig?: boolean;
  };
  /** Prints the running configuration (for diffs). */
  readonly runningConfig?: string;
  /** Appended to a `show` command for JSON output (`| json`, `| display json`). */
  readonly jsonModifier?: string;
  /** Lines that mark a command as failed (`% Invalid input`, `syntax error`…). */
  readonly failures: readonly RegExp[];
  /** Line ending the device expects for a command. */
  readonly newline: string;
  /** Questions asked at login and their answers (license, password-change nags). */
  readonly loginAnswers: readonly { readonly pattern: RegExp; readonly answer: string }[];
  /**
   * Added to the SSH user name at login (MikroTik `+ct511w4098h`: no colours, no terminal
   * detection, a wide and tall terminal so nothing pages). Apply it with {@link loginUsername}.
   */
  readonly usernameSuffix?: string;
  /** Lines just above the prompt that belong to it (Junos `[edit interfaces]`): removed from output. */
  readonly promptHeader?: RegExp;
  /** A prompt shape only this vendor family uses, for auto-detection. */
  readonly promptShape?: RegExp;
  /** Command whose output identifies the vendor when the prompt shape is shared. */
  readonly versionCommand?: string;
  /** What `versionCommand` prints on this vendor's devices. */
  readonly versionSignature?: RegExp;
}

/** Pager prompts answered with a space when paging could not be turned off; their text is removed. */
export const PAGER_PROMPTS: readonly RegExp[] = [
  /^\s*-+ ?\(?more(?: \d+%)?\)? ?-+\s*$/i, // --More--, ---(more)---, ---(more 42%)---, -- More --, ---- More ----
  /^\s*<--- More --->\s*$/, // Cisco ASA
  /^\s*-- \[Q quit\|D dump\|down\]\s*$/, // MikroTik
  // `--More-- or (q)uit` (Brocade, Extreme), `-- More --, next page: Space, next line: Enter, quit: Control-C`
  // (Ruckus/Brocade FastIron, Dell), `--More--, next page: Space, next line: Return key, quit: Control-c`.
  /^\s*-+ ?more ?-+,? (?:or \(q\)uit|next page: .*quit: .*)$/i,
  /^\s*Press any key to continue(?: \(Q to quit\))?\s*$/i,
];

const CISCO_FAILURES = [/^\s*% ?(?:Invalid input|Incomplete command|Ambiguous command|Unknown command|Unrecognized command|Invalid command|Bad mask|Bad IP address).*$/m];
const CISCO_ENABLE = { command: 'enable', passwordPrompt: /[Pp]assword:\s*$/, failure: /% ?(?:Access denied|Bad secrets|Error in authentication|Invalid password)/ };
/** What the Cisco-style CLIs (IOS, NX-OS, ASA, EOS) share: `host>`, `host#`, `host(config-if)#`. */
const CISCO_LIKE = {
  basePrompt: /^([^\s>#()]+)(?:\([^)]*\))?[>#]\s*$/,
  prompt: '{base}(?:\\([^)\\r\\n]*\\))?[>#]',
  modes: { config: /\)#\s*$/, privileged: /#\s*$/, user: />\s*$/ },
  configMode: { enter: 'configure terminal', exit: 'end' },
  newline: '\n',
  loginAnswers: [],
  versionCommand: 'show version',
  runningConfig: 'show running-config',
} as const;
/** `copy running-config startup-config`: the destination question and a `[confirm]`, answered with Enter. */
const CISCO_SAVE = {
  command: 'copy running-config startup-config',
  answers: [
    { pattern: /Destination filename \[startup-config\]\?\s*$/, answer: '' },
    { pattern: /\[confirm\]\s*$/, answer: '' },
  ],
};
const VRP_BASE = /^<([^<>\s]+)>\s*$/;
const VRP_PROMPT = '[<\\[]{base}(?:-[^>\\]\\r\\n]*)?[>\\]]';
const VRP_MODES = { config: /^\[.*\]\s*$/, user: /^<.*>\s*$/ };
/** `super`: a higher command level for the same `<name>` prompt. */
const VRP_SUPER = {
  command: 'super',
  passwordPrompt: /[Pp]assword:\s*$/,
  failure: /^\s*(?:Error: .*|% ?.*(?:[Pp]assword|[Aa]uthentication).*|Invalid password.*)$/m,
  promptUnchanged: true,
};

export const ciscoIos: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'cisco_ios',
  aliases: ['cisco_xe', 'cisco_ios_ssh', 'cisco_xr_legacy'],
  vendor: 'Cisco IOS / IOS-XE',
  preparation: ['terminal length 0', 'terminal width 511'],
  enable: CISCO_ENABLE,
  failures: CISCO_FAILURES,
  save: CISCO_SAVE,
  versionSignature: /Cisco IOS/,
};

export const ciscoNxos: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'cisco_nxos',
  vendor: 'Cisco NX-OS',
  preparation: ['terminal length 0', 'terminal width 511'],
  failures: [...CISCO_FAILURES, /^\s*Syntax error while parsing.*$/m],
  save: CISCO_SAVE,
  jsonModifier: ' | json',
  versionSignature: /Cisco Nexus|NX-OS/,
};

export const ciscoAsa: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'cisco_asa',
  vendor: 'Cisco ASA',
  preparation: ['terminal pager 0'],
  enable: CISCO_ENABLE,
  failures: [/^\s*ERROR: .*$/m, ...CISCO_FAILURES],
  save: { command: 'write memory', answers: [] },
  versionSignature: /Adaptive Security Appliance/,
};

export const aristaEos: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'arista_eos',
  vendor: 'Arista EOS',
  preparation: ['terminal length 0', 'terminal width 32767'],
  enable: CISCO_ENABLE,
  failures: CISCO_FAILURES,
  // Config sessions: `configure terminal` applies each line at once; a commit or a dry run goes
  // through a named session instead, committed (or with a timer) or aborted as a whole.
  candidate: {
    optional: true,
    enter: 'configure session {session}',
    commit: 'commit',
    confirmed: 'commit timer {hms}',
    confirm: 'configure session {session} commit',
    confirmInExec: true,
    discard: 'abort',
    compare: 'show session-config diffs',
    failure: /^\s*% ?.*(?:[Ff]ail|[Ee]rror|[Ii]nvalid|not allowed).*$/m,
  },
  save: CISCO_SAVE,
  jsonModifier: ' | json',
  versionSignature: /Arista/,
};

export const juniperJunos: DeviceProfile = {
  name: 'juniper_junos',
  aliases: ['juniper'],
  vendor: 'Juniper Junos',
  basePrompt: /^(\S+@[^\s>#%]+)[>#%]\s*$/,
  prompt: '{base}[>#%]',
  // Operational mode (`>`) has every right a login has: there is no enable.
  modes: { config: /#\s*$/, privileged: />\s*$/ },
  preparation: ['set cli screen-length 0', 'set cli screen-width 511', 'set cli complete-on-space off'],
  configMode: { enter: 'configure', exit: 'exit configuration-mode' },
  candidate: {
    check: 'commit check',
    commit: 'commit',
    confirmed: 'commit confirmed {minutes}',
    confirm: 'commit',
    discard: 'rollback 0',
    compare: 'show | compare',
    failure: /^\s*(?:error: .*|.*(?:commit|check-out) failed.*)$/im,
    exitAnswers: [{ pattern: /uncommitted changes\? \[yes,no\] \(yes\)\s*$/i, answer: 'yes' }],
  },
  runningConfig: 'show configuration',
  jsonModifier: ' | display json',
  failures: [/^\s*(?:syntax error|unknown command)\b.*$/m, /^\s*error: .*$/m],
  newline: '\n',
  loginAnswers: [],
  promptHeader: /^\[edit(?: [^\]]*)?\]$/,
  // Not `SSH@ICX7150>`: Ruckus/Brocade FastIron shows the login method where Junos shows the user.
  // Nor `root@box:~#` or `user@host:~>`: a shell shows a path after a colon, Junos never does.
  promptShape: /^(?!(?:SSH|Telnet|HTTP)@)[^\s:]+@[^\s>#:]+[>#]\s*$/,
  versionSignature: /JUNOS|Junos/,
};

export const mikrotikRouteros: DeviceProfile = {
  name: 'mikrotik_routeros',
  aliases: ['mikrotik'],
  vendor: 'MikroTik RouterOS',
  basePrompt: /^\[([^\]]+)\]\s*(?:\/[^>]*)?>\s*$/,
  prompt: '\\[{base}\\]\\s*(?:/[^>\\r\\n]*)?>',
  modes: { privileged: />\s*$/ },
  // Paging and colours are off through the login name (usernameSuffix).
  preparation: [],
  failures: [/^\s*(?:bad command name|expected end of command|syntax error|failure:|input does not match any value|no such item)\b.*$/m],
  runningConfig: '/export',
  newline: '\r\n',
  loginAnswers: [
    { pattern: /Do you want to see the software license\? \[Y\/n\]:\s*$/, answer: 'n' },
    { pattern: /Press any key to continue\.?\s*$/, answer: '\r' },
  ],
  usernameSuffix: '+ct511w4098h',
  promptShape: /^\[[^\]@\s]+@[^\]]+\]\s*(?:\/\S*)?>\s*$/,
};

export const huaweiVrp: DeviceProfile = {
  name: 'huawei',
  aliases: ['huawei_vrp', 'huawei_vrpv8'],
  vendor: 'Huawei VRP',
  basePrompt: VRP_BASE,
  prompt: VRP_PROMPT,
  modes: VRP_MODES,
  preparation: ['screen-length 0 temporary'],
  enable: VRP_SUPER,
  configMode: { enter: 'system-view', exit: 'return' },
  save: { command: 'save', answers: [{ pattern: /Are you sure to continue\?\s*\[Y\/N\]:?\s*$/i, answer: 'y' }] },
  runningConfig: 'display current-configuration',
  failures: [/^\s*Error: .*$/m],
  newline: '\n',
  loginAnswers: [{ pattern: /Change now\? \[Y\/N\]:\s*$/, answer: 'N\n' }],
  promptShape: /^<[^<>\s]+>\s*$/,
  versionCommand: 'display version',
  versionSignature: /Huawei Versatile Routing Platform|VRP \(R\) software/,
};

export const hpComware: DeviceProfile = {
  name: 'hp_comware',
  aliases: ['hp_comware_ssh', 'h3c_comware'],
  vendor: 'HP Comware / H3C',
  basePrompt: VRP_BASE,
  prompt: VRP_PROMPT,
  modes: VRP_MODES,
  preparation: ['screen-length disable'],
  enable: VRP_SUPER,
  configMode: { enter: 'system-view', exit: 'return' },
  save: { command: 'save force', answers: [] },
  runningConfig: 'display current-configuration',
  failures: [/^\s*% ?(?:Unrecognized command|Incomplete command|Too many parameters|Wrong parameter|Ambiguous command).*$/m],
  newline: '\n',
  loginAnswers: [],
  promptShape: /^<[^<>\s]+>\s*$/,
  versionCommand: 'display version',
  versionSignature: /Comware|H3C/,
};

export const ruckusFastiron: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'ruckus_fastiron',
  aliases: ['brocade_fastiron', 'ruckus_icx'],
  vendor: 'Ruckus / Brocade FastIron (ICX)',
  // `SSH@ICX7150-48>`: the base keeps the `SSH@` the device puts in front of its name.
  preparation: ['skip-page-display'],
  enable: CISCO_ENABLE,
  failures: [/^\s*(?:Invalid input -> .*|Error - .*|Incomplete command\.?)$/m, ...CISCO_FAILURES],
  save: { command: 'write memory', answers: [] },
  promptShape: /^(?:SSH|Telnet)@[^\s>#()]+(?:\([^)]*\))?[>#]\s*$/,
  versionSignature: /FastIron|ICX\d|Ruckus|Brocade/,
};

// Profiles from the vendors' CLI conventions (as netmiko and scrapli describe them): prompts,
// paging, config mode, candidate commits and failure lines. Not checked against real devices here.

export const ciscoXr: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'cisco_xr',
  aliases: ['cisco_iosxr'],
  vendor: 'Cisco IOS-XR',
  // `RP/0/RP0/CPU0:edge1#`, `RP/0/RP0/CPU0:edge1(config-if)#`: the route processor is part of the base.
  basePrompt: /^((?:RP|LC)\/\d+\/\w+\/CPU\d+:[^\s#()]+)(?:\([^)]*\))?#\s*$/,
  prompt: '{base}(?:\\([^)\\r\\n]*\\))?#',
  modes: { config: /\)#\s*$/, privileged: /#\s*$/ },
  preparation: ['terminal length 0', 'terminal width 511'],
  candidate: {
    commit: 'commit',
    confirmed: 'commit confirmed minutes {minutes}',
    confirm: 'commit',
    discard: 'abort',
    compare: 'show commit changes diff',
    failure: /^\s*(?:% ?Failed to commit.*|.*commit failed.*)$/im,
    exitAnswers: [{ pattern: /Uncommitted changes found, commit them.*\[cancel\]:?\s*$/i, answer: 'no' }],
  },
  failures: [...CISCO_FAILURES, /^\s*% ?Failed to commit.*$/m],
  promptShape: /^(?:RP|LC)\/\d+\/\w+\/CPU\d+:\S+#\s*$/,
  versionSignature: /IOS[ -]XR/,
};

export const vyos: DeviceProfile = {
  name: 'vyos',
  vendor: 'VyOS',
  // `vyos@edge:~$` (operational), `vyos@edge#` under an `[edit]` line (configuration).
  basePrompt: /^(\S+@[^\s:#$]+)(?::[^#$\s]*)?[$#]\s*$/,
  prompt: '{base}(?::[^#$\\r\\n]*)?[$#]',
  modes: { config: /#\s*$/, privileged: /\$\s*$/ },
  preparation: ['set terminal length 0', 'set terminal width 512'],
  configMode: { enter: 'configure', exit: 'exit' },
  candidate: {
    commit: 'commit',
    confirmed: 'commit-confirm {minutes}',
    confirmedAnswers: [{ pattern: /Proceed\? \[confirm\]\s*$/, answer: 'y' }],
    confirm: 'confirm',
    discard: 'discard',
    compare: 'compare',
    failure: /^\s*(?:.*[Cc]ommit failed.*|\[\[.*\]\] failed)$/m,
  },
  save: { command: 'save', answers: [], inConfig: true },
  runningConfig: 'show configuration commands',
  failures: [/^\s*(?:Invalid command: .*|Set failed|Delete failed|Configuration path: .* is not valid.*)$/m],
  newline: '\n',
  loginAnswers: [],
  promptHeader: /^\[edit(?: [^\]]*)?\]$/,
};

export const dellOs10: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'dell_os10',
  vendor: 'Dell SmartFabric OS10',
  preparation: ['terminal length 0'],
  failures: [...CISCO_FAILURES, /^\s*% ?Error: .*$/m],
  save: { command: 'write memory', answers: [] },
  versionSignature: /Dell (?:EMC )?(?:SmartFabric )?OS10/,
};

export const dellForce10: DeviceProfile = {
  ...CISCO_LIKE,
  name: 'dell_force10',
  aliases: ['dell_ftos'],
  vendor: 'Dell Force10 (FTOS)',
  preparation: ['terminal length 0'],
  enable: CISCO_ENABLE,
  failures: [...CISCO_FAILURES, /^\s*% ?Error: .*$/m],
  save: { command: 'copy running-config startup-config', answers: [{ pattern: /\[confirm yes\/no\]:?\s*$/i, answer: 'yes' }] },
  versionSignature: /Force10|FTOS|Dell Networking OS/,
};

export const fortinet: DeviceProfile = {
  name: 'fortinet',
  aliases: ['fortios', 'fortigate'],
  vendor: 'Fortinet FortiOS',
  // `FGT60E #`, `FGT60E (interface) #`, `FGT60E (root) $` (a read-only admin: `$`).
  basePrompt: /^([^\s#$()]+)(?: \([^)]*\))? [#$]\s*$/,
  prompt: '{base}(?: \\([^)\\r\\n]*\\))? [#$]',
  modes: { config: /\) [#$]\s*$/, privileged: /#\s*$/ },
  // Paging off would change the device's console settings (`config system console`): its pager is answered instead.
  preparation: [],
  configBlocks: { end: 'end', abort: 'abort' },
  failures: [/^\s*(?:Command fail\. Return code .*|Unknown action .*|entry not found in datasource.*|value parse error.*|command parse error.*)$/m],
  runningConfig: 'show',
  newline: '\n',
  loginAnswers: [],
  versionCommand: 'get system status',
  versionSignature: /FortiGate|FortiOS/,
};

export const paloaltoPanos: DeviceProfile = {
  name: 'paloalto_panos',
  aliases: ['paloalto', 'panos'],
  vendor: 'Palo Alto PAN-OS',
  // `admin@PA-VM>`, `admin@PA-VM(active)>`, `admin@PA-VM#` under an `[edit]` line.
  basePrompt: /^(\S+@[^\s>#()]+)(?:\([^)]*\))?[>#]\s*$/,
  prompt: '{base}(?:\\([^)\\r\\n]*\\))?[>#]',
  modes: { config: /#\s*$/, privileged: />\s*$/ },
  preparation: ['set cli pager off', 'set cli terminal width 500'],
  configMode: { enter: 'configure', exit: 'exit' },
  candidate: { check: 'validate full', commit: 'commit', discard: 'revert config', failure: /^\s*(?:.*[Cc]ommit failed.*|Validation Error:.*|.*validation failed.*)$/im },
  runningConfig: 'show config running',
  failures: [/^\s*(?:Invalid syntax\.?|Unknown command: .*|Server error ?: .*)$/m],
  newline: '\n',
  loginAnswers: [],
  promptHeader: /^\[edit(?: [^\]]*)?\]$/,
  versionCommand: 'show system info',
  versionSignature: /PAN-OS|sw-version/,
};

export const generic: DeviceProfile = {
  name: 'generic',
  aliases: ['generic_termserver', 'terminal_server'],
  vendor: 'generic CLI',
  // `name>`, `name#`, `name(cfg)#`, `name$`, `name%`, `[name]`, and `[user@host ~]$` (a bracket, then `$` or `#`).
  basePrompt: /^(.*?[^\s>#$%\]])(?:\([^)]*\))?(?:\][$#]|[>#$%\]])\s*$/,
  prompt: '{base}(?:\\([^)\\r\\n]*\\))?(?:\\][$#]|[>#$%\\]])',
  modes: CISCO_LIKE.modes,
  // An enable_password given for an unknown CLI is used, not dropped: `enable` is the common word.
  enable: CISCO_ENABLE,
  preparation: [],
  failures: [/^\s*% ?(?:Invalid input|Incomplete command|Unknown command).*$/m, /^\s*(?:syntax error|unknown command)\b.*$/im],
  newline: '\n',
  loginAnswers: [],
};

/** Every built-in profile, in auto-detection order. */
export const DEVICE_PROFILES: readonly DeviceProfile[] = [
  ciscoXr,
  mikrotikRouteros,
  ruckusFastiron,
  juniperJunos,
  hpComware,
  huaweiVrp,
  ciscoNxos,
  ciscoAsa,
  aristaEos,
  ciscoIos,
  // Never picked by prompt shape alone (they look like Junos, a POSIX shell or IOS): by device_type,
  // or by their version command's output.
  dellOs10,
  dellForce10,
  fortinet,
  paloaltoPanos,
  vyos,
  generic,
];

/**
 * The profile for a netmiko `device_type` (or one of its aliases).
 *
 * @throws RangeError naming the known types when there is none.
 */
export function deviceProfile(deviceType: string): DeviceProfile {
  const wanted = deviceType.toLowerCase();
  const found = DEVICE_PROFILES.find((profile) => profile.name === wanted || profile.aliases?.includes(wanted));
  if (!found) {
    throw new RangeError(`unknown device_type ${JSON.stringify(deviceType)}; known: ${DEVICE_PROFILES.map((p) => p.name).join(', ')}, linux, autodetect`);
  }
  return found;
}

/** The SSH user name to log in with: MikroTik wants its terminal options appended. */
export function loginUsername(username: string, profile: DeviceProfile | undefined): string {
  return profile?.usernameSuffix && !username.includes('+') ? `${username}${profile.usernameSuffix}` : username;
}

/** The mode a prompt line shows under `profile` (`user` when nothing says otherwise). */
export function modeOf(profile: DeviceProfile, promptLine: string): DeviceMode {
  if (profile.modes.config?.test(promptLine)) return 'config';
  if (profile.modes.privileged?.test(promptLine)) return 'privileged';
  return 'user';
}

/** The regular expression that matches `profile`'s prompt for `base`, in any mode, as a whole line. */
export function promptPattern(profile: DeviceProfile, base: string): RegExp {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${profile.prompt.replace('{base}', escaped)}\\s*$`);
}
