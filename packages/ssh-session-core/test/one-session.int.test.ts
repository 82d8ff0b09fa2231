// A host that allows one session channel at a time (sshd MaxSessions 1, like many devices): the
// shell channel asked for early, while the POSIX probe runs, must not cost the probe its channel.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, startSshd, type RunningSshd, type SshdFacts } from 'test-utils';
import { openHostShell, ShellSession, SshConnection, type ConnectOptions } from '../src/index';

const facts = sshdFacts();

describe.skipIf(!facts)(`one session channel at a time (MaxSessions 1) ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let single: RunningSshd;
  let login: ConnectOptions;
  beforeAll(async () => {
    single = await startSshd({ credentialsOf: f, extraConfig: ['MaxSessions 1'] });
    login = {
      host: '127.0.0.1',
      port: single.facts.port,
      username: f.user,
      auth: { privateKeys: [{ path: f.keyPath }] },
      hostKeys: { mode: 'strict', knownHostsFiles: [single.facts.knownHostsPath] },
    };
  });
  afterAll(async () => {
    await single?.stop();
  });

  it('openHostShell detects a POSIX host and runs commands with real exit codes', async () => {
    const { connection, shell, detection } = await openHostShell(() => SshConnection.connect(login));
    try {
      expect(detection.kind).toBe('posix');
      await expect((shell as ShellSession).run('echo one; (exit 3)')).resolves.toMatchObject({ output: 'one\n', exitCode: 3 });
    } finally {
      shell.close();
      connection.close();
    }
  });

  it('a login shell we cannot drive: the early channel is closed before bash is started in its place', async () => {
    execFileSync('usermod', ['-s', '/usr/local/bin/mcp-unknown-shell', f.user]);
    try {
      const { connection, shell, detection } = await openHostShell(() => SshConnection.connect(login));
      try {
        expect(detection.kind).toBe('posix');
        expect((shell as ShellSession).info.notice).toContain('not a POSIX shell');
        await expect((shell as ShellSession).run('echo three')).resolves.toMatchObject({ output: 'three\n', exitCode: 0 });
      } finally {
        shell.close();
        connection.close();
      }
    } finally {
      execFileSync('usermod', ['-s', '/bin/bash', f.user]);
    }
  });

  it('ShellSession.open reads the login shell and opens the shell on the one channel', async () => {
    const connection = await SshConnection.connect(login);
    const shell = await ShellSession.open(connection);
    try {
      expect(shell.info.loginShell).toBe('/bin/bash');
      await expect(shell.run('echo two')).resolves.toMatchObject({ output: 'two\n', exitCode: 0 });
    } finally {
      shell.close();
      connection.close();
    }
  });
});
