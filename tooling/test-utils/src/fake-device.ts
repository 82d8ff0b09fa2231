// Fake network devices for FakeHost: each vendor's prompts per mode, its enable password prompt,
// paging (with the vendor's pager prompt and the repaint it sends after a key), config mode, its
// error messages, login questions, and a command that runs until Ctrl+C. Written from the
// vendors' CLI transcripts; writes are split by FakeHost's split policy like any other output.
import type { FakeChannel } from './fake-host';

export type FakeVendor =
  | 'cisco_ios'
  | 'cisco_nxos'
  | 'cisco_asa'
  | 'arista_eos'
  | 'juniper_junos'
  | 'mikrotik_routeros'
  | 'huawei'
  | 'hp_comware'
  | 'ruckus_fastiron'
  | 'cisco_xr'
  | 'vyos'
  | 'dell_os10'
  | 'fortinet'
  | 'paloalto_panos';

export interface FakeDeviceSpec {
  readonly vendor: FakeVendor;
  readonly hostname: string;
  /** Login user (shown in Junos and MikroTik prompts). Default `admin`. */
  readonly username?: string;
  /** Start in user mode; `enable` asks for this secret (`''` is a valid secret). Cisco-like only. */
  readonly enableSecret?: string;
  /** Keep paging on even after the paging-off command (to exercise the pager fallback). */
  readonly ignorePagingOff?: boolean;
  /** MikroTik: ask the software-license question at login. */
  readonly licenseQuestion?: boolean;
  /** Every command line the device received, in order (for assertions). */
  readonly log?: string[];
  /** Called once a prompt after a command's output has been handed to ssh2 (benchmarks). */
  readonly onPromptSent?: () => void;
  /** Sees each command line first; returning true swallows it (a test then drops the connection, say). */
  readonly onCommand?: (line: string) => boolean;
  /** What `show version` prints instead of the vendor's text (an unknown vendor: generic). */
  readonly version?: string;
  /** The pager prompt instead of the vendor's (with ignorePagingOff, to exercise other vendors' pagers). */
  readonly pager?: string;
  /** Huawei/H3C: the login is at level 15 already, so `super` switches without asking a password. */
  readonly superWithoutPassword?: boolean;
  /** Config lines matching this are rejected with the vendor's error. */
  readonly rejectConfig?: RegExp;
  /** Cisco: `copy running-config startup-config` asks `[confirm]` after the destination. */
  readonly saveConfirm?: boolean;
  /**
   * Candidate platforms (Junos, IOS-XR, VyOS, PAN-OS, an EOS config session): a candidate holding
   * a line that matches fails the check and the commit.
   */
  readonly commitFails?: RegExp;
  /** How long one minute of a confirmed commit (or an EOS commit timer) lasts here. Default 60000. */
  readonly minuteMs?: number;
}

type Mode = 'user' | 'privileged' | 'config' | 'config-if';

const PAGE_LINES = 24;

interface Vendor {
  readonly pagingOff: RegExp;
  readonly pager: string;
  /** What the device writes after a pager key, to wipe the pager prompt. */
  readonly pagerErase: string;
  readonly version: string;
  readonly runningConfig: RegExp;
  readonly invalid: (line: string) => string;
  readonly enable: boolean;
}

const CISCO_INVALID = (line: string): string => `${' '.repeat(Math.min(line.length, 4) + 8)}^\n% Invalid input detected at '^' marker.\n`;
const BACKSPACE_ERASE = (n: number): string => `${'\b'.repeat(n)}${' '.repeat(n)}${'\b'.repeat(n)}`;

const VENDORS: Record<FakeVendor, Vendor> = {
  cisco_ios: {
    pagingOff: /^terminal length 0$/,
    pager: ' --More-- ',
    pagerErase: BACKSPACE_ERASE(10),
    version: 'Cisco IOS XE Software, Version 17.09.04a\nCisco IOS Software [Cupertino], Catalyst L3 Switch Software\nrouter uptime is 3 weeks, 2 days\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: CISCO_INVALID,
    enable: true,
  },
  cisco_nxos: {
    pagingOff: /^terminal length 0$/,
    pager: ' --More-- ',
    pagerErase: BACKSPACE_ERASE(10),
    version: 'Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\n  NXOS: version 9.3(8)\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: (line) => `${' '.repeat(Math.min(line.length, 4) + 8)}^\n% Invalid command at '^' marker.\n`,
    enable: false,
  },
  cisco_asa: {
    pagingOff: /^terminal pager 0$/,
    pager: '<--- More --->',
    pagerErase: `\r${' '.repeat(14)}\r`,
    version: 'Cisco Adaptive Security Appliance Software Version 9.16(4)\nDevice Manager Version 7.18(1)\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: (line) => `${' '.repeat(Math.min(line.length, 4) + 8)}^\nERROR: % Invalid input detected at '^' marker.\n`,
    enable: true,
  },
  arista_eos: {
    pagingOff: /^terminal length 0$/,
    pager: ' --More-- ',
    pagerErase: `\r\x1b[K`,
    version: 'Arista DCS-7050SX3-48YC8\nHardware version: 11.00\nSoftware image version: 4.28.3M\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: () => '% Invalid input\n',
    enable: true,
  },
  juniper_junos: {
    pagingOff: /^set cli screen-length 0$/,
    pager: '---(more)---',
    pagerErase: `\r${' '.repeat(40)}\r`,
    version: 'Hostname: router\nModel: mx204\nJunos: 22.4R2.8\nJUNOS OS Kernel 64-bit  [20230601.0b1e3f4_builder_stable_12]\n',
    runningConfig: /^show configuration$/,
    invalid: (line) => `${' '.repeat(Math.min(line.length, 4))}^\nsyntax error, expecting <command>.\n`,
    enable: false,
  },
  mikrotik_routeros: {
    pagingOff: /^$^/,
    pager: '-- [Q quit|D dump|down]',
    pagerErase: `\r${' '.repeat(24)}\r`,
    version: '                  uptime: 1w2d3h\n                 version: 7.12 (stable)\n            board-name: CCR2004-1G-12S+2XS\n',
    runningConfig: /^\/export$/,
    invalid: (line) => `bad command name ${line.split(/\s+/)[0]?.replace(/^\//, '') ?? ''} (line 1 column 1)\n`,
    enable: false,
  },
  huawei: {
    pagingOff: /^screen-length 0 temporary$/,
    pager: '  ---- More ----',
    pagerErase: '\x1b[16D                \x1b[16D',
    version: 'Huawei Versatile Routing Platform Software\nVRP (R) software, Version 8.180 (CE6850 V200R005C10SPC800)\nCopyright (C) 2012-2018 Huawei Technologies Co., Ltd.\n',
    runningConfig: /^display current-configuration$/,
    invalid: () => "                  ^\nError: Unrecognized command found at '^' position.\n",
    enable: false,
  },
  hp_comware: {
    pagingOff: /^screen-length disable$/,
    pager: '  ---- More ----',
    pagerErase: '\x1b[16D                \x1b[16D',
    version: 'HPE Comware Software, Version 7.1.070, Release 3506P06\nCopyright (c) 2010-2021 Hewlett Packard Enterprise Development LP\n',
    runningConfig: /^display current-configuration$/,
    invalid: () => "                  ^\n % Unrecognized command found at '^' position.\n",
    enable: false,
  },
  ruckus_fastiron: {
    pagingOff: /^skip-page-display$/,
    pager: '--More--, next page: Space, next line: Return key, quit: Control-c',
    pagerErase: `\r${' '.repeat(66)}\r`,
    version: 'Copyright (c) Ruckus Networks, Inc. All rights reserved.\n  UNIT 1: compiled on Jun 10 2024 at 01:22:14 labeled as SPR09010f\n  SW: Version 09.0.10fT213\n  HW: Stackable ICX7150-48P-4X1G\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: (line) => `Invalid input -> ${line.split(/\s+/).slice(1).join(' ') || line}\nType ? for a list\n`,
    enable: true,
  },
  cisco_xr: {
    pagingOff: /^terminal length 0$/,
    pager: ' --More-- ',
    pagerErase: BACKSPACE_ERASE(10),
    version: 'Cisco IOS XR Software, Version 7.3.2\nCopyright (c) 2013-2021 by Cisco Systems, Inc.\nBuild Information:\n Built By     : ingunawa\n',
    runningConfig: /^show run(ning-config)?$/,
    invalid: CISCO_INVALID,
    enable: false,
  },
  vyos: {
    pagingOff: /^set terminal length 0$/,
    pager: ':',
    pagerErase: '\r \r',
    version: 'Version:          VyOS 1.4.0\nRelease train:    sagitta\nBuilt by:         autobuild@vyos.net\n',
    runningConfig: /^show configuration commands$/,
    invalid: (line) => `\n  Invalid command: [${line.split(/\s+/)[0] ?? ''}]\n\n`,
    enable: false,
  },
  dell_os10: {
    pagingOff: /^terminal length 0$/,
    pager: '--more--',
    pagerErase: `\r${' '.repeat(8)}\r`,
    version: 'Dell SmartFabric OS10 Enterprise\nCopyright (c) 1999-2023 by Dell Inc. All Rights Reserved.\nOS Version: 10.5.5.1\n',
    runningConfig: /^show run(ning-configuration)?$/,
    invalid: () => '% Error: Unrecognized command.\n',
    enable: false,
  },
  fortinet: {
    pagingOff: /^$^/,
    pager: '--More-- ',
    pagerErase: `\r${' '.repeat(9)}\r`,
    version: 'Version: FortiGate-60E v7.2.5,build1517,230606 (GA.F)\nSerial-Number: FGT60E0000000000\nOperation Mode: NAT\n',
    runningConfig: /^show$/,
    invalid: (line) => `command parse error before '${line.split(/\s+/)[0] ?? ''}'\nCommand fail. Return code -61\n`,
    enable: false,
  },
  paloalto_panos: {
    pagingOff: /^set cli pager off$/,
    pager: 'lines 1-24 ',
    pagerErase: `\r${' '.repeat(11)}\r`,
    version: 'hostname: PA-VM\nmodel: PA-VM\nsw-version: 11.0.2\n',
    runningConfig: /^show config running$/,
    invalid: () => 'Invalid syntax.\n',
    enable: false,
  },
};

/** Vendors with `user@host` prompts and `set` lines in an `[edit]` config mode. */
const SET_VENDORS: readonly FakeVendor[] = ['juniper_junos', 'vyos', 'paloalto_panos'];

/** Questions each vendor asks before acting, and what it prints once answered. */
const CONFIRMS: readonly { readonly vendors: readonly FakeVendor[] | 'cisco'; readonly command: RegExp; readonly question: string; readonly key?: boolean; readonly done: string }[] = [
  { vendors: 'cisco', command: /^clear counters$/, question: 'Clear "show interface" counters on all interfaces [confirm]', key: true, done: '' },
  { vendors: ['cisco_nxos'], command: /^reload$/, question: 'This command will reboot the system. (y/n)?  [n] ', done: 'reload cancelled' },
  { vendors: ['juniper_junos'], command: /^request system reboot$/, question: 'Reboot the system ? [yes,no] (no) ', done: 'Reboot cancelled' },
  { vendors: ['huawei', 'hp_comware'], command: /^save$/, question: 'The current configuration will be written to the device. Are you sure to continue?[Y/N]:', done: 'Info: Save the configuration successfully.' },
  { vendors: ['mikrotik_routeros'], command: /^\/system reboot$/, question: 'Reboot, yes? [y/N]: ', key: true, done: 'action cancelled' },
];

/** Builds an `onShell` callback for FakeHost that behaves like `spec`'s device. */
export function fakeDevice(spec: FakeDeviceSpec): (shell: FakeChannel) => void {
  return (shell) => new DeviceCli(shell, spec).start();
}

/** The configuration a long listing prints: 60 lines, with `#` and `>` inside. */
export function fakeConfigLines(hostname: string): string[] {
  const lines = [`hostname ${hostname}`, '! comment with # and > inside: a#b c>d'];
  for (let i = 1; lines.length < 60; i++) lines.push(i % 5 === 0 ? '!' : ` description port-${i} -> uplink #${i}`);
  return lines;
}

class DeviceCli {
  readonly #shell: FakeChannel;
  readonly #spec: FakeDeviceSpec;
  readonly #vendor: Vendor;
  #hostname: string;
  #mode: Mode;
  #paging = true;
  #echo = true;
  #input = '';
  /** What the device waits for: a command line, a password, a pager key, a question's answer, Ctrl+C. */
  #state: 'login' | 'line' | 'password' | 'pager' | 'question' | 'running' = 'line';
  #passwordTries = 0;
  #pending: string[] = [];
  #ticker: NodeJS.Timeout | undefined;
  #questionThen: ((answer: string) => void) | undefined;
  /** Config lines the device runs, beyond the base listing (shown by its running-config command). */
  #applied: string[] = [];
  /** What the save command saved. */
  #startup: string[] | undefined;
  /** Candidate platforms: the candidate being edited (Junos and PAN-OS keep it across config mode). */
  #candidate: string[] = [];
  /** Arista: the config session being edited. */
  #session: string | undefined;
  /** A confirmed commit (or EOS commit timer) waiting for its confirmation. */
  #confirmTimer: NodeJS.Timeout | undefined;
  #timerSession: string | undefined;
  /** FortiOS: the `config` and `edit` levels entered, and the `set` lines of the open edit. */
  #forti: { readonly kind: 'config' | 'edit'; readonly name: string }[] = [];
  #fortiPending: string[] = [];

  constructor(shell: FakeChannel, spec: FakeDeviceSpec) {
    this.#shell = shell;
    this.#spec = spec;
    const pager = spec.pager === undefined ? {} : { pager: spec.pager, pagerErase: `\r${' '.repeat(spec.pager.length)}\r` };
    this.#vendor = { ...VENDORS[spec.vendor], ...(spec.version === undefined ? {} : { version: spec.version }), ...pager };
    this.#hostname = spec.hostname;
    this.#mode = spec.enableSecret !== undefined && this.#vendor.enable ? 'user' : 'privileged';
  }

  start(): void {
    this.#shell.onData((text) => this.#onInput(text));
    if (this.#spec.vendor === 'mikrotik_routeros') {
      void this.#write(`\n\n  MMM      MMM       KKK                          TTTTTTTTTTT      KKK\n  MikroTik RouterOS 7.12 (c) 1999-2023       https://www.mikrotik.com/\n\n`);
      if (this.#spec.licenseQuestion) {
        this.#ask('Do you want to see the software license? [Y/n]: ', () => void this.#write(`\n${this.#prompt()}`), true);
        return;
      }
    } else if (this.#spec.vendor === 'juniper_junos') {
      void this.#write(`Last login: Tue Nov 24 10:00:00 2026 from 10.0.0.1\n--- JUNOS 22.4R2.8 Kernel 64-bit\n`);
    } else if (this.#spec.vendor === 'vyos') {
      void this.#write('Welcome to VyOS!\n\n  VyOS 1.4.0 (sagitta)\n\n');
    } else if (this.#spec.vendor === 'huawei') {
      void this.#write('\nInfo: The max number of VTY users is 21, the number of current VTY users online is 1.\n');
    } else {
      void this.#write('\n\nUnauthorized access to this device is prohibited.\n\n');
    }
    void this.#write(this.#prompt());
  }

  #prompt(): string {
    const h = this.#hostname;
    const user = this.#spec.username ?? 'admin';
    switch (this.#spec.vendor) {
      case 'juniper_junos':
        return this.#mode === 'config' || this.#mode === 'config-if' ? `\n[edit]\n${user}@${h}# ` : `${user}@${h}> `;
      case 'mikrotik_routeros':
        return `[${user}@${h}] > `;
      case 'cisco_xr': {
        const rp = `RP/0/RP0/CPU0:${h}`;
        return this.#mode === 'config' ? `${rp}(config)#` : this.#mode === 'config-if' ? `${rp}(config-if)#` : `${rp}#`;
      }
      case 'vyos':
        return this.#inConfig() ? `\n[edit]\n${user}@${h}# ` : `${user}@${h}:~$ `;
      case 'paloalto_panos':
        return this.#inConfig() ? `\n[edit]\n${user}@${h}# ` : `${user}@${h}> `;
      case 'fortinet': {
        const level = this.#forti.at(-1);
        return level ? `${h} (${level.name}) # ` : `${h} # `;
      }
      case 'ruckus_fastiron':
        return this.#mode === 'user' ? `SSH@${h}>` : this.#mode === 'privileged' ? `SSH@${h}#` : this.#mode === 'config' ? `SSH@${h}(config)#` : `SSH@${h}(config-if-e1000-1/1/1)#`;
      case 'huawei':
      case 'hp_comware':
        return this.#mode === 'config' ? `[${h}]` : this.#mode === 'config-if' ? `[${h}-GigabitEthernet0/0/1]` : `<${h}>`;
      default: {
        const session = this.#session === undefined ? '' : `-s-${this.#session.slice(0, 6)}`;
        const ifMode = this.#spec.vendor === 'arista_eos' ? `config${session}-if-Et1` : this.#spec.vendor === 'dell_os10' ? 'conf-if-eth1/1/1' : 'config-if';
        return this.#mode === 'user' ? `${h}>` : this.#mode === 'privileged' ? `${h}#` : this.#mode === 'config' ? `${h}(config${session})#` : `${h}(${ifMode})#`;
      }
    }
  }

  #write(text: string): Promise<void> {
    return this.#shell.write(text.replace(/\r?\n/g, '\r\n'));
  }

  #questionKey = false;

  /** Asks a question answered by a line, or (`key`) by a single key press. */
  #ask(question: string, then: (answer: string) => void, key = false): void {
    this.#state = 'question';
    this.#questionKey = key;
    this.#questionThen = then;
    void this.#write(question);
  }

  #onInput(text: string): void {
    for (const ch of text) {
      if (this.#state === 'pager') {
        this.#pagerKey(ch);
        continue;
      }
      if (this.#state === 'question' && this.#questionKey) {
        this.#onLine(ch);
        continue;
      }
      if (ch === '\x03') {
        this.#ctrlC();
        continue;
      }
      if (this.#state === 'running') continue;
      if (ch === '\r' || ch === '\n') {
        // \r\n (MikroTik) is one Enter.
        if (ch === '\n' && this.#lastWasCr) {
          this.#lastWasCr = false;
          continue;
        }
        this.#lastWasCr = ch === '\r';
        const line = this.#input;
        this.#input = '';
        if (this.#echo || this.#state === 'password') void this.#write('\n');
        this.#onLine(line);
        continue;
      }
      this.#lastWasCr = false;
      this.#input += ch;
      if (this.#echo) void this.#shell.write(ch);
    }
  }

  #lastWasCr = false;

  #ctrlC(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#input = '';
    this.#echo = true;
    this.#state = 'line';
    this.#pending = [];
    void this.#write(`^C\n${this.#prompt()}`);
  }

  #pagerKey(key: string): void {
    void this.#write(this.#vendor.pagerErase);
    if (key === 'q' || key === 'Q') {
      this.#pending = [];
      this.#state = 'line';
      void this.#write(`\n${this.#prompt()}`);
      return;
    }
    this.#state = 'line';
    this.#page();
  }

  /** Prints pending output a page at a time while paging is on. */
  #page(): void {
    const chunk = this.#paging ? this.#pending.splice(0, PAGE_LINES) : this.#pending.splice(0);
    void this.#write(chunk.map((line) => `${line}\n`).join(''));
    if (this.#pending.length > 0) {
      this.#state = 'pager';
      void this.#write(this.#vendor.pager);
      return;
    }
    void this.#write(this.#prompt()).then(() => this.#spec.onPromptSent?.());
  }

  #reply(text: string): void {
    this.#pending = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    this.#page();
  }

  #onLine(raw: string): void {
    if (this.#state === 'question') {
      this.#state = 'line';
      const then = this.#questionThen;
      this.#questionThen = undefined;
      then?.(raw);
      return;
    }
    if (this.#state === 'password' && (this.#spec.vendor === 'huawei' || this.#spec.vendor === 'hp_comware')) {
      // `super`: one try, and the prompt stays `<name>` either way.
      this.#echo = true;
      this.#state = 'line';
      if (raw === this.#spec.enableSecret) this.#mode = 'privileged';
      const said = raw === this.#spec.enableSecret ? 'Now user privilege is 15 level, and only those commands whose level is equal to or less than this level can be used.' : 'Error: Password is wrong.';
      void this.#write(`${said}\n${this.#prompt()}`);
      return;
    }
    if (this.#state === 'password') {
      this.#echo = true;
      if (raw === this.#spec.enableSecret) {
        this.#state = 'line';
        this.#mode = 'privileged';
        void this.#write(this.#prompt());
      } else if (++this.#passwordTries < 3) {
        this.#echo = false;
        void this.#write('Password: ');
      } else {
        this.#state = 'line';
        void this.#write(`% Bad secrets\n\n${this.#prompt()}`);
      }
      return;
    }
    const line = raw.trim();
    this.#spec.log?.push(line);
    if (this.#spec.onCommand?.(line)) return;
    if (line === '') {
      void this.#write(this.#prompt());
      return;
    }
    this.#command(line);
  }

  #inConfig(): boolean {
    return this.#mode === 'config' || this.#mode === 'config-if';
  }

  /** The candidate holds what the running configuration does not (or misses what it has). */
  #changed(): boolean {
    return this.#candidate.length !== this.#applied.length || this.#candidate.some((entry, i) => entry !== this.#applied[i]);
  }

  /** The candidate line that makes a check or a commit fail (spec.commitFails). */
  #failing(): string | undefined {
    return this.#spec.commitFails && this.#candidate.find((entry) => this.#spec.commitFails?.test(entry));
  }

  /** Applies the candidate; with `minutes`, rolled back unless confirmed in time. */
  #commit(minutes?: number, session?: string): void {
    const before = [...this.#applied];
    this.#confirmed();
    this.#applied = [...this.#candidate];
    if (minutes === undefined) return;
    this.#timerSession = session;
    this.#confirmTimer = setTimeout(() => {
      // Not confirmed in time: the device goes back to what it ran before.
      this.#confirmTimer = undefined;
      this.#applied = before;
      this.#candidate = [...before];
    }, minutes * (this.#spec.minuteMs ?? 60_000));
    this.#confirmTimer.unref();
  }

  #confirmed(): void {
    clearTimeout(this.#confirmTimer);
    this.#confirmTimer = undefined;
    this.#timerSession = undefined;
  }

  /** A config line stored where this mode keeps it: the candidate, or the running configuration. */
  #store(line: string, candidate: boolean): void {
    const removed = /^(?:no|delete|unset) (.+)$/.exec(line)?.[1];
    const target = candidate ? this.#candidate : this.#applied;
    const kept = removed !== undefined && removed !== 'shutdown' ? target.filter((entry) => entry !== removed && !entry.startsWith(`set ${removed}`)) : [...target, line];
    if (candidate) this.#candidate = kept;
    else this.#applied = kept;
  }

  #command(line: string): void {
    const v = this.#vendor;
    const vendor = this.#spec.vendor;
    const cisco = ['cisco_ios', 'cisco_nxos', 'cisco_asa', 'arista_eos', 'ruckus_fastiron', 'cisco_xr', 'dell_os10'].includes(vendor);
    const vrp = vendor === 'huawei' || vendor === 'hp_comware';
    if (v.pagingOff.test(line)) {
      if (!this.#spec.ignorePagingOff) this.#paging = false;
      return this.#reply('');
    }
    if (/^(terminal width \d+|set cli screen-width \d+|set cli complete-on-space off|set terminal width \d+|set cli terminal width \d+)$/.test(line)) return this.#reply('');
    if (cisco && line === 'enable' && v.enable) {
      if (this.#mode !== 'user') return this.#reply('');
      this.#state = 'password';
      this.#passwordTries = 0;
      this.#echo = false;
      void this.#write('Password: ');
      return;
    }
    if (vrp && line === 'super' && this.#spec.superWithoutPassword) {
      return this.#reply('Now user privilege is 3 level, and only those commands whose level is equal to or less than this level can be used.');
    }
    if (vrp && line === 'super' && this.#spec.enableSecret !== undefined) {
      this.#state = 'password';
      this.#echo = false;
      void this.#write('Password:');
      return;
    }
    if (cisco && line === 'disable') {
      this.#mode = 'user';
      return this.#reply('');
    }
    if (/^(show|display) version$/.test(line) || (vendor === 'mikrotik_routeros' && line === '/system resource print')) return this.#reply(v.version);
    if ((vendor === 'fortinet' && line === 'get system status') || (vendor === 'paloalto_panos' && line === 'show system info')) return this.#reply(v.version);
    if (v.runningConfig.test(line) && !(vendor === 'fortinet' && this.#forti.length > 0)) {
      if (cisco && this.#mode === 'user') return this.#reply(v.invalid(line));
      return this.#reply([...fakeConfigLines(this.#hostname), ...this.#applied].join('\n'));
    }
    if (cisco && line === 'show startup-config') return this.#reply((this.#startup ?? ['startup-config is not present']).join('\n'));
    const json = /^(show \S.*?) \| (?:json|display json)$/.exec(line);
    if (json && (vendor === 'cisco_nxos' || vendor === 'arista_eos' || vendor === 'juniper_junos')) {
      if (json[1] === 'show version') return this.#reply(JSON.stringify({ hostname: this.#hostname, version: vendor === 'juniper_junos' ? '22.4R2.8' : '9.3(8)', uptime: { days: 23 } }, null, 2));
      if (json[1] === 'show interfaces') return this.#reply(JSON.stringify({ interfaces: [{ name: 'Ethernet1', up: true }, { name: 'Ethernet2', up: false }] }, null, 2));
      return this.#reply(v.invalid(line));
    }
    const confirm = CONFIRMS.find((entry) => (entry.vendors === 'cisco' ? cisco : entry.vendors.includes(vendor)) && entry.command.test(line));
    if (confirm) {
      this.#ask(confirm.question, (answer) => {
          // A key press is not echoed; the device moves to a new line itself.
          if (confirm.key) void this.#write('\n');
          this.#reply(/^(?:y|yes|)$/i.test(answer.trim()) ? confirm.done : 'Cancelled.');
        }, confirm.key);
      return;
    }
    if (/^(show clock|display clock|\/system clock print)$/.test(line)) return this.#reply('*10:00:00.000 UTC Wed Nov 25 2026');
    if (/^(ping|\/ping) /.test(line)) {
      this.#state = 'running';
      let n = 0;
      void this.#write('Type escape sequence to abort.\n');
      this.#ticker = setInterval(() => void this.#write(`reply ${++n} from ${line.split(' ')[1] ?? ''}\n`), 100);
      return;
    }
    if (cisco) return this.#cisco(line);
    if (SET_VENDORS.includes(vendor)) return this.#setStyle(line);
    if (vendor === 'fortinet') return this.#fortinet(line);
    if (vrp) {
      if (line === 'system-view') {
        this.#mode = 'config';
        return this.#reply('Enter system view, return user view with return command.');
      }
      if (this.#mode !== 'user') {
        if (/^interface \S+/.test(line)) {
          this.#mode = 'config-if';
          return this.#reply('');
        }
        const rename = /^sysname (\S+)$/.exec(line);
        if (rename?.[1]) {
          this.#hostname = rename[1];
          return this.#reply('');
        }
        if (line === 'quit') {
          this.#mode = this.#mode === 'config-if' ? 'config' : 'user';
          return this.#reply('');
        }
        if (line === 'return') {
          this.#mode = 'user';
          return this.#reply('');
        }
        if (/^(description|undo shutdown|shutdown)\b/.test(line)) return this.#reply('');
      }
    }
    if (vendor === 'mikrotik_routeros' && /^\/interface print$/.test(line)) {
      return this.#reply('Flags: R - RUNNING\nColumns: NAME, TYPE, MTU\n#   NAME    TYPE   MTU\n0 R ether1  ether  1500\n1 R ether2  ether  1500');
    }
    return this.#reply(v.invalid(line));
  }

  /** The Cisco-style CLIs: config terminal, IOS-XR's candidate (commit, abort), Arista config sessions. */
  #cisco(line: string): void {
    const v = this.#vendor;
    const vendor = this.#spec.vendor;
    const xr = vendor === 'cisco_xr';
    const save = (): void => {
      this.#startup = [...fakeConfigLines(this.#hostname), ...this.#applied];
      this.#reply(vendor === 'dell_os10' ? '' : 'Building configuration...\n[OK]');
    };
    if (line === 'copy running-config startup-config') {
      if (this.#mode === 'user') return this.#reply(v.invalid(line));
      this.#ask('Destination filename [startup-config]? ', () => {
        if (!this.#spec.saveConfirm) return save();
        this.#ask('Overwrite the previous NVRAM configuration?[confirm]', (answer) => (answer === '' || /^y/i.test(answer) ? save() : this.#reply('%Aborted')));
      });
      return;
    }
    if (line === 'write memory' && vendor !== 'cisco_xr' && this.#mode !== 'user') return save();
    const sessionCommit = vendor === 'arista_eos' ? /^configure session (\S+) commit$/.exec(line) : null;
    if (sessionCommit) {
      // Confirms a commit timer from outside the session.
      if (this.#confirmTimer === undefined || this.#timerSession !== sessionCommit[1]) return this.#reply(`% No pending commit timer for session ${sessionCommit[1] ?? ''}`);
      this.#confirmed();
      return this.#reply('');
    }
    const session = vendor === 'arista_eos' ? /^configure session (\S+)$/.exec(line) : null;
    if (session?.[1]) {
      if (this.#mode === 'user') return this.#reply(v.invalid(line));
      this.#session = session[1];
      this.#candidate = [...this.#applied];
      this.#mode = 'config';
      return this.#reply('');
    }
    if (/^conf(igure)?( t(erminal)?)?$/.test(line)) {
      if (this.#mode === 'user') return this.#reply(v.invalid(line));
      if (this.#inConfig()) return this.#reply(v.invalid(line));
      this.#mode = 'config';
      if (xr) this.#candidate = [...this.#applied];
      return this.#reply(xr ? '' : 'Enter configuration commands, one per line.  End with CNTL/Z.');
    }
    if (!this.#inConfig()) return this.#reply(v.invalid(line));
    const candidate = xr || this.#session !== undefined;
    if (/^interface \S+/.test(line)) {
      this.#mode = 'config-if';
      return this.#reply('');
    }
    const rename = /^hostname (\S+)$/.exec(line);
    if (rename?.[1]) {
      this.#hostname = rename[1];
      return this.#reply('');
    }
    const leave = (): void => {
      this.#mode = 'privileged';
      this.#session = undefined;
    };
    if (candidate) {
      const failed = this.#failing();
      const xrConfirmed = xr ? /^commit confirmed minutes (\d+)$/.exec(line) : null;
      const timer = !xr ? /^commit timer (\d\d):(\d\d):(\d\d)$/.exec(line) : null;
      if (line === 'commit' || xrConfirmed || timer) {
        if (failed) {
          return this.#reply(
            xr
              ? "% Failed to commit one or more configuration items during a pseudo-atomic operation. All changes made have been reverted. Please issue 'show configuration failed [inheritance]' from this session to view the errors"
              : `% Failed to commit session ${this.#session ?? ''}: invalid configuration: ${failed}`,
          );
        }
        const minutes = xrConfirmed ? Number(xrConfirmed[1]) : timer ? Number(timer[1]) * 60 + Number(timer[2]) + Number(timer[3]) / 60 : undefined;
        // IOS-XR: a plain commit of nothing new confirms a confirmed one.
        if (xr && line === 'commit' && !this.#changed() && this.#confirmTimer !== undefined) {
          this.#confirmed();
          return this.#reply('');
        }
        this.#commit(minutes, this.#session);
        if (!xr) leave();
        return this.#reply('');
      }
      if (line === 'abort') {
        this.#candidate = [...this.#applied];
        leave();
        return this.#reply('');
      }
      if ((xr && line === 'show commit changes diff') || (!xr && line === 'show session-config diffs')) {
        const added = this.#candidate.filter((entry) => !this.#applied.includes(entry));
        const gone = this.#applied.filter((entry) => !this.#candidate.includes(entry));
        if (added.length + gone.length === 0) return this.#reply(xr ? '% No such configuration item(s)' : '');
        const header = xr ? ['Building configuration...', '!! IOS XR Configuration 7.3.2'] : ['--- system:/running-config', `+++ session:/${this.#session ?? ''}-session-config`, '@@ -1 +1 @@'];
        return this.#reply([...header, ...gone.map((entry) => `-  ${entry}`), ...added.map((entry) => `+  ${entry}`), ...(xr ? ['end'] : [])].join('\n'));
      }
      if (xr && line === 'end' && this.#changed()) {
        this.#ask('Uncommitted changes found, commit them before exiting(yes/no/cancel)? [cancel]:', (answer) => {
          const said = answer.trim().toLowerCase();
          if (said === 'yes') this.#commit();
          if (said === 'no') this.#candidate = [...this.#applied];
          if (said === 'yes' || said === 'no') leave();
          this.#reply('');
        });
        return;
      }
    }
    if (line === 'end') {
      // An EOS session left by `end` stays pending, uncommitted.
      leave();
      return this.#reply('');
    }
    if (line === 'exit') {
      if (this.#mode === 'config-if') this.#mode = 'config';
      else leave();
      return this.#reply('');
    }
    if (this.#spec.rejectConfig?.test(line)) return this.#reply(v.invalid(line));
    if (/^(description|ip address|shutdown|no shutdown|logging|ntp server|snmp-server|banner|ip route|no )\b/.test(line)) {
      this.#store(line, candidate);
      return this.#reply('');
    }
    return this.#reply(v.invalid(line));
  }

  /** Junos, VyOS, PAN-OS: `configure`, `set`/`delete` lines in a candidate, check, commit, rollback. */
  #setStyle(line: string): void {
    const v = this.#vendor;
    const vendor = this.#spec.vendor;
    if (line === 'configure') {
      if (this.#inConfig()) return this.#reply(v.invalid(line));
      this.#mode = 'config';
      if (vendor === 'vyos') this.#candidate = [...this.#applied];
      return this.#reply(vendor === 'vyos' ? '' : 'Entering configuration mode');
    }
    if (!this.#inConfig()) return this.#reply(v.invalid(line));
    const set = /^(?:set|delete) (.+)$/.exec(line);
    if (set?.[1] !== undefined) {
      if (this.#spec.rejectConfig?.test(line)) {
        if (vendor === 'vyos') return this.#reply(`\n  Configuration path: [${set[1]}] is not valid\n  ${line.startsWith('set') ? 'Set' : 'Delete'} failed\n`);
        return this.#reply(v.invalid(line));
      }
      this.#store(line, true);
      return this.#reply('');
    }
    const failing = this.#failing()?.replace(/^set /, '');
    const compare = { juniper_junos: 'show | compare', vyos: 'compare' }[vendor as string];
    if (line === compare) {
      const added = this.#candidate.filter((entry) => !this.#applied.includes(entry)).map((entry) => `+  ${entry.slice(4)}`);
      const gone = this.#applied.filter((entry) => !this.#candidate.includes(entry)).map((entry) => `-  ${entry.slice(4)}`);
      if (added.length + gone.length === 0) return this.#reply(vendor === 'vyos' ? 'No changes between working and active configurations.' : '');
      return this.#reply(['[edit]', ...gone, ...added].join('\n'));
    }
    const check = { juniper_junos: 'commit check', paloalto_panos: 'validate full' }[vendor as string];
    if (line === check) {
      if (vendor === 'paloalto_panos') return this.#reply(failing ? `Validation Error:\n ${failing} is invalid\nvalidation failed` : 'Validation succeeded');
      return this.#reply(failing ? `[edit]\n  '${failing}'\n    error: mandatory statement missing\nerror: configuration check-out failed` : 'configuration check succeeds');
    }
    const confirmed = vendor === 'juniper_junos' ? /^commit confirmed (\d+)$/.exec(line) : vendor === 'vyos' ? /^commit-confirm (\d+)$/.exec(line) : null;
    if (line === 'commit' || confirmed) {
      if (failing) {
        if (vendor === 'vyos') return this.#reply(`\n[ ${failing} ]\nVyOS error: mandatory statement missing\n\n[[${failing}]] failed\nCommit failed`);
        if (vendor === 'paloalto_panos') return this.#reply(`Commit job 7 is in progress. Use Ctrl+C to return to command prompt\nValidation Error:\n ${failing} is invalid\nCommit failed`);
        return this.#reply(`[edit]\n  '${failing}'\n    error: mandatory statement missing\nerror: configuration check-out failed\nerror: commit failed: (missing statements)`);
      }
      const minutes = confirmed ? Number(confirmed[1]) : undefined;
      if (vendor === 'vyos' && minutes !== undefined) {
        this.#ask(`commit-confirm will automatically reboot in ${minutes} minutes unless confirmed\nProceed? [confirm]`, (answer) => {
          if (!/^(?:y|yes|)$/i.test(answer.trim())) return this.#reply('commit-confirm canceled');
          this.#commit(minutes);
          this.#reply(`Initialized commit-confirm; ${minutes} minutes to confirm before rollback`);
        });
        return;
      }
      this.#commit(minutes);
      if (vendor === 'vyos') return this.#reply('');
      if (vendor === 'paloalto_panos') return this.#reply('Commit job 7 is in progress. Use Ctrl+C to return to command prompt\n...55%...100%\nConfiguration committed successfully');
      return this.#reply(minutes === undefined ? 'commit complete' : `commit confirmed will be automatically rolled back in ${minutes} minutes unless confirmed\ncommit complete`);
    }
    if (vendor === 'vyos' && line === 'confirm') {
      if (this.#confirmTimer === undefined) return this.#reply('No confirmation required');
      this.#confirmed();
      return this.#reply('');
    }
    const discard = { juniper_junos: 'rollback 0', vyos: 'discard', paloalto_panos: 'revert config' }[vendor as string];
    if (line === discard) {
      this.#candidate = [...this.#applied];
      return this.#reply(vendor === 'juniper_junos' ? 'load complete' : vendor === 'vyos' ? '  Changes have been discarded' : '');
    }
    if (vendor === 'vyos' && line === 'save') {
      this.#startup = [...this.#applied];
      return this.#reply("Saving configuration to '/config/config.boot'...\nDone");
    }
    if (line === 'exit configuration-mode' || line === 'exit') {
      const leave = (): void => {
        this.#mode = 'privileged';
        this.#reply(vendor === 'juniper_junos' ? 'Exiting configuration mode' : vendor === 'vyos' ? 'exit' : '');
      };
      if (!this.#changed() || vendor === 'paloalto_panos') return leave();
      if (vendor === 'vyos') return this.#reply("Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes and exit.");
      this.#ask('The configuration has been changed but not committed\nExit with uncommitted changes? [yes,no] (yes) ', (answer) => (/^(?:y|yes|)$/i.test(answer.trim()) ? leave() : this.#reply('')));
      return;
    }
    return this.#reply(v.invalid(line));
  }

  /** FortiOS: `config` / `edit` levels; `set` lines apply at `next` or `end`; `abort` drops them. */
  #fortinet(line: string): void {
    const v = this.#vendor;
    const enter = /^(config|edit) (.+)$/.exec(line);
    if (enter?.[1] && enter[2]) {
      if (enter[1] === 'edit' && this.#forti.at(-1)?.kind !== 'config') return this.#reply(v.invalid(line));
      this.#forti.push({ kind: enter[1] as 'config' | 'edit', name: enter[1] === 'config' ? (enter[2].split(/\s+/).at(-1) as string) : enter[2].replace(/^"|"$/g, '') });
      this.#mode = 'config';
      return this.#reply('');
    }
    if (this.#forti.length === 0) return this.#reply(v.invalid(line));
    const path = (): string => this.#forti.map((level) => `${level.kind} ${level.name}`).join(' / ');
    if (/^(set|unset) \S+/.test(line)) {
      if (this.#spec.rejectConfig?.test(line)) return this.#reply(`value parse error before '${line.split(/\s+/).at(-1) ?? ''}'\nCommand fail. Return code -651`);
      this.#fortiPending.push(`${path()}: ${line}`);
      return this.#reply('');
    }
    const pop = (kind: 'config' | 'edit'): void => {
      this.#applied.push(...this.#fortiPending);
      this.#fortiPending = [];
      while (this.#forti.length > 0) if (this.#forti.pop()?.kind === kind) break;
      if (this.#forti.length === 0) this.#mode = 'privileged';
    };
    if (line === 'next') {
      if (this.#forti.at(-1)?.kind !== 'edit') return this.#reply(v.invalid(line));
      pop('edit');
      return this.#reply('');
    }
    if (line === 'end') {
      pop('config');
      return this.#reply('');
    }
    if (line === 'abort') {
      this.#fortiPending = [];
      while (this.#forti.length > 0) if (this.#forti.pop()?.kind === 'config') break;
      if (this.#forti.length === 0) this.#mode = 'privileged';
      return this.#reply('');
    }
    return this.#reply(v.invalid(line));
  }

}
