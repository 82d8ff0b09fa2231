// The persistent POSIX shell against the real sshd: exact output, real exit codes, state.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyLogin, sshdFacts, sshdSkipReason, startDelayProxy, type SshdFacts } from 'test-utils';
import { ShellSession, SshConnection, type ScreenSnapshot, type ShellCommand, type ShellCommandEvent } from '../src/index';

/** The command's next event of `type`. */
function nextEvent(command: ShellCommand, type: ShellCommandEvent['type']): Promise<ShellCommandEvent> {
  return new Promise((resolve) => {
    const unsubscribe = command.subscribe((event) => {
      if (event.type !== type) return;
      unsubscribe();
      resolve(event);
    });
  });
}

/** Reads the screen on each output event until `ready` holds (a program draws in several packets). */
async function waitForScreen(shell: ShellSession, ready: (lines: readonly string[]) => boolean): Promise<ScreenSnapshot> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const screen = await shell.readScreen();
    if (ready(screen.lines)) return screen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`screen never matched: ${JSON.stringify((await shell.readScreen()).lines.slice(0, 10))}`);
}

const facts = sshdFacts();

describe.skipIf(!facts)(`ShellSession on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let connection: SshConnection;
  let shell: ShellSession;
  // Files the remote commands write: one directory per run (the host is this machine), removed after.
  const work = `/tmp/mcp-shell-session-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    connection = await SshConnection.connect(keyLogin(f));
    shell = await ShellSession.open(connection);
    await shell.run(`mkdir -m 700 ${work}`);
  });
  afterAll(() => {
    shell?.close();
    connection?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('gives exactly the output: no echo, no prompt, no marker, no \\r', async () => {
    await expect(shell.run('echo hello')).resolves.toMatchObject({ output: 'hello\n', exitCode: 0, droppedChars: 0 });
    await expect(shell.run("printf 'no newline'")).resolves.toMatchObject({ output: 'no newline', exitCode: 0 });
    await expect(shell.run('true')).resolves.toMatchObject({ output: '', exitCode: 0 });
  });

  it('knows the shell\'s working directory, even while a command runs', async () => {
    await shell.run('cd /usr/share');
    const running = shell.start('sleep 0.3');
    await expect(shell.workingDirectory()).resolves.toBe('/usr/share');
    await running.done;
    await shell.run('cd');
    await expect(shell.workingDirectory()).resolves.toBe(`/home/${f.user}`);
  });

  it('reports real exit codes', async () => {
    await expect(shell.run('false')).resolves.toMatchObject({ exitCode: 1 });
    await expect(shell.run('(exit 7)')).resolves.toMatchObject({ exitCode: 7 });
    await expect(shell.run('ls /no/such/dir')).resolves.toMatchObject({
      exitCode: 2,
      output: expect.stringContaining('No such file or directory') as unknown,
    });
  });

  it('keeps state between commands: cd, export, functions, aliases', async () => {
    await shell.run('cd /tmp && export MCP_TEST_VAR=kept && greet() { echo "hi $1"; } && alias ll="echo aliased"');
    await expect(shell.run('pwd; echo "$MCP_TEST_VAR"; greet you')).resolves.toMatchObject({ output: '/tmp\nkept\nhi you\n' });
    await expect(shell.run('ll')).resolves.toMatchObject({ output: 'aliased\n' });
  });

  it('keeps output exact after a script changes the prompt (a venv prepends to PS1)', async () => {
    const own = await ShellSession.open(connection);
    try {
      await own.run(`printf '%s\\n' 'VIRTUAL_ENV=/tmp/venv; export VIRTUAL_ENV' 'PS1="(venv) \${PS1:-}"' > ${work}/fake-activate`);
      await own.run(`. ${work}/fake-activate`);
      await expect(own.run('echo "in $VIRTUAL_ENV"')).resolves.toMatchObject({ output: 'in /tmp/venv\n', exitCode: 0 });
      await expect(own.run("printf 'no newline'")).resolves.toMatchObject({ output: 'no newline' });
    } finally {
      own.close();
    }
  });

  it('does not end early on output that looks like a prompt', async () => {
    await expect(shell.run(`printf 'Cost is 10$\\nroot@x:~# \\n$ \\n'; sleep 0.3; echo after`)).resolves.toMatchObject({
      output: 'Cost is 10$\nroot@x:~# \n$ \nafter\n',
      exitCode: 0,
    });
  });

  it('runs multi-line commands and heredocs', async () => {
    const result = await shell.run('for i in 1 2 3; do\n  echo "n=$i"\ndone\ncat <<EOF\nline one\nline $((1+1))\nEOF');
    expect(result).toMatchObject({ output: 'n=1\nn=2\nn=3\nline one\nline 2\n', exitCode: 0 });
  });

  it('returns large output complete and exact', async () => {
    const result = await shell.run('seq 1 100000');
    const expected = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join('');
    expect(result.droppedChars).toBe(0);
    expect(result.output.length).toBe(expected.length);
    expect(result.output === expected).toBe(true);
  });

  it('returns 3 MB of output whole, and caps a bigger one to head + tail with the exact dropped count', async () => {
    const big = await shell.run('head -c 3000000 /dev/zero | tr "\\0" x; echo');
    expect(big).toMatchObject({ totalChars: 3_000_001, droppedChars: 0 });
    expect(big.output).toBe(`${'x'.repeat(3_000_000)}\n`);

    const capped = await ShellSession.open(connection, { outputLimits: { headChars: 1000, tailChars: 1000 } });
    const result = await capped.run('seq 1 100000');
    capped.close();
    const expected = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join('');
    expect(result.totalChars).toBe(expected.length);
    expect(result.droppedChars).toBe(expected.length - 2000);
    expect(result.output).toBe(expected.slice(0, 1000) + expected.slice(-1000));
  });

  it('waits for slow output instead of guessing from idle time', async () => {
    const result = await shell.run('for i in $(seq 1 30); do echo "tick $i"; sleep 0.1; done');
    expect(result.output).toBe(Array.from({ length: 30 }, (_, i) => `tick ${i + 1}\n`).join(''));
  });

  it('times out with READ_TIMEOUT while the command keeps running, then interrupts it and runs the next at once', async () => {
    await expect(shell.run('sleep 30', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'READ_TIMEOUT' });
    const started = Date.now();
    expect(await shell.interrupt()).toBe('interrupted');
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect(shell.run('echo next')).resolves.toMatchObject({ output: 'next\n', exitCode: 0 });
  });

  it('strips ANSI colour sequences, also when one is cut across two packets', async () => {
    await expect(shell.run("printf '\\033[31mred\\033[0m\\n'")).resolves.toMatchObject({ output: 'red\n' });
    await expect(shell.run("printf 'a\\033[3'; sleep 0.2; printf '1mred\\033[0m\\n'")).resolves.toMatchObject({ output: 'ared\n' });
  });

  it('recognises a sudo prompt cut across two packets', async () => {
    const own = await ShellSession.open(connection, { sudoPassword: f.password });
    try {
      const fakeSudo = `printf '[sudo] pass'; sleep 0.2; printf 'word for ${f.user}: '; read -r p; echo "got-\${#p}"`;
      await expect(own.run(fakeSudo, { timeoutMs: 5_000 })).resolves.toMatchObject({ output: `got-${f.password.length}\n`, exitCode: 0 });
    } finally {
      own.close();
    }
  });

  it('answers sudo with the password once, and the password never shows', async () => {
    const sudo = await ShellSession.open(connection, { sudoPassword: f.password });
    try {
      const result = await sudo.run('sudo -k; sudo whoami', { timeoutMs: 10_000 });
      expect(result).toMatchObject({ output: 'root\n', exitCode: 0 });
      expect(result.output).not.toContain(f.password);
      // NOPASSWD (/usr/bin/id in the test sudoers) runs without any prompt.
      await expect(sudo.run('sudo -k; sudo id -u')).resolves.toMatchObject({ output: '0\n', exitCode: 0 });
    } finally {
      sudo.close();
    }
  });

  it('fails a wrong sudo password with SUDO_AUTH_FAILED within the timeout, and the session stays usable', async () => {
    const wrong = await ShellSession.open(connection, { sudoPassword: 'not-the-password' });
    try {
      await expect(wrong.run('sudo -k; sudo whoami', { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'SUDO_AUTH_FAILED' });
      await expect(wrong.run('echo still-usable')).resolves.toMatchObject({ output: 'still-usable\n' });
    } finally {
      wrong.close();
    }
  });

  it('fails at once when sudo wants a password and none was given', async () => {
    await expect(shell.run('sudo -k; sudo whoami', { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'SUDO_AUTH_FAILED',
      message: expect.stringContaining('none was given') as unknown,
    });
    await expect(shell.run('echo ok')).resolves.toMatchObject({ output: 'ok\n' });
  });

  it('interrupts a command right after starting it (Ctrl+C waits for the command line to be read)', async () => {
    const command = shell.start('sleep 30');
    expect(await shell.interrupt()).toBe('idle'); // not started yet: nothing runs
    // Typed, but not yet read by the shell: Ctrl+C now would flush the line from the terminal.
    while (command.state !== 'running') await Promise.resolve();
    expect(await command.interrupt()).toBe('interrupted');
    await expect(command.done).resolves.toMatchObject({ exitCode: 130, freshShell: false });
    await expect(shell.run('echo ok')).resolves.toMatchObject({ output: 'ok\n' });
  });

  it('reports a command waiting for input; input completes it and the marker is not eaten by the reader', async () => {
    const command = shell.start("read -p 'Enter value: ' v; echo \"got $v\"");
    await expect(nextEvent(command, 'awaiting-input')).resolves.toEqual({ type: 'awaiting-input', prompt: 'Enter value:' });
    expect(command.awaitingInput).toBe('Enter value:');
    expect(command.state).toBe('running');
    expect(shell.write('typed\n')).toBe(true);
    expect(command.awaitingInput).toBeUndefined();
    await expect(command.done).resolves.toMatchObject({ output: 'Enter value: got typed\n', exitCode: 0 });
  });

  it('with stopOnInteractive, run() returns AWAITING_INPUT at the prompt instead of waiting for its timeout', async () => {
    const run = shell.run("read -p 'Continue? [y/N] ' answer; echo \"answer=$answer\"", { timeoutMs: 20_000, stopOnInteractive: true });
    await expect(run).rejects.toMatchObject({ code: 'AWAITING_INPUT', details: { prompt: 'Continue? [y/N]' } });
    expect(shell.sendKeys('y<enter>')).toBe(true);
    await expect(shell.run('echo after')).resolves.toMatchObject({ output: 'after\n' });
  });

  it('does not take finished lines ending like a prompt, password-looking output, JSON or URLs for a prompt', async () => {
    const command = shell.start(
      `printf 'password: hunter2\\nDownloading x.whl (62 kB)\\nStatus:\\n'; sleep 0.8; printf '%s' 'password=secret {"password": "x"} https://u:pw@host/'; sleep 0.8; echo`,
    );
    const events: string[] = [];
    command.subscribe((event) => events.push(event.type));
    await expect(command.done).resolves.toMatchObject({ exitCode: 0 });
    expect(events).not.toContain('awaiting-input');
  });

  it('escalates when a program ignores Ctrl+C: second Ctrl+C, then a fresh shell, reported as state lost', async () => {
    const own = await ShellSession.open(connection);
    await own.run('cd /tmp; export KEPT=yes');
    const running = own.start(`sh -c "trap '' INT; sleep 30"`);
    await expect(own.run('true', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'SESSION_BUSY' });
    expect(await own.interrupt(300)).toBe('restarted');
    await expect(running.done).rejects.toMatchObject({ code: 'SHELL_EXITED', message: expect.stringContaining('are lost') as unknown });
    expect(own.isOpen).toBe(true);
    await expect(own.run('pwd; echo "kept=$KEPT"')).resolves.toMatchObject({ output: `/home/${f.user}\nkept=\n`, freshShell: true });
    await expect(own.run('echo same')).resolves.toMatchObject({ output: 'same\n', freshShell: false });
    own.close();
  });

  it('runs concurrent calls one after the other (FIFO), never interleaving their output', async () => {
    const results = await Promise.all([
      shell.run('for i in 1 2 3; do echo a$i; sleep 0.05; done'),
      shell.run('for i in 1 2 3; do echo b$i; done'),
      shell.run('echo c'),
    ]);
    expect(results.map((r) => r.output)).toEqual(['a1\na2\na3\n', 'b1\nb2\nb3\n', 'c\n']);
  });

  it('does not take password-looking output for a sudo prompt', async () => {
    const text = 'password=secret\n{"password": "x"}\nhttps://u:password@host/\nPassword: ';
    await expect(shell.run(`printf '%s' '${text}'`, { timeoutMs: 5_000 })).resolves.toMatchObject({ output: text, exitCode: 0 });
  });

  it('never hangs on text the shell would wait on: !, a trailing backslash, an unbalanced quote', async () => {
    await expect(shell.run('echo "hi!there"', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: 'hi!there\n', exitCode: 0 });
    await expect(shell.run('echo a \\', { timeoutMs: 5_000 })).resolves.toMatchObject({ exitCode: 0 });
    const unbalanced = await shell.run('echo "oops', { timeoutMs: 5_000 });
    expect(unbalanced.exitCode).not.toBe(0);
    await expect(shell.run('echo fine')).resolves.toMatchObject({ output: 'fine\n' });
  });

  it('keeps tabs and very long lines intact', async () => {
    await expect(shell.run("printf '%s|' 'a\tb'")).resolves.toMatchObject({ output: 'a\tb|' });
    const long = 'x'.repeat(6000) + "'quoted'" + 'y'.repeat(3000);
    await expect(shell.run(`printf '%s' "${long}" | wc -c`)).resolves.toMatchObject({ output: `${long.length}\n` });
  });

  it('refuses control characters in a command (they are keys, not text)', () => {
    expect(() => shell.start('echo a\x03b')).toThrow(TypeError);
  });

  it('ignores a stray marker from a Ctrl+C at the idle prompt', async () => {
    await shell.run('true');
    // Input nobody reads: the shell itself runs it after the command, printing an extra marker.
    const first = shell.start('sleep 0.2');
    first.write('echo stray\n');
    await first.done;
    await expect(shell.run('echo mine')).resolves.toMatchObject({ output: 'mine\n', exitCode: 0 });
    await expect(shell.run('echo again')).resolves.toMatchObject({ output: 'again\n', exitCode: 0 });
  });

  it('drops a queued command that times out or is aborted before it starts; it never runs later', async () => {
    const blocker = shell.start('sleep 0.5');
    await expect(shell.run(`touch ${work}/should-not-exist-$$`, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'SESSION_BUSY' });
    const controller = new AbortController();
    const aborted = shell.run(`echo never > ${work}/never-ran`, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await blocker.done;
    await expect(shell.run(`ls ${work}/should-not-exist-* ${work}/never-ran 2>/dev/null | wc -l`)).resolves.toMatchObject({ output: '0\n' });
  });

  it('reports a command that exits the shell as SHELL_EXITED; the next command opens a fresh shell', async () => {
    const own = await ShellSession.open(connection);
    await own.run('cd /tmp');
    await expect(own.run('exit 3')).rejects.toMatchObject({
      code: 'SHELL_EXITED',
      message: expect.stringMatching(/exited with status 3 .*fresh shell/) as unknown,
      details: { exitCode: 3 },
    });
    expect(own.isOpen).toBe(true);
    await expect(own.run('pwd')).resolves.toMatchObject({ output: `/home/${f.user}\n`, exitCode: 0, freshShell: true });
    await expect(own.run('echo again')).resolves.toMatchObject({ output: 'again\n', freshShell: false });
    own.close();
    expect(own.isOpen).toBe(false);
    await expect(own.run('echo x')).rejects.toMatchObject({ code: 'SHELL_EXITED' });
  });

  it('keeps the status of `exit 7`, and says which signal killed a shell (no status then)', async () => {
    const own = await ShellSession.open(connection);
    try {
      await expect(own.run('exit 7')).rejects.toMatchObject({ code: 'SHELL_EXITED', details: { exitCode: 7 } });
      await expect(own.run('kill -KILL $$')).rejects.toMatchObject({
        code: 'SHELL_EXITED',
        message: expect.stringContaining('killed by SIGKILL') as unknown,
        details: { exitCode: null, signal: 'SIGKILL' },
      });
      await expect(own.run('echo back')).resolves.toMatchObject({ output: 'back\n', exitCode: 0, freshShell: true });
    } finally {
      own.close();
    }
  });

  describe('pipeOutput: stdout and stderr on a pipe streamed by an exec channel', () => {
    const piped = { pipeOutput: true, timeoutMs: 20_000 } as const;

    it('gives the exact bytes and the real exit code; stdout and stderr are a pipe, stdin stays the terminal', async () => {
      await expect(shell.run("printf 'a\\r\\nb \\033[31mred\\033[0m\\n'; echo err >&2; (exit 3)", piped)).resolves.toMatchObject({
        output: 'a\r\nb \x1b[31mred\x1b[0m\nerr\n',
        exitCode: 3,
        droppedChars: 0,
      });
      await expect(shell.run('[ -t 1 ] && echo out-tty || echo out-pipe; [ -t 2 ] || echo err-pipe >&2; [ -t 0 ] && echo in-tty', piped)).resolves.toMatchObject({
        output: 'out-pipe\nerr-pipe\nin-tty\n',
        exitCode: 0,
      });
      // Through the terminal, as before.
      await expect(shell.run('[ -t 1 ] && echo out-tty')).resolves.toMatchObject({ output: 'out-tty\n' });
    });

    it('keeps the session state and leaves no FIFO behind', async () => {
      const own = await ShellSession.open(connection);
      // Counted before and after: other suites' sessions (the fuzz run) may have left theirs.
      const fifos = async (): Promise<string> => (await connection.exec('ls -a "${TMPDIR:-/tmp}" | grep -c "^\\.mcp-ssh-" || true')).stdout.trim();
      try {
        const before = await fifos();
        await expect(own.run('cd /usr/share && export PIPED=kept && echo moved', piped)).resolves.toMatchObject({ output: 'moved\n', exitCode: 0 });
        await expect(own.run('pwd; echo "$PIPED"')).resolves.toMatchObject({ output: '/usr/share\nkept\n' });
        expect(await fifos()).toBe(before);
      } finally {
        own.close();
      }
    });

    it('the FIFO race, forced: the session closes after the FIFO is made but before the shell opens it; neither the FIFO nor its reader is left', async () => {
      const own = await SshConnection.connect(keyLogin(f));
      const session = await ShellSession.open(own);
      const bash = Number((await session.run('echo $$')).output.trim());
      // The host is this machine: the FIFO is made in its /tmp (no TMPDIR in the test user's sessions).
      const fifoMade = new Promise<string>((resolve) => {
        const watcher = watch('/tmp', (_event, name) => {
          if (name?.startsWith('.mcp-ssh-')) {
            watcher.close();
            resolve(name);
          }
        });
      });
      const readers = (name: string): Promise<number> =>
        new Promise((resolve) => {
          execFile('pgrep', ['-u', f.user, '-f', `cat /tmp/${name}$`], (_error, stdout) => resolve(stdout.split('\n').filter(Boolean).length));
        });
      // A stopped shell never reads the command, so it never opens the FIFO: the race, held open.
      process.kill(bash, 'SIGSTOP');
      try {
        const command = session.start('echo never', { pipeOutput: true });
        command.done.catch(() => undefined);
        const name = await fifoMade;
        expect(existsSync(`/tmp/${name}`)).toBe(true);
        expect(await readers(name)).toBe(1); // `cat` blocked in open(), waiting for a writer
        const gone = new Promise<void>((resolve) => {
          const watcher = watch('/tmp', () => {
            if (!existsSync(`/tmp/${name}`)) {
              watcher.close();
              resolve();
            }
          });
          if (!existsSync(`/tmp/${name}`)) {
            watcher.close();
            resolve();
          }
        });
        own.close();
        await expect(command.done).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
        // Removed by the reader's watcher once its channel ended, with the shell still stopped.
        const bound = new Promise<'left'>((resolve) => setTimeout(resolve, 5_000, 'left').unref());
        expect(await Promise.race([gone.then(() => 'removed'), bound]), `/tmp/${name} is left`).toBe('removed');
        expect(await readers(name)).toBe(0);
      } finally {
        process.kill(bash, 'SIGKILL');
      }
    });

    it('returns 2.7 MB complete and in order', async () => {
      const result = await shell.run('seq 1 400000', piped);
      expect(result.exitCode).toBe(0);
      expect(result.totalChars).toBe(2_688_895);
      expect(result.droppedChars).toBe(0);
      const lines = result.output.split('\n');
      expect(lines[0]).toBe('1');
      expect(lines.at(-2)).toBe('400000');
    });

    it('answers sudo on the terminal while the output goes to the pipe', async () => {
      const sudo = await ShellSession.open(connection, { sudoPassword: f.password });
      try {
        const result = await sudo.run('sudo -k; sudo whoami', piped);
        expect(result).toMatchObject({ output: 'root\n', exitCode: 0 });
        expect(result.output).not.toContain(f.password);
      } finally {
        sudo.close();
      }
    });

    it('reports a prompt on the pipe as awaiting input; input completes it', async () => {
      const command = shell.start("read -p 'Name: ' who; echo \"hi $who\"", { pipeOutput: true });
      const event = await nextEvent(command, 'awaiting-input');
      command.write('bob\n');
      expect(event).toMatchObject({ prompt: 'Name:' });
      await expect(command.done).resolves.toMatchObject({ output: 'Name: hi bob\n', exitCode: 0 });
    });

    it('interrupts a piped command with Ctrl+C; the session runs the next command at once', async () => {
      const command = shell.start('echo started; sleep 30', { pipeOutput: true });
      await new Promise<void>((resolve) => {
        const unsubscribe = command.subscribe((event) => {
          if (event.type === 'output' && event.text.includes('started')) {
            unsubscribe();
            resolve();
          }
        });
      });
      await expect(command.interrupt()).resolves.toBe('interrupted');
      await expect(command.done).resolves.toMatchObject({ exitCode: 130 });
      await expect(shell.run('echo next', piped)).resolves.toMatchObject({ output: 'next\n', exitCode: 0 });
    });

    it('returns the whole output and the exit code over a slow link (150 ms each way)', async () => {
      // 150 ms each way: 6 MB stream through window adjusts while the marker comes on the other channel.
      const proxy = await startDelayProxy({ target: { host: f.host, port: f.port }, oneWayMs: 150 });
      const known = join(work, 'known_hosts_proxy');
      writeFileSync(known, `[${proxy.host}]:${proxy.port} ${f.hostPublicKey}\n`);
      const slow = await SshConnection.connect({ ...keyLogin(f), host: proxy.host, port: proxy.port, hostKeys: { mode: 'strict', knownHostsFiles: [known] } });
      const far = await ShellSession.open(slow);
      try {
        const result = await far.run('head -c 6000000 /dev/zero | tr "\\0" x; echo; (exit 5)', { pipeOutput: true, timeoutMs: 60_000 });
        expect(result.exitCode).toBe(5);
        expect(result.totalChars).toBe(6_000_001);
        expect(result.output.endsWith('x\n')).toBe(true);
      } finally {
        far.close();
        slow.close();
        await proxy.close();
      }
    }, 90_000);

    it('does not wait for a background process that keeps the pipe open, silent or writing', async () => {
      const startedAt = Date.now();
      await expect(shell.run('(sleep 5 &); echo spawned', piped)).resolves.toMatchObject({ output: 'spawned\n', exitCode: 0 });
      expect(Date.now() - startedAt).toBeLessThan(4_000);
      const writing = Date.now();
      const busy = await shell.run('echo first; (for i in $(seq 120); do echo tick; sleep 0.05; done &)', piped);
      expect(busy.exitCode).toBe(0);
      expect(busy.output.startsWith('first\n')).toBe(true);
      expect(Date.now() - writing).toBeLessThan(4_500);
      await expect(shell.run('echo next', piped)).resolves.toMatchObject({ output: 'next\n', exitCode: 0 });
    });
  });

  describe('full-screen programs', () => {
    it('detects less, shows its screen, and returns to command mode when it quits', async () => {
      await shell.run(`seq 1 300 > ${work}/less-test.txt`);
      const command = shell.start(`less ${work}/less-test.txt; echo "less exited $?"`);
      await expect(nextEvent(command, 'screen')).resolves.toEqual({ type: 'screen', active: true });
      expect(command.fullScreen).toBe(true);
      const screen = await waitForScreen(shell, (lines) => lines[0] === '1' && lines.includes('49'));
      expect(screen).toMatchObject({ fullScreen: true, width: 200, height: 50 });
      expect(shell.sendKeys('>')).toBe(true); // to the end
      await waitForScreen(shell, (lines) => lines.some((line) => line.startsWith('300')));
      shell.sendKeys('q');
      // What less drew is not output: only what the command printed after it.
      await expect(command.done).resolves.toMatchObject({ output: 'less exited 0\n', exitCode: 0 });
      await expect(shell.readScreen()).resolves.toMatchObject({ fullScreen: false, lines: ['less exited 0'] });
      await expect(shell.run('echo back')).resolves.toMatchObject({ output: 'back\n' });
    });

    it('drives vi with keys: insert text, save, quit', async () => {
      const command = shell.start(`vi ${work}/vi-test.txt`);
      await nextEvent(command, 'screen');
      await waitForScreen(shell, (lines) => lines.some((line) => line.includes('vi-test.txt')));
      shell.sendKeys('iHello from vi<esc>:wq<enter>');
      await expect(command.done).resolves.toMatchObject({ exitCode: 0 });
      await expect(shell.run(`cat ${work}/vi-test.txt`)).resolves.toMatchObject({ output: 'Hello from vi\n' });
    });

    it('detects top; with stopOnInteractive run() returns FULL_SCREEN at once; q returns to the shell', async () => {
      await expect(shell.run('top -d 0.5', { timeoutMs: 20_000, stopOnInteractive: true })).rejects.toMatchObject({ code: 'FULL_SCREEN' });
      const screen = await waitForScreen(shell, (lines) => lines.some((line) => /^\s*PID\s+USER/.test(line)));
      expect(screen.fullScreen).toBe(true);
      shell.sendKeys('q');
      await expect(shell.run('echo after top')).resolves.toMatchObject({ output: 'after top\n', exitCode: 0 });
    });
  });
});
