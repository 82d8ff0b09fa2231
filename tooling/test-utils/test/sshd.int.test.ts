// Proves the loop every later issue builds on: the real loopback sshd started by the globalSetup
// accepts the run's key and password, gives a PTY shell, runs sudo with a password, serves SFTP.
import { readFileSync } from 'node:fs';
import type { Client, SFTPWrapper } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, execCommand, openShell, readUntil, sshdFacts, sshdSkipReason } from '../src/index';

const facts = sshdFacts();
const clients: Client[] = [];

async function connect(auth: 'key' | 'password'): Promise<Client> {
  if (!facts) throw new Error('unreachable');
  const client = await connectClient({
    host: facts.host,
    port: facts.port,
    username: facts.user,
    ...(auth === 'key' ? { privateKey: readFileSync(facts.keyPath) } : { password: facts.password }),
    // The host key must be the one the harness generated: compare the offered key blob.
    hostVerifier: (key: Buffer) => key.toString('base64') === facts.hostPublicKey.split(' ')[1],
  });
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const client of clients.splice(0)) client.end();
});

describe.skipIf(!facts)(`real OpenSSH sshd on loopback ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  it('accepts the generated key and runs a command as the test user', async () => {
    const client = await connect('key');
    const result = await execCommand(client, 'id -un; echo "$SHELL"');
    expect(result).toEqual({ stdout: `${facts?.user}\n/bin/bash\n`, stderr: '', code: 0 });
  });

  it('accepts the password and reports real exit codes', async () => {
    const client = await connect('password');
    const result = await execCommand(client, 'echo out; echo err >&2; exit 7');
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 7 });
  });

  it('rejects a wrong password with an authentication error', async () => {
    await expect(
      connectClient({ host: facts?.host, port: facts?.port, username: facts?.user, password: 'wrong-password' }),
    ).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('refuses a client whose host key check fails (the key is really verified)', async () => {
    await expect(
      connectClient({
        host: facts?.host,
        port: facts?.port,
        username: facts?.user,
        password: facts?.password,
        hostVerifier: () => false,
      }),
    ).rejects.toThrow(/verification failed/i);
  });

  it('opens a PTY shell that shows a prompt and runs a command', async () => {
    const client = await connect('key');
    const shell = await openShell(client);
    await readUntil(shell, /\$ $/);
    shell.write('echo "pty:$(tty)"\n');
    const output = await readUntil(shell, /pty:\/dev\/pts\/\d+\r?\n/);
    expect(output).toMatch(/pty:\/dev\/pts\/\d+/);
    shell.end('exit\n');
  });

  it('shows sudo its password prompt, accepts the password and runs as root', async () => {
    const client = await connect('key');
    const shell = await openShell(client);
    await readUntil(shell, /\$ $/);
    shell.write('sudo -k; sudo whoami\n');
    const prompt = await readUntil(shell, /\[sudo\] password for mcpsshtest: $/);
    expect(prompt).not.toContain(facts?.password);
    shell.write(`${facts?.password}\n`);
    const after = await readUntil(shell, /\r?\nroot\r?\n[^]*\$ $/);
    // No echo: the password never appears in what the terminal sent back.
    expect(after).not.toContain(facts?.password);
    shell.end('exit\n');
  });

  it('writes a file over SFTP and reads back the same bytes', async () => {
    const client = await connect('password');
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((error, session) => (error ? reject(error) : resolve(session))),
    );
    const path = `/home/${facts?.user}/harness-${process.pid}.bin`;
    const bytes = Buffer.from([0, 1, 2, 255, 13, 10, 0x1b, 0x5b, 0x41, 0xe2, 0x82, 0xac]);
    await new Promise<void>((resolve, reject) => sftp.writeFile(path, bytes, (error) => (error ? reject(error) : resolve())));
    const back = await new Promise<Buffer>((resolve, reject) =>
      sftp.readFile(path, (error, data) => (error ? reject(error) : resolve(data))),
    );
    await new Promise<void>((resolve, reject) => sftp.unlink(path, (error) => (error ? reject(error) : resolve())));
    expect(back.equals(bytes)).toBe(true);
  });

  it('logs each accepted login in the sshd log the tests can read', async () => {
    await connect('key');
    await expect.poll(() => readFileSync(facts?.logPath ?? '', 'utf8')).toMatch(/Accepted publickey for mcpsshtest/);
  });
});
