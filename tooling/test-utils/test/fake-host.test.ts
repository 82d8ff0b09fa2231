import type { Client, KeyboardInteractiveAuthMethod } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, execCommand, FakeHost, openShell, readUntil, scriptedCli } from '../src/index';

const hosts: FakeHost[] = [];
const clients: Client[] = [];

async function start(options: Parameters<typeof FakeHost.start>[0]): Promise<FakeHost> {
  const host = await FakeHost.start(options);
  hosts.push(host);
  return host;
}

async function connect(host: FakeHost, extra: Record<string, unknown> = {}): Promise<Client> {
  const { address } = host;
  const client = await connectClient({
    host: address.host,
    port: address.port,
    username: address.username,
    password: address.password,
    ...extra,
  });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.end();
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

const router = scriptedCli({
  banner: 'Welcome to router1\r\n\r\n',
  prompt: 'router1>',
  handle: (line, { prompt }) => {
    if (line === 'enable') return { prompt: 'router1#' };
    if (line === 'show clock') return '*10:00:00.000 UTC Mon Nov 25 2026';
    if (line === 'exit') return { close: true };
    if (line === '') return undefined;
    return prompt.endsWith('#') ? `% Invalid input detected at '^' marker.` : '% Unknown command';
  },
});

describe('FakeHost', () => {
  it('serves a scripted CLI whose prompt arrives split across several packets', async () => {
    const host = await start({ onShell: router });
    const shell = await openShell(await connect(host));
    const chunks: string[] = [];
    shell.on('data', (data: Buffer) => chunks.push(data.toString('utf8')));
    await readUntil(shell, /router1>$/);
    // The 8-character prompt cannot arrive whole with chunk sizes 1,3,7,2,11,5.
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('')).toBe('Welcome to router1\r\n\r\nrouter1>');

    shell.write('enable\r');
    await readUntil(shell, /router1#$/);
    shell.write('show clock\r');
    const reply = await readUntil(shell, /UTC Mon Nov 25 2026\r\nrouter1#$/);
    // Echo, CRLF reply, then the new prompt — as a device sends them.
    expect(reply).toBe('show clock\r\n*10:00:00.000 UTC Mon Nov 25 2026\r\nrouter1#');
  });

  it('ends the session when the script closes it', async () => {
    const host = await start({ onShell: router });
    const shell = await openShell(await connect(host));
    await readUntil(shell, /router1>$/);
    const closed = new Promise<void>((resolve) => shell.once('close', () => resolve()));
    shell.write('exit\r');
    await closed;
  });

  it('refuses exec like a shell-only device, and runs scripted exec when given', async () => {
    const shellOnly = await start({ onShell: router });
    const client = await connect(shellOnly);
    await expect(execCommand(client, 'show version')).rejects.toThrow(/Unable to exec|failure/i);

    const withExec = await start({
      onExec: (command, channel) => {
        void channel.write(`ran: ${command}\n`).then(() => channel.end(3));
      },
    });
    expect(await execCommand(await connect(withExec), 'uptime')).toEqual({ stdout: 'ran: uptime\n', stderr: '', code: 3 });
  });

  it('accepts the password and keyboard-interactive, and rejects a wrong password', async () => {
    const host = await start({ onShell: router });
    await connect(host);
    const { address } = host;
    const answerPassword: KeyboardInteractiveAuthMethod = {
      type: 'keyboard-interactive',
      username: address.username,
      prompt: (_name, _instructions, _lang, _prompts, finish) => finish([address.password]),
    };
    const kbd = await connectClient({
      host: address.host,
      port: address.port,
      username: address.username,
      tryKeyboard: true,
      authHandler: [answerPassword],
    });
    clients.push(kbd);
    await expect(
      connectClient({ host: address.host, port: address.port, username: address.username, password: 'nope' }),
    ).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('drops connections abruptly on demand (fault injection)', async () => {
    const host = await start({ onShell: router });
    const client = await connect(host);
    const shell = await openShell(client);
    await readUntil(shell, /router1>$/);
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    host.dropConnections();
    await gone;
    expect(host.connectionCount).toBe(1);
  });
});
