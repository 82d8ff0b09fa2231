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
  | 'ruckus_fastiron';

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
  /** Config lines matching this are rejected with the vendor's error (Cisco-like and Junos). */
  readonly rejectConfig?: RegExp;
  /** Cisco: `copy running-config startup-config` asks `[confirm]` after the destination. */
  readonly saveConfirm?: boolean;
  /** Junos: a candidate holding a line that matches fails `commit check` and `commit`. */
  readonly commitFails?: RegExp;
  /** Junos: how long one minute of `commit confirmed <minutes>` lasts here. Default 60000. */
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
};

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
  /** Cisco-like: config lines applied (shown after the listing by `show running-config`). */
  #applied: string[] = [];
  /** Cisco-like: what `copy running-config startup-config` saved. */
  #startup: string[] | undefined;
  /** Junos: the committed configuration and the candidate being edited (`set` lines). */
  #committed: string[] = [];
  #candidate: string[] = [];
  /** Junos: a `commit confirmed` waiting for its confirmation, and what it rolls back to. */
  #confirmTimer: NodeJS.Timeout | undefined;

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
      case 'ruckus_fastiron':
        return this.#mode === 'user' ? `SSH@${h}>` : this.#mode === 'privileged' ? `SSH@${h}#` : this.#mode === 'config' ? `SSH@${h}(config)#` : `SSH@${h}(config-if-e1000-1/1/1)#`;
      case 'huawei':
      case 'hp_comware':
        return this.#mode === 'config' ? `[${h}]` : this.#mode === 'config-if' ? `[${h}-GigabitEthernet0/0/1]` : `<${h}>`;
      default: {
        const ifMode = this.#spec.vendor === 'arista_eos' ? 'config-if-Et1' : 'config-if';
        return this.#mode === 'user' ? `${h}>` : this.#mode === 'privileged' ? `${h}#` : this.#mode === 'config' ? `${h}(config)#` : `${h}(${ifMode})#`;
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

  #command(line: string): void {
    const v = this.#vendor;
    const vendor = this.#spec.vendor;
    const cisco = !['juniper_junos', 'mikrotik_routeros', 'huawei', 'hp_comware'].includes(vendor);
    const vrp = vendor === 'huawei' || vendor === 'hp_comware';
    if (v.pagingOff.test(line)) {
      if (!this.#spec.ignorePagingOff) this.#paging = false;
      return this.#reply('');
    }
    if (/^(terminal width \d+|set cli screen-width \d+|set cli complete-on-space off)$/.test(line)) return this.#reply('');
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
    if (v.runningConfig.test(line)) {
      if (cisco && this.#mode === 'user') return this.#reply(v.invalid(line));
      const extra = vendor === 'juniper_junos' ? this.#committed : cisco ? this.#applied : [];
      return this.#reply([...fakeConfigLines(this.#hostname), ...extra].join('\n'));
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
    if (cisco && line === 'copy running-config startup-config') {
      if (this.#mode === 'user') return this.#reply(v.invalid(line));
      const save = (): void => {
        this.#startup = [...fakeConfigLines(this.#hostname), ...this.#applied];
        this.#reply('Building configuration...\n[OK]');
      };
      this.#ask('Destination filename [startup-config]? ', () => {
        if (!this.#spec.saveConfirm) return save();
        this.#ask('Overwrite the previous NVRAM configuration?[confirm]', (answer) => (answer === '' || /^y/i.test(answer) ? save() : this.#reply('%Aborted')));
      });
      return;
    }
    if (cisco) {
      if (/^conf(igure)?( t(erminal)?)?$/.test(line)) {
        if (this.#mode === 'user') return this.#reply(v.invalid(line));
        this.#mode = 'config';
        return this.#reply('Enter configuration commands, one per line.  End with CNTL/Z.');
      }
      if (this.#mode === 'config' || this.#mode === 'config-if') {
        if (/^interface \S+/.test(line)) {
          this.#mode = 'config-if';
          return this.#reply('');
        }
        const rename = /^hostname (\S+)$/.exec(line);
        if (rename?.[1]) {
          this.#hostname = rename[1];
          return this.#reply('');
        }
        if (line === 'end') {
          this.#mode = 'privileged';
          return this.#reply('');
        }
        if (line === 'exit') {
          this.#mode = this.#mode === 'config-if' ? 'config' : 'privileged';
          return this.#reply('');
        }
        if (this.#spec.rejectConfig?.test(line)) return this.#reply(v.invalid(line));
        if (/^(description|ip address|shutdown|no shutdown|logging|ntp server|snmp-server|banner|ip route|no )\b/.test(line)) {
          const removed = /^no (.+)$/.exec(line)?.[1];
          if (removed !== undefined && removed !== 'shutdown') this.#applied = this.#applied.filter((applied) => applied !== removed);
          else this.#applied.push(line);
          return this.#reply('');
        }
      }
    }
    if (vendor === 'juniper_junos') {
      if (line === 'configure') {
        this.#mode = 'config';
        return this.#reply('Entering configuration mode');
      }
      if (this.#mode === 'config') {
        const set = /^set (.+)$/.exec(line)?.[0];
        if (set !== undefined) {
          if (this.#spec.rejectConfig?.test(line)) return this.#reply(v.invalid(line));
          this.#candidate.push(set);
          return this.#reply('');
        }
        const deleted = /^delete (.+)$/.exec(line)?.[1];
        if (deleted !== undefined) {
          this.#candidate = this.#candidate.filter((entry) => !entry.startsWith(`set ${deleted}`));
          return this.#reply('');
        }
        if (line === 'show | compare') {
          const added = this.#candidate.filter((entry) => !this.#committed.includes(entry)).map((entry) => `+  ${entry.slice(4)}`);
          const gone = this.#committed.filter((entry) => !this.#candidate.includes(entry)).map((entry) => `-  ${entry.slice(4)}`);
          return this.#reply(added.length + gone.length === 0 ? '' : ['[edit]', ...gone, ...added].join('\n'));
        }
        const failing = this.#spec.commitFails && this.#candidate.find((entry) => this.#spec.commitFails?.test(entry));
        if (line === 'commit check') {
          return this.#reply(failing ? `[edit]\n  '${failing.slice(4)}'\n    error: mandatory statement missing\nerror: configuration check-out failed` : 'configuration check succeeds');
        }
        const confirmed = /^commit confirmed (\d+)$/.exec(line);
        if (line === 'commit' || confirmed) {
          if (failing) return this.#reply(`[edit]\n  '${failing.slice(4)}'\n    error: mandatory statement missing\nerror: configuration check-out failed\nerror: commit failed: (missing statements)`);
          const before = [...this.#committed];
          clearTimeout(this.#confirmTimer);
          this.#confirmTimer = undefined;
          this.#committed = [...this.#candidate];
          if (!confirmed) return this.#reply('commit complete');
          const minutes = Number(confirmed[1]);
          this.#confirmTimer = setTimeout(() => {
            // Not confirmed in time: the device goes back to what it ran before.
            this.#confirmTimer = undefined;
            this.#committed = before;
            this.#candidate = [...before];
          }, minutes * (this.#spec.minuteMs ?? 60_000));
          this.#confirmTimer.unref();
          return this.#reply(`commit confirmed will be automatically rolled back in ${minutes} minutes unless confirmed\ncommit complete`);
        }
        if (line === 'rollback 0') {
          this.#candidate = [...this.#committed];
          return this.#reply('load complete');
        }
        if (line === 'exit configuration-mode' || line === 'exit') {
          const leave = (): void => {
            this.#mode = 'privileged';
            this.#reply('Exiting configuration mode');
          };
          const changed = this.#candidate.length !== this.#committed.length || this.#candidate.some((entry, i) => entry !== this.#committed[i]);
          if (!changed) return leave();
          this.#ask('The configuration has been changed but not committed\nExit with uncommitted changes? [yes,no] (yes) ', (answer) => (/^(?:y|yes|)$/i.test(answer.trim()) ? leave() : this.#reply('')));
          return;
        }
      }
    }
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
}
