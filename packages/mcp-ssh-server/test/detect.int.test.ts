// A Linux host is never taken for a network device when the call names no device_type: a root
// style `host#` prompt, busybox ash with a `#` prompt, a themed zsh prompt and a slow .bashrc, each
// through the built bin against the real sshd (the test user's login shell and rc files are
// switched here and restored). And a host whose exec does not run the command (ForceCommand):
// its interactive shell runs the marker setup, so it is a POSIX host, not a generic device.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, startSshd, type RunningSshd, type SshdFacts } from 'test-utils';
import { serverHome, startServer, text, type E2eServer } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`POSIX hosts are never taken for devices ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  const home = `/home/${f.user}`;
  const rcFiles = ['.bashrc', '.profile', '.zshrc'];
  const saved = new Map<string, string | undefined>();
  let server: E2eServer;
  let forced: RunningSshd;

  const writeRc = (name: string, content: string): void => {
    const path = join(home, name);
    writeFileSync(path, content);
    const { uid, gid } = statSync(home);
    chownSync(path, uid, gid);
  };

  beforeAll(async () => {
    for (const name of rcFiles) saved.set(name, existsSync(join(home, name)) ? readFileSync(join(home, name), 'utf8') : undefined);
    // Every session runs a login bash whatever the client asked: an exec of `echo …` prints nothing.
    forced = await startSshd({ credentialsOf: f, extraConfig: ['ForceCommand /bin/bash -l'] });
    const alias = `Host forced\n  HostName 127.0.0.1\n  Port ${forced.facts.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n\n`;
    server = await startServer(f, { home: serverHome(f, alias, `${forced.facts.knownHostsLine}\n`) });
  });
  afterAll(async () => {
    await server?.close();
    await forced?.stop();
    execFileSync('usermod', ['-s', '/bin/bash', f.user]);
    for (const [name, content] of saved) {
      if (content === undefined) rmSync(join(home, name), { force: true });
      else writeRc(name, content);
    }
  });

  const bashrc = (): string => saved.get('.bashrc') ?? '';
  it.each([
    { name: 'bash whose prompt is a root-style `rootbox#`', shell: '/bin/bash', rc: (): [string, string][] => [['.bashrc', `${bashrc()}\nPS1='rootbox# '\n`]] },
    { name: 'busybox ash with a `switch01#` prompt', shell: '/usr/local/bin/ash', rc: (): [string, string][] => [['.profile', `${saved.get('.profile') ?? ''}\nPS1='switch01# '\n`]] },
    { name: 'zsh with a themed prompt (colours, %#, a right prompt)', shell: '/usr/bin/zsh', rc: (): [string, string][] => [['.zshrc', "PROMPT='%F{green}%n@%m%f %F{blue}%~%f %# '\nRPROMPT='[%?] %T'\n"]] },
    { name: 'bash with a slow .bashrc (a second before the interactive guard and after it)', shell: '/bin/bash', rc: (): [string, string][] => [['.bashrc', `sleep 1\n${bashrc()}\nsleep 1\n`]] },
  ])('$name: a POSIX session with exact output and real exit codes, nothing said about a device', async ({ shell, rc }) => {
    execFileSync('usermod', ['-s', shell, f.user]);
    for (const [name, content] of rc()) writeRc(name, content);
    try {
      const result = await server.call('execute_command', { host: 'testhost', command: 'echo "shell=$0"; (exit 3)' });
      expect(result.structuredContent, text(result)).toMatchObject({ status: 'completed', exit_code: 3, notice: null });
      expect(String(result.structuredContent?.output)).toMatch(/^shell=-?\S*(bash|ash|zsh)\n$/);
      const sessions = (await server.call('list_sessions')).structuredContent?.sessions as Record<string, unknown>[];
      expect(sessions).toEqual([expect.objectContaining({ login_shell: shell, device: null, detection: expect.objectContaining({ kind: 'posix', profile: 'linux', detected: true }) as unknown })]);
      expect((sessions[0]?.detection as { evidence: string }).evidence).toBe(`exec ran a shell (${shell})`);
    } finally {
      await server.call('close_all_sessions');
      for (const [name] of rc()) writeRc(name, saved.get(name) ?? '');
    }
  });

  it.each([
    ['Debian default', undefined],
    ['root style', 'root@box:~# '],
    ['RHEL style', '[mcpsshtest@box ~]$ '],
  ])('a host whose exec runs no command (ForceCommand) but whose shell runs the marker setup is POSIX (%s prompt)', async (_style, ps1) => {
    if (ps1) writeRc('.bashrc', `${bashrc()}\nPS1='${ps1}'\n`);
    const result = await server.call('execute_command', { host: 'forced', command: 'cd /tmp && echo "in $PWD"; (exit 4)' }).finally(() => writeRc('.bashrc', bashrc()));
    expect(result.structuredContent, text(result)).toMatchObject({ status: 'completed', exit_code: 4, output: 'in /tmp\n', notice: null });
    const state = await server.call('execute_command', { host: 'forced', command: 'pwd' });
    expect(state.structuredContent).toMatchObject({ exit_code: 0, output: '/tmp\n' });
    const sessions = (await server.call('list_sessions')).structuredContent?.sessions as Record<string, unknown>[];
    expect(sessions.find((session) => session.alias === 'forced')).toMatchObject({
      device: null,
      detection: { kind: 'posix', profile: 'linux', detected: true, evidence: expect.stringMatching(/^exec is not run by a shell; prompt ".*" ran the marker setup$/) as unknown },
    });
    await server.call('close_all_sessions');
  });
});
