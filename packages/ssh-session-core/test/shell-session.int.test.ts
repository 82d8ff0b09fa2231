// The persistent POSIX shell against the real sshd: exact output, real exit codes, state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { ShellSession, SshConnection } from '../src/index';

const facts = sshdFacts();

describe.skipIf(!facts)(`ShellSession on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let connection: SshConnection;
  let shell: ShellSession;

  beforeAll(async () => {
    connection = await SshConnection.connect({
      host: f.host,
      port: f.port,
      username: f.user,
      auth: { privateKeys: [{ path: f.keyPath }] },
      hostKeys: { mode: 'strict', knownHostsFiles: [f.knownHostsPath] },
    });
    shell = await ShellSession.open(connection);
  });
  afterAll(() => {
    shell?.close();
    connection?.close();
  });

  it('gives exactly the output: no echo, no prompt, no marker, no \\r', async () => {
    await expect(shell.run('echo hello')).resolves.toMatchObject({ output: 'hello\n', exitCode: 0, droppedChars: 0 });
    await expect(shell.run("printf 'no newline'")).resolves.toMatchObject({ output: 'no newline', exitCode: 0 });
    await expect(shell.run('true')).resolves.toMatchObject({ output: '', exitCode: 0 });
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
    const result = await shell.run('for i in $(seq 1 10); do echo "tick $i"; sleep 0.1; done');
    expect(result.output).toBe(Array.from({ length: 10 }, (_, i) => `tick ${i + 1}\n`).join(''));
  });

  it('times out with READ_TIMEOUT while the command keeps running, then interrupts it and runs the next at once', async () => {
    await expect(shell.run('sleep 30', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'READ_TIMEOUT' });
    const started = Date.now();
    expect(await shell.interrupt()).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect(shell.run('echo next')).resolves.toMatchObject({ output: 'next\n', exitCode: 0 });
  });

  it('strips ANSI colour sequences', async () => {
    await expect(shell.run("printf '\\033[31mred\\033[0m\\n'")).resolves.toMatchObject({ output: 'red\n' });
  });

  it('reports a command that exits the shell as SHELL_EXITED', async () => {
    const own = await ShellSession.open(connection);
    await expect(own.run('exit 3')).rejects.toMatchObject({ code: 'SHELL_EXITED' });
    expect(own.isOpen).toBe(false);
    await expect(own.run('echo x')).rejects.toMatchObject({ code: 'SHELL_EXITED' });
    // The connection is fine: a fresh shell works.
    const fresh = await ShellSession.open(connection);
    await expect(fresh.run('echo fresh')).resolves.toMatchObject({ output: 'fresh\n' });
    fresh.close();
  });
});
