/**
 * What a command does to a host, as approvals and the audit log need it: `read-only` (it only
 * looks), `change` (anything else, and anything we cannot tell), or `privileged` (it runs through
 * sudo, su, doas or pkexec). Rules are data (below), like the device profiles; the shell syntax
 * is read by a small quote-aware scanner, never by running anything.
 *
 * - A pipeline, a list (`;`, `&&`, `||`) or a newline-separated script is read-only only when every
 *   command in it is; `sudo` anywhere makes the whole privileged.
 * - An output redirection (`>`, `>>`, `>|`, `&>`) is a change, except to `/dev/null` and fd
 *   duplications (`2>&1`); input redirections (`<`) are not.
 * - Command substitution (`$(…)`, backticks), process substitution, heredocs, background jobs
 *   (`&`), subshells and braces are a change: what they run is not looked at.
 */
export type CommandClass = 'read-only' | 'change' | 'privileged';

/** `posix` for a shell, `device` for a network device's CLI (show/display… are read-only). */
export type CommandDialect = 'posix' | 'device';

/** A rule: always read-only, or read-only with these first arguments (subcommands), or when no argument matches `unless`. */
type Rule =
  | true
  | {
      /** Read-only with these first arguments (verbs), or these options when there is no verb. */
      readonly subcommands?: readonly string[];
      /** Read-only with no argument at all. */
      readonly bare?: boolean;
      /** With `bare`: read-only only with no argument (env, mount, hostname). */
      readonly only?: boolean;
      /** A change when any argument matches. */
      readonly unless?: RegExp;
      /** A change with more operands (non-option arguments) than this (uniq IN OUT writes OUT). */
      readonly maxOperands?: number;
      /** sed: read-only only as `sed -n <lines>p [file…]`. */
      readonly sedPrint?: boolean;
    };

/** Programs that only look, and the conditions under which they do. */
const POSIX_READ_ONLY: Readonly<Record<string, Rule>> = {
  ls: true, ll: true, dir: true, cat: true, tac: true, head: true, tail: true, less: true, more: true, grep: true, egrep: true, fgrep: true,
  zgrep: true, zcat: true, rg: { unless: /^--pre/ }, ag: true, wc: true, sort: { unless: /^-[a-zA-Z]*o|^--output/ }, uniq: { maxOperands: 1 }, cut: true, tr: true, nl: true, column: true,
  diff: true, cmp: true, comm: true, md5sum: true, sha1sum: true, sha256sum: true, sha512sum: true, base64: true, od: true, xxd: true, hexdump: true,
  strings: true, file: true, stat: true, readlink: true, realpath: true, basename: true, dirname: true, pwd: true, echo: true, printf: true,
  true: true, false: true, test: true, '[': true, which: true, type: true, whereis: true, command: { subcommands: ['-v', '-V'] }, env: { bare: true, only: true },
  printenv: true, id: true, whoami: true, groups: true, who: true, w: true, last: true, uname: true, hostname: { bare: true, only: true }, hostnamectl: { bare: true, subcommands: ['status'] },
  uptime: true, date: { unless: /^(-s|--set)/ }, cal: true, ps: true, pgrep: true, pstree: true, top: { bare: true, subcommands: ['-b', '-bn1', '-n'] }, free: true,
  vmstat: true, iostat: true, mpstat: true, sar: true, lscpu: true, lsmem: true, lsblk: true, lsusb: true, lspci: true, lsmod: true, lsof: true,
  df: true, du: true, findmnt: true, mount: { bare: true, only: true }, blkid: true, dmesg: { unless: /^(-c|-C|--clear|--read-clear|-n|--console-level|-D|-E)/ },
  ss: { unless: /^(-K|--kill|-[a-zA-Z]*K)/ }, netstat: true, ping: true, ping6: true, traceroute: true, tracepath: true, mtr: { subcommands: ['-r', '--report'] }, dig: true, nslookup: true,
  host: true, getent: true, arp: { bare: true, subcommands: ['-a', '-n', '-an'] }, route: { bare: true, subcommands: ['-n'] }, nproc: true,
  find: { unless: /^-(exec|execdir|ok|okdir|delete|fprint|fprint0|fprintf|fls)$/ }, locate: true, tree: { unless: /^-o$/ }, jq: true, yq: { unless: /^(-i|--inplace)/ },
  sed: { sedPrint: true }, journalctl: { unless: /^--(vacuum|rotate|flush|sync|relinquish|setup-keys)/ },
  systemctl: { subcommands: ['status', 'show', 'cat', 'list-units', 'list-unit-files', 'list-timers', 'list-sockets', 'list-dependencies', 'is-active', 'is-enabled', 'is-failed', 'is-system-running', 'get-default', '--version'], bare: true },
  service: { subcommands: ['--status-all'] }, timedatectl: { bare: true, subcommands: ['status', 'show', 'list-timezones'] },
  ip: { bare: false, subcommands: ['a', 'addr', 'address', 'l', 'link', 'r', 'route', 'n', 'neigh', 'neighbour', 'rule', 'maddr', '-s', '-4', '-6', '-br', '-brief', '-c', '-color', '-j', '-json', 'netns'] },
  git: { subcommands: ['log', 'status', 'diff', 'show', 'blame', 'describe', 'rev-parse', 'ls-files', 'ls-tree', 'shortlog', 'reflog', 'grep', 'cat-file', 'branch', 'tag', 'remote', 'config', '--version'] },
  docker: { subcommands: ['ps', 'images', 'logs', 'inspect', 'version', 'info', 'stats', 'top', 'port', 'diff', 'history'] },
  podman: { subcommands: ['ps', 'images', 'logs', 'inspect', 'version', 'info', 'stats', 'top', 'port', 'diff', 'history'] },
  kubectl: { subcommands: ['get', 'describe', 'logs', 'top', 'version', 'explain', 'api-resources', 'api-versions', 'cluster-info'] },
  apt: { subcommands: ['list', 'show', 'search', 'policy', 'depends', 'rdepends'] }, 'apt-cache': true, dpkg: { subcommands: ['-l', '-L', '-s', '-S', '--list', '--listfiles', '--status', '--search', '-p', '--print-avail'] },
  rpm: { subcommands: ['-q', '-qa', '-qi', '-ql', '-qf', '--query'] }, yum: { subcommands: ['list', 'info', 'search', 'provides', 'repolist'] }, dnf: { subcommands: ['list', 'info', 'search', 'provides', 'repolist'] },
  crontab: { subcommands: ['-l'] }, history: { bare: true, only: true }, ulimit: { bare: true, subcommands: ['-a'] }, sysctl: { unless: /^(-w|--write|-p|--load|--system)$|=/ },
  cd: true, pushd: true, popd: true, set: { bare: true, only: true }, sleep: true, wait: true, clear: true,
};

/** Device CLIs: these first words only look (Cisco, Arista, Juniper, Huawei/H3C, MikroTik print). */
const DEVICE_READ_ONLY: ReadonlySet<string> = new Set(['show', 'sh', 'display', 'dis', 'ping', 'traceroute', 'tracert', 'trace', 'terminal', 'who', 'whoami', 'dir', 'more', 'print', 'exit', 'end', 'quit', 'enable']);

const PRIVILEGED: ReadonlySet<string> = new Set(['sudo', 'su', 'doas', 'pkexec', 'run0']);

/** How `command` would act on a host of `dialect`. */
export function classifyCommand(command: string, dialect: CommandDialect = 'posix'): CommandClass {
  if (dialect === 'device') return classifyDevice(command);
  const scanned = scan(command);
  if (scanned === undefined) return 'change';
  let privileged = false;
  let changes = scanned.changes;
  for (const words of scanned.commands) {
    const verdict = classifySimple(words);
    if (verdict === 'privileged') privileged = true;
    else if (verdict === 'change') changes = true;
  }
  return privileged ? 'privileged' : changes ? 'change' : 'read-only';
}

function classifyDevice(command: string): CommandClass {
  // MikroTik takes `;` between commands; splitting on it elsewhere only adds checks.
  const lines = command.split(/\r?\n|;/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('!') && !line.startsWith('#'));
  if (lines.length === 0) return 'read-only';
  for (const line of lines) {
    const words = line.toLowerCase().split(/\s+/);
    // MikroTik: /path … print (or export) looks; set, add, remove… change.
    if (line.startsWith('/')) {
      if (!words.some((word) => word === 'print' || word === 'export') || words.some((word) => ['set', 'add', 'remove', 'enable', 'disable', 'reset', 'file'].includes(word))) return 'change';
      continue;
    }
    const first = words[0] ?? '';
    // `terminal length 0` (paging) and `enable` change nothing on the device.
    if (!DEVICE_READ_ONLY.has(first)) return 'change';
    // "show … | redirect flash:x", "display … > file": an output written on the device.
    if (/\|\s*(redirect|tee|append|save)\b|>\s*\S/i.test(line)) return 'change';
  }
  return 'read-only';
}

function classifySimple(words: readonly string[]): CommandClass {
  const [first, ...args] = words;
  if (first === undefined) return 'read-only';
  // FOO=bar cmd, or a bare assignment: the environment can change what a program does
  // (LD_PRELOAD, GIT_EXTERNAL_DIFF, PATH): a change.
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(first)) return 'change';
  const program = first.split('/').pop() as string;
  if (PRIVILEGED.has(program)) return 'privileged';
  // time, nice, nohup, timeout… run another program: that one decides (xargs does not: it builds its own).
  if (['time', 'nice', 'nohup', 'stdbuf', 'command', 'builtin', 'exec'].includes(program) && args.length > 0 && !(program === 'command' && /^-[vV]$/.test(args[0] as string))) {
    return classifySimple(afterOptions(args));
  }
  // timeout DURATION command…: the duration is not the program.
  if (program === 'timeout') return classifySimple(afterOptions(args).slice(1));
  const rule = POSIX_READ_ONLY[program];
  if (rule === undefined) return 'change';
  if (rule === true) return 'read-only';
  if (program === 'ip') return classifyIp(args);
  if (args.length === 0) return rule.bare === true || rule.subcommands === undefined ? 'read-only' : 'change';
  if (rule.only) return 'change';
  if (rule.sedPrint) return args[0] === '-n' && /^(\d+(,(\d+|\$))?|\$|\/[^/]*\/(,\/[^/]*\/)?)p$/.test(args[1] ?? '') && args.slice(2).every((arg) => !arg.startsWith('-')) ? 'read-only' : 'change';
  if (rule.unless && args.some((arg) => rule.unless?.test(arg))) return 'change';
  if (rule.maxOperands !== undefined && args.filter((arg) => !arg.startsWith('-')).length > rule.maxOperands) return 'change';
  if (rule.subcommands) {
    // A verb program (systemctl status, git log) takes its verb first: a global option before it
    // could carry a value that looks like a verb (docker --config ps rm), so that is a change.
    // Option forms (dpkg -l, crontab -l, top -b, route -n) count only when no verb follows.
    const operands = args.filter((arg) => !arg.startsWith('-'));
    const first = args[0] as string;
    if (!first.startsWith('-')) {
      if (!rule.subcommands.includes(first)) return 'change';
    } else if (!(rule.subcommands.includes(first) && (operands.length === 0 || OPTION_FORM_WITH_OPERANDS.has(program)))) {
      return 'change';
    }
    if (program === 'git') return classifyGit(args);
  }
  return 'read-only';
}

/** Programs whose read-only option forms take operands (dpkg -L pkg, rpm -qf file, top -n 1, command -v x). */
const OPTION_FORM_WITH_OPERANDS: ReadonlySet<string> = new Set(['dpkg', 'rpm', 'top', 'command', 'ulimit', 'mtr']);

/** `args` from the first one that is not an option on (the command a wrapper runs); none: empty. */
function afterOptions(args: readonly string[]): readonly string[] {
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  return at < 0 ? [] : args.slice(at);
}

/** `ip [options] object [show|list|get…]`: read-only when the verb only shows. */
function classifyIp(args: readonly string[]): CommandClass {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const object = words[0];
  if (object === undefined) return 'change';
  if (!['a', 'addr', 'address', 'l', 'link', 'r', 'route', 'n', 'neigh', 'neighbour', 'rule', 'maddr', 'netns', 'monitor'].includes(object)) return 'change';
  const verb = words[1];
  return verb === undefined || ['show', 'list', 'ls', 'lst', 'sh', 'get'].includes(verb) ? 'read-only' : 'change';
}

function classifyGit(args: readonly string[]): CommandClass {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const sub = words[0];
  const options = args.filter((arg) => arg.startsWith('-'));
  switch (sub) {
    case 'branch':
    case 'tag': {
      // Only listing options; names given are patterns only with --list (git tag -a v2 creates v2).
      const listing = ['-l', '--list', '-r', '-v', '-vv', '--all', '--remotes', '--contains', '--merged', '--no-merged', '--sort', '--format', '--show-current', '-n'];
      if (!options.every((option) => listing.includes(option.split('=')[0] as string) || (sub === 'branch' && option === '-a'))) return 'change';
      return words.length === 1 || options.some((option) => option === '-l' || option === '--list') ? 'read-only' : 'change';
    }
    case 'remote':
      return words.length === 1 || words[1] === 'show' || words[1] === 'get-url' ? 'read-only' : 'change';
    case 'config':
      return options.some((option) => ['--get', '--get-all', '--get-regexp', '-l', '--list'].includes(option)) ? 'read-only' : 'change';
    default:
      // git diff --output=FILE, git log --output: a file is written.
      return options.some((option) => option.startsWith('--output')) ? 'change' : 'read-only';
  }
}

/**
 * Splits a shell command into simple commands (words, quotes removed) and says whether its syntax
 * alone makes it a change. undefined: unbalanced quotes (not something we can read).
 */
function scan(command: string): { commands: string[][]; changes: boolean } | undefined {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let changes = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    const next = command[i + 1];
    if (c === '\\') {
      if (next === '\n') {
        i++;
        continue;
      }
      word += next ?? '';
      inWord = true;
      i++;
      continue;
    }
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\') j++;
        else if (command[j] === '`' || (command[j] === '$' && command[j + 1] === '(')) changes = true;
      }
      if (j >= command.length) return undefined;
      word += command.slice(i + 1, j).replace(/\\(["\\$`])/g, '$1');
      inWord = true;
      i = j;
      continue;
    }
    if (c === '`' || (c === '$' && next === '(') || ((c === '<' || c === '>') && next === '(')) {
      changes = true;
      word += c;
      inWord = true;
      continue;
    }
    if (c === '#' && !inWord) {
      const end = command.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === '\n' || c === ';' || c === '|' || c === '&') {
      if (c === '&' && next !== '&' && command[i - 1] !== '&' && command[i - 1] !== '>' && next !== '>') changes = true; // background
      if (c === '&' && next === '>') {
        // &> file: stdout and stderr to a file.
        i = redirection(command, i + 2, (target) => (changes ||= target !== '/dev/null'));
        continue;
      }
      endCommand();
      if ((c === '|' || c === '&') && next === c) i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}') {
      if (!inWord) {
        changes = true;
        endWord();
        continue;
      }
    }
    if (c === '<') {
      if (next === '<') {
        changes = true; // heredoc or herestring
        endCommand();
        return { commands, changes };
      }
      // An input redirection: its target is not a word of the command.
      endWord();
      i = redirection(command, i + 1, () => undefined);
      continue;
    }
    if (c === '>') {
      // A number right before it is the fd (2>…), not a word.
      if (inWord && /^\d+$/.test(word)) {
        word = '';
        inWord = false;
      }
      endWord();
      let j = i + 1;
      if (command[j] === '>' || command[j] === '|') j++;
      if (command[j] === '&') {
        // 2>&1, >&2: a duplication, not a file.
        i = redirection(command, j + 1, (target) => (changes ||= !/^\d+$|^-$/.test(target)));
        continue;
      }
      i = redirection(command, j, (target) => (changes ||= target !== '/dev/null'));
      continue;
    }
    word += c;
    inWord = true;
  }
  endCommand();
  return { commands, changes };
}

/** Reads a redirection's target from `from` (after blanks); calls `seen` with it; returns the index of its last character. */
function redirection(command: string, from: number, seen: (target: string) => void): number {
  let i = from;
  while (command[i] === ' ' || command[i] === '\t') i++;
  let target = '';
  while (i < command.length && !/[\s;|&<>()]/.test(command[i] as string)) {
    const c = command[i] as string;
    if (c === "'" || c === '"') {
      const end = command.indexOf(c, i + 1);
      if (end < 0) break;
      target += command.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    target += c;
    i++;
  }
  seen(target);
  return i - 1;
}
