// The same exactness with each login shell: bash, dash (sh), zsh, busybox ash, and an unknown
// shell (fallback to bash). The test user's login shell is switched with usermod and restored.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { keyLogin, sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { ShellSession, SshConnection } from '../src/index';

const facts = sshdFacts();

describe.skipIf(!facts)(`ShellSession per login shell ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  afterAll(() => {
    execFileSync('usermod', ['-s', '/bin/bash', f.user]);
  });

  it.each([
    ['/bin/bash', undefined],
    ['/bin/dash', undefined],
    ['/usr/bin/zsh', undefined],
    ['/usr/local/bin/ash', undefined],
    ['/usr/local/bin/mcp-unknown-shell', 'not a POSIX shell'],
  ])('%s: exact output, exit codes, state, multi-line, stdin reader, piped output', async (loginShell, notice) => {
    execFileSync('usermod', ['-s', loginShell, f.user]);
    // sshd reads the login shell when the connection authenticates: a new connection per shell.
    const connection = await SshConnection.connect(keyLogin(f));
    const shell = await ShellSession.open(connection, { startupTimeoutMs: 10_000 });
    try {
      expect(shell.info.loginShell).toBe(loginShell);
      if (notice) expect(shell.info.notice).toContain(notice);
      else expect(shell.info.notice).toBeUndefined();
      await expect(shell.run('echo hello')).resolves.toMatchObject({ output: 'hello\n', exitCode: 0 });
      await expect(shell.run('false')).resolves.toMatchObject({ output: '', exitCode: 1 });
      await expect(shell.run('(exit 7)')).resolves.toMatchObject({ exitCode: 7 });
      await expect(shell.run("printf 'no newline'")).resolves.toMatchObject({ output: 'no newline' });
      await shell.run('cd /tmp; export KEPT=yes');
      await expect(shell.run('echo "$PWD $KEPT"')).resolves.toMatchObject({ output: '/tmp yes\n' });
      await expect(shell.run('for i in 1 2; do\n  echo "n$i"\ndone\ncat <<EOF\nheredoc\nEOF')).resolves.toMatchObject({
        output: 'n1\nn2\nheredoc\n',
        exitCode: 0,
      });
      const reader = shell.start('read v; echo "got $v"');
      expect(reader.write('typed\n')).toBe(true);
      await expect(reader.done).resolves.toMatchObject({ output: 'got typed\n', exitCode: 0 });
      // pipeOutput: its exec channel runs through this login shell too (sh -c inside).
      await expect(shell.run('cd /usr; echo "piped $KEPT" >&2; (exit 4)', { pipeOutput: true })).resolves.toMatchObject({ output: 'piped yes\n', exitCode: 4 });
      await expect(shell.run('echo "$PWD"')).resolves.toMatchObject({ output: '/usr\n' });
    } finally {
      shell.close();
      connection.close();
    }
  });
});
