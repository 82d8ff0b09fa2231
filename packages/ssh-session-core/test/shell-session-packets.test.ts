// ShellSession's reader fed packet by packet through a scripted channel: splits, escape
// sequences and races that a real shell produces only by chance.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ShellSession, type ShellCommand, type SshConnection } from '../src/index';

class ScriptedChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  readonly writes: string[] = [];
  nonce = '';
  closed = false;
  write(text: string): boolean {
    this.writes.push(text);
    const setup = /__SUDO_([0-9a-f]+)__/.exec(text);
    if (setup) {
      this.nonce = setup[1] ?? '';
      setImmediate(() => this.send(`__PID_${this.nonce}_4242__\r\n\r\n__END_${this.nonce}_0_0__\r\n__PS_${this.nonce}__`));
    }
    return true;
  }
  end(): void {}
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => this.emit('close'));
  }
  send(text: string): void {
    this.emit('data', Buffer.from(text, 'utf8'));
  }
  begin(id: number): string {
    return `__BEGIN_${this.nonce}_${id}__\r\n`;
  }
  end_(id: number, status = 0): string {
    return `\r\n__END_${this.nonce}_${status}_${id}__\r\n__PS_${this.nonce}__`;
  }
}

function scriptedConnection(options: { openDelayMs?: number } = {}): { connection: SshConnection; channels: ScriptedChannel[] } {
  const channels: ScriptedChannel[] = [];
  const connection = {
    key: 'scripted@test:22',
    isOpen: true,
    closedError: undefined,
    exec: () => Promise.resolve({ stdout: '/bin/bash', stderr: '', exitCode: 0 }),
    shellChannel: async () => {
      if (options.openDelayMs) await new Promise((resolve) => setTimeout(resolve, options.openDelayMs));
      const channel = new ScriptedChannel();
      channels.push(channel);
      return channel;
    },
  };
  return { connection: connection as unknown as SshConnection, channels };
}

/** Resolves once the command line was written (the command runs). */
async function started(command: ShellCommand): Promise<void> {
  while (command.state === 'queued') await new Promise((resolve) => setImmediate(resolve));
}

/** Runs `exit`: the shell's channel closes under the command, which fails with SHELL_EXITED. */
async function exitShell(shell: ShellSession, channel: ScriptedChannel): Promise<void> {
  const exiting = shell.start('exit');
  await started(exiting);
  channel.destroy();
  await expect(exiting.done).rejects.toMatchObject({ code: 'SHELL_EXITED' });
}

async function open(options: Parameters<typeof ShellSession.open>[1] = {}) {
  const { connection, channels } = scriptedConnection();
  const shell = await ShellSession.open(connection, options);
  return { shell, channel: channels[0] as ScriptedChannel, channels, connection };
}

describe('ShellSession reader, packet by packet', () => {
  it('keeps streaming output after a non-screen private mode sequence (cursor hide), and still answers sudo', async () => {
    const { shell, channel } = await open({ sudoPassword: 'pw-123' });
    const command = shell.start('pip install x');
    await started(command);
    channel.send(`${channel.begin(1)}\x1b[?25lCollecting x\r\n`);
    channel.send('Downloading\r\n');
    // The last line end is held back until we know it does not start the marker.
    expect(command.snapshot().text).toBe('Collecting x\nDownloading');
    channel.send(`__SUDO_${channel.nonce}__: `);
    expect(channel.writes.at(-1)).toBe('pw-123\n');
    channel.send(`\r\ndone\x1b[?25h${channel.end_(1)}`);
    await expect(command.done).resolves.toMatchObject({ output: 'Collecting x\nDownloading\ndone', exitCode: 0 });
  });

  it('follows keypad mode split across packets, and output after the program quits is output again', async () => {
    const { shell, channel } = await open();
    const command = shell.start('top; echo after');
    await started(command);
    channel.send(`${channel.begin(1)}before\r\n\x1b[?1h\x1b`);
    channel.send('=\x1b[H\x1b[2JPID USER\r\n');
    expect(command.fullScreen).toBe(true);
    await expect(shell.readScreen(50)).resolves.toMatchObject({ fullScreen: true, lines: expect.arrayContaining(['PID USER']) as unknown });
    channel.send('\x1b[?1l\x1b');
    channel.send('>after\r\n');
    expect(command.fullScreen).toBe(false);
    channel.send(channel.end_(1));
    await expect(command.done).resolves.toMatchObject({ output: 'before\nafter\n' });
  });

  it('sends arrows in their keypad-mode form while a program is in keypad mode', async () => {
    const { shell, channel } = await open();
    const command = shell.start('htop');
    await started(command);
    channel.send(`${channel.begin(1)}\x1b[?1h\x1b=screen`);
    shell.sendKeys('<up><home>');
    expect(channel.writes.at(-1)).toBe('\x1bOA\x1bOH');
    channel.send(`\x1b[?1l\x1b>${channel.end_(1)}`);
    await command.done;
    const next = shell.start('cat');
    await started(next);
    shell.sendKeys('<up>');
    expect(channel.writes.at(-1)).toBe('\x1b[A');
  });

  it('finds the marker cut at every offset, after \\r\\n or \\n line ends, and never flushes a part of it as output', async () => {
    const { shell, channel } = await open();
    let id = 0;
    for (const lineEnd of ['\r\n', '\n']) {
      const body = `line one\r\n__END_ look-alike\r\n${'x'.repeat(50)}`;
      const expected = `line one\n__END_ look-alike\n${'x'.repeat(50)}`;
      const tailOf = (n: number): string => `${lineEnd}__END_${channel.nonce}_3_${n}__\r\n__PS_${channel.nonce}__`;
      for (let cut = 0; cut <= tailOf(id + 1).length; cut++) {
        const command = shell.start('printf stuff');
        const tail = tailOf(++id);
        await started(command);
        channel.send(`${channel.begin(id)}${body}${tail.slice(0, cut)}`);
        // Nothing that could still be the marker's start reached the output.
        expect(expected.startsWith(command.snapshot().text), command.snapshot().text).toBe(true);
        channel.send(tail.slice(cut));
        await expect(command.done).resolves.toMatchObject({ output: expected, exitCode: 3 });
      }
    }
  });

  it('strips a charset escape (sgr0 is ESC ( B ESC [ m) cut between packets', async () => {
    const { shell, channel } = await open();
    const command = shell.start('ls --color');
    await started(command);
    channel.send(`${channel.begin(1)}bold\x1b(`);
    channel.send('B\x1b[mplain \x1b');
    channel.send(`(B!\r\n${channel.end_(1)}`);
    await expect(command.done).resolves.toMatchObject({ output: 'boldplain !\n' });
  });

  it('does not take a finished line ending in ":" for a prompt while its line end is held back', async () => {
    const { shell, channel } = await open({ inputPromptQuietMs: 20 });
    const command = shell.start('status');
    const events: string[] = [];
    command.subscribe((event) => events.push(event.type));
    await started(command);
    channel.send(`${channel.begin(1)}Status:\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(command.awaitingInput).toBeUndefined();
    channel.send('Enter value: ');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(command.awaitingInput).toBe('Enter value:');
    channel.send(`x${channel.end_(1)}`);
    await command.done;
    expect(events.filter((type) => type === 'awaiting-input')).toEqual(['awaiting-input', 'awaiting-input']);
  });

  it('shares one escalation between concurrent interrupts', async () => {
    const { shell, channel } = await open();
    const command = shell.start('sleep 30');
    await started(command);
    channel.send(channel.begin(1));
    const both = Promise.all([shell.interrupt(), command.interrupt()]);
    await Promise.resolve();
    expect(channel.writes.filter((text) => text === '\x03')).toHaveLength(1);
    channel.send(`^C${channel.end_(1, 130)}`);
    await expect(both).resolves.toEqual(['interrupted', 'interrupted']);
    await expect(command.done).resolves.toMatchObject({ exitCode: 130 });
  });

  it('replaces a shell that exited; close() during the replacement fails the command at once and leaves no channel open', async () => {
    const { connection, channels } = scriptedConnection({ openDelayMs: 50 });
    const shell = await ShellSession.open(connection);
    await exitShell(shell, channels[0] as ScriptedChannel);
    const next = shell.start('echo hi');
    await new Promise((resolve) => setTimeout(resolve, 10)); // the replacement channel is opening
    shell.close();
    await expect(next.done).rejects.toMatchObject({ code: 'SHELL_EXITED', message: expect.stringContaining('closed') as unknown });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(channels.every((channel) => channel.closed)).toBe(true);
  });

  it('marks the first command in a replacement shell as freshShell', async () => {
    const { shell, channels } = await open();
    await exitShell(shell, channels[0] as ScriptedChannel);
    const next = shell.start('echo hi');
    await started(next);
    const second = channels[1] as ScriptedChannel;
    second.send(`${second.begin(2)}hi\r\n${second.end_(2)}`);
    await expect(next.done).resolves.toMatchObject({ output: 'hi\n', freshShell: true });
  });
});
