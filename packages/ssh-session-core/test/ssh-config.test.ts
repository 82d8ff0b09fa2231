import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listConfiguredHosts, parseProxyJump, resolveTarget } from '../src/ssh-config';
import type { ResolveTargetOptions } from '../src/ssh-config';

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'core-ssh-config-'));
  await mkdir(join(home, '.ssh'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Writes `~/.ssh/config` (and any other files, relative to ~/.ssh) and returns the options to read it. */
async function withConfig(text: string, files: Record<string, string> = {}, extra: Partial<ResolveTargetOptions> = {}): Promise<ResolveTargetOptions> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(home, '.ssh', name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
  const configPath = join(home, '.ssh', 'config');
  await writeFile(configPath, text);
  return { configPath, homeDir: home, localUser: 'me', ...extra };
}

describe('resolveTarget', () => {
  it('applies HostName (with %h), Port and User of the alias', async () => {
    const options = await withConfig(['Host web', '  HostName %h.example.com', '  Port 2222', '  User deploy', ''].join('\n'));
    const target = await resolveTarget('web', options);
    expect(target).toMatchObject({ alias: 'web', host: 'web.example.com', port: 2222, user: 'deploy', sessionKey: 'deploy@web.example.com:2222' });
  });

  it('defaults to the alias, port 22, the local user and ~/.ssh/known_hosts', async () => {
    const target = await resolveTarget('plain.example.org', await withConfig('Host other\n  Port 1\n'));
    expect(target).toEqual({
      alias: 'plain.example.org',
      host: 'plain.example.org',
      port: 22,
      user: 'me',
      identityFiles: [],
      identityFilesExplicit: false,
      identitiesOnly: false,
      proxyJump: [],
      userKnownHostsFiles: [join(home, '.ssh', 'known_hosts')],
      sessionKey: 'me@plain.example.org:22',
    });
  });

  it('treats a missing config file as empty and reads nothing without configPath', async () => {
    const missing = await resolveTarget('h', { configPath: join(home, 'nope', 'config'), homeDir: home, localUser: 'me' });
    const none = await resolveTarget('h', { homeDir: home, localUser: 'me' });
    expect(missing).toEqual(none);
    expect(none).toMatchObject({ host: 'h', port: 22, user: 'me', identityFiles: [] });
  });

  it('propagates read errors other than a missing file', async () => {
    await expect(resolveTarget('h', { configPath: join(home, '.ssh'), homeDir: home, localUser: 'me' })).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('matches Host patterns and keywords case-insensitively, as ssh does', async () => {
    const options = await withConfig('Host WEB\n  hostname Web.Example.COM\n  PORT 2200\n');
    expect(await resolveTarget('web', options)).toMatchObject({ host: 'web.example.com', port: 2200 });
  });

  it('lists every IdentityFile in order with ~ and %d/%u/%h/%r expanded', async () => {
    const options = await withConfig(
      [
        'IdentityFile ~/.ssh/global',
        'Host web',
        '  HostName web.example.com',
        '  User deploy',
        '  IdentityFile "~/.ssh/my key"',
        '  IdentityFile %d/keys/%u-%r@%h',
        'Host *',
        '  IdentityFile ~/.ssh/id_ed25519',
        '',
      ].join('\n'),
    );
    const target = await resolveTarget('web', options);
    expect(target.identityFiles).toEqual([
      join(home, '.ssh/global'),
      join(home, '.ssh/my key'),
      `${home}/keys/me-deploy@web.example.com`,
      join(home, '.ssh/id_ed25519'),
    ]);
  });

  it('reads IdentitiesOnly', async () => {
    const options = await withConfig('Host a\n  IdentitiesOnly yes\nHost b\n  IdentitiesOnly no\n');
    expect((await resolveTarget('a', options)).identitiesOnly).toBe(true);
    expect((await resolveTarget('b', options)).identitiesOnly).toBe(false);
    expect((await resolveTarget('c', options)).identitiesOnly).toBe(false);
  });

  it('converts ConnectTimeout and ServerAliveInterval to ms and reads ServerAliveCountMax', async () => {
    const options = await withConfig(
      [
        'Host a',
        '  ConnectTimeout 10',
        '  ServerAliveInterval 15',
        '  ServerAliveCountMax 4',
        'Host b',
        '  ConnectTimeout 1m30s',
        '  ServerAliveInterval 0',
        '',
      ].join('\n'),
    );
    expect(await resolveTarget('a', options)).toMatchObject({ connectTimeoutMs: 10_000, serverAliveIntervalMs: 15_000, serverAliveCountMax: 4 });
    const b = await resolveTarget('b', options);
    expect(b).toMatchObject({ connectTimeoutMs: 90_000, serverAliveIntervalMs: 0 });
    expect(b.serverAliveCountMax).toBeUndefined();
    expect((await resolveTarget('c', options)).connectTimeoutMs).toBeUndefined();
  });

  it.each([
    ['yes', 'yes'],
    ['accept-new', 'accept-new'],
    ['no', 'no'],
    ['off', 'no'],
    ['ask', 'yes'],
  ])('maps StrictHostKeyChecking %s to %s', async (value, expected) => {
    const options = await withConfig(`Host h\n  StrictHostKeyChecking ${value}\n`);
    expect((await resolveTarget('h', options)).strictHostKeyChecking).toBe(expected);
  });

  it('leaves StrictHostKeyChecking unset when not configured and rejects unknown values', async () => {
    expect((await resolveTarget('h', await withConfig(''))).strictHostKeyChecking).toBeUndefined();
    await expect(resolveTarget('h', await withConfig('StrictHostKeyChecking maybe\n'))).rejects.toThrow(RangeError);
  });

  it('reads several UserKnownHostsFile entries with ~ expanded, and none as no file', async () => {
    const options = await withConfig('Host a\n  UserKnownHostsFile ~/.ssh/kh1 /etc/ssh/kh2 ~/kh_%h\nHost b\n  UserKnownHostsFile none\n');
    expect((await resolveTarget('a', options)).userKnownHostsFiles).toEqual([join(home, '.ssh/kh1'), '/etc/ssh/kh2', join(home, 'kh_a')]);
    expect((await resolveTarget('b', options)).userKnownHostsFiles).toEqual([]);
  });

  it('takes the first value of each keyword, so Host * defaults apply after specific blocks', async () => {
    const options = await withConfig(
      ['Host db', '  User dba', '  Port 5022', 'Host *', '  User everyone', '  Port 22', '  ServerAliveInterval 30', ''].join('\n'),
    );
    expect(await resolveTarget('db', options)).toMatchObject({ user: 'dba', port: 5022, serverAliveIntervalMs: 30_000 });
    expect(await resolveTarget('other', options)).toMatchObject({ user: 'everyone', port: 22, serverAliveIntervalMs: 30_000 });
  });

  it('supports ? and !negation in Host patterns', async () => {
    const options = await withConfig('Host web? !web9\n  User webuser\n');
    expect((await resolveTarget('web1', options)).user).toBe('webuser');
    expect((await resolveTarget('web9', options)).user).toBe('me');
  });

  it('lets explicit overrides win over the config', async () => {
    const options = await withConfig(
      ['Host web', '  User deploy', '  Port 2222', '  IdentityFile ~/.ssh/conf_key', '  ProxyJump bastion', '  StrictHostKeyChecking no', ''].join('\n'),
    );
    const target = await resolveTarget('web', {
      ...options,
      overrides: { user: 'admin', port: 2200, identityFiles: ['~/.ssh/explicit'], proxyJump: 'none', strictHostKeyChecking: 'yes' },
    });
    expect(target).toMatchObject({
      user: 'admin',
      port: 2200,
      identityFiles: [join(home, '.ssh/explicit')],
      proxyJump: [],
      strictHostKeyChecking: 'yes',
      sessionKey: 'admin@web:2200',
    });
  });

  it('gives two aliases for the same user@host:port the same sessionKey', async () => {
    const options = await withConfig(
      ['Host one', '  HostName 10.0.0.5', '  User ops', 'Host two', '  HostName 10.0.0.5', '  User ops', '  Port 22', ''].join('\n'),
    );
    const [one, two] = await Promise.all([resolveTarget('one', options), resolveTarget('two', options)]);
    expect(one.sessionKey).toBe('ops@10.0.0.5:22');
    expect(two.sessionKey).toBe(one.sessionKey);
  });

  it('decides Match localuser with options.localUser and never runs Match exec', async () => {
    const marker = join(home, 'exec-ran');
    const options = await withConfig(
      [`Match exec "touch ${marker}"`, '  User fromexec', 'Match localuser me', '  Port 2022', 'Match originalhost web', '  User fromorig', ''].join('\n'),
    );
    const target = await resolveTarget('web', options);
    expect(target).toMatchObject({ user: 'fromorig', port: 2022 });
    await expect(access(marker)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await resolveTarget('web', { ...options, localUser: 'someone' })).port).toBe(22);
  });

  it('matches Match host against the HostName', async () => {
    const options = await withConfig('Host web\n  HostName web.example.com\nMatch host *.example.com\n  User corp\n');
    expect((await resolveTarget('web', options)).user).toBe('corp');
    expect((await resolveTarget('other', options)).user).toBe('me');
  });

  it.each([
    ['just written (racily clean: re-read every call)', 0],
    ['quiet for 10 s (cached: compared by stamp)', 10_000],
  ])('sees every edit on the next call, files %s: the config, an included file, a file added to or removed from an Include directory', async (_, ahead) => {
    // Date.now() ahead of the files' mtimes makes them look settled, so the stamp path is taken.
    if (ahead > 0) vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ahead });
    try {
      await editsSeen();
    } finally {
      vi.useRealTimers();
    }
  });

  async function editsSeen(): Promise<void> {
    const options = await withConfig('Include conf.d/*.conf\nHost a\n  Port 2201\n', { 'conf.d/one.conf': 'Host b\n  Port 2301\n' });
    expect((await resolveTarget('a', options)).port).toBe(2201);
    expect((await resolveTarget('c', options)).port).toBe(22);
    // Same length, same second: the stamp still differs (ns mtime, ctime, or inode).
    await writeFile(options.configPath as string, 'Include conf.d/*.conf\nHost a\n  Port 2202\n');
    expect((await resolveTarget('a', options)).port).toBe(2202);
    await writeFile(join(home, '.ssh', 'conf.d', 'one.conf'), 'Host b\n  Port 2302\n');
    expect((await resolveTarget('b', options)).port).toBe(2302);
    await writeFile(join(home, '.ssh', 'conf.d', 'two.conf'), 'Host c\n  Port 2401\n');
    expect((await resolveTarget('c', options)).port).toBe(2401);
    await rm(join(home, '.ssh', 'conf.d', 'two.conf'));
    expect((await resolveTarget('c', options)).port).toBe(22);
    await rm(options.configPath as string);
    expect((await resolveTarget('a', options)).port).toBe(22);
  }

  describe('Include', () => {
    it('expands a glob and a relative path (relative to ~/.ssh), in order, first value winning', async () => {
      const options = await withConfig(
        ['Include conf.d/*.conf extra', 'Host *', '  User fallback', ''].join('\n'),
        {
          'conf.d/10-web.conf': 'Host web\n  HostName web.internal\n  IdentityFile ~/.ssh/ten\n',
          'conf.d/20-web.conf': 'Host web\n  HostName ignored.internal\n  Port 2020\n  IdentityFile ~/.ssh/twenty\n',
          'conf.d/.hidden.conf': 'Host web\n  User hidden\n',
          'conf.d/notes.txt': 'Host web\n  User txt\n',
          extra: 'Host db\n  User dba\n',
        },
      );
      expect(await resolveTarget('web', options)).toMatchObject({
        host: 'web.internal',
        port: 2020,
        user: 'fallback',
        identityFiles: [join(home, '.ssh/ten'), join(home, '.ssh/twenty')],
      });
      expect((await resolveTarget('db', options)).user).toBe('dba');
    });

    it('resolves ~ and absolute Include paths and ignores files and directories that do not exist', async () => {
      const abs = join(home, 'abs.conf');
      await writeFile(abs, 'Host a\n  Port 1111\n');
      const options = await withConfig(`Include ~/.ssh/tilde.conf ${abs} missing.conf nodir/*.conf\n`, { 'tilde.conf': 'Host a\n  User tilde\n' });
      expect(await resolveTarget('a', options)).toMatchObject({ user: 'tilde', port: 1111 });
    });

    it('applies an Include inside a Host block only to that host, with its own Host blocks', async () => {
      const options = await withConfig(
        ['Host work-*', '  Include work.conf', '  User worker', 'Host *', '  Port 2222', ''].join('\n'),
        { 'work.conf': 'IdentityFile ~/.ssh/work\nHost work-db\n  User dbuser\n' },
      );
      expect(await resolveTarget('work-web', options)).toMatchObject({ user: 'worker', port: 2222, identityFiles: [join(home, '.ssh/work')] });
      expect(await resolveTarget('work-db', options)).toMatchObject({ user: 'dbuser', identityFiles: [join(home, '.ssh/work')] });
      expect(await resolveTarget('home', options)).toMatchObject({ user: 'me', port: 2222, identityFiles: [] });
    });

    it('reads Includes from configText relative to homeDir/.ssh', async () => {
      await writeFile(join(home, '.ssh', 'inc'), 'Host x\n  Port 3333\n');
      const target = await resolveTarget('x', { configText: 'Include inc\n', homeDir: home, localUser: 'me' });
      expect(target.port).toBe(3333);
    });

    it('rejects an Include loop with a RangeError', async () => {
      const options = await withConfig('Include a.conf\n', { 'a.conf': 'Include b.conf\n', 'b.conf': 'Include a.conf\n' });
      await expect(resolveTarget('h', options)).rejects.toThrow(/Include loop/);
      await expect(resolveTarget('h', options)).rejects.toThrow(RangeError);
    });
  });

  describe('ProxyJump', () => {
    it('resolves a single hop through the config', async () => {
      const options = await withConfig(
        ['Host web', '  ProxyJump bastion', 'Host bastion', '  HostName bastion.example.com', '  Port 2201', '  User jump', '  IdentityFile ~/.ssh/jump', '  IdentitiesOnly yes', ''].join('\n'),
      );
      expect((await resolveTarget('web', options)).proxyJump).toEqual([
        { alias: 'bastion', host: 'bastion.example.com', port: 2201, user: 'jump', identityFiles: [join(home, '.ssh/jump')], identitiesOnly: true },
      ]);
    });

    it('keeps a chain in order and lets user/port in the hop spec win over the hop alias config', async () => {
      const options = await withConfig(
        ['Host web', '  ProxyJump alice@outer:2022,inner', 'Host outer', '  HostName outer.example.com', '  User bob', '  Port 22', 'Host inner', '  HostName 10.1.1.1', ''].join('\n'),
      );
      const { proxyJump } = await resolveTarget('web', options);
      expect(proxyJump.map((hop) => `${hop.alias}=${hop.user}@${hop.host}:${hop.port}`)).toEqual(['outer=alice@outer.example.com:2022', 'inner=me@10.1.1.1:22']);
    });

    it('treats ProxyJump none as no jump, e.g. for the bastion under a Host * ProxyJump', async () => {
      const options = await withConfig(['Host bastion', '  ProxyJump none', 'Host *', '  ProxyJump bastion', ''].join('\n'));
      expect((await resolveTarget('bastion', options)).proxyJump).toEqual([]);
      expect((await resolveTarget('web', options)).proxyJump.map((hop) => hop.alias)).toEqual(['bastion']);
    });

    it("puts the first hop's own ProxyJump before it, as ssh -J does", async () => {
      const options = await withConfig(['Host web', '  ProxyJump inner', 'Host inner', '  ProxyJump outer', ''].join('\n'));
      expect((await resolveTarget('web', options)).proxyJump.map((hop) => hop.alias)).toEqual(['outer', 'inner']);
    });

    it('rejects a hop equal to the target, a repeated hop and a self-referencing bastion with RangeError', async () => {
      const options = await withConfig(
        ['Host self', '  ProxyJump self', 'Host twice', '  ProxyJump a,b,a', 'Host web', '  ProxyJump bastion', 'Host bastion', '  ProxyJump bastion', ''].join('\n'),
      );
      await expect(resolveTarget('self', options)).rejects.toThrow(RangeError);
      await expect(resolveTarget('twice', options)).rejects.toThrow(/ProxyJump loop/);
      await expect(resolveTarget('web', options)).rejects.toThrow(/ProxyJump loop/);
    });
  });

  describe('misuse', () => {
    it('throws TypeError synchronously for an empty or malformed alias and missing options', () => {
      const options = { homeDir: '/home/me', localUser: 'me' };
      expect(() => resolveTarget('', options)).toThrow(TypeError);
      expect(() => resolveTarget('a b', options)).toThrow(TypeError);
      expect(() => resolveTarget('h', { homeDir: 'relative', localUser: 'me' })).toThrow(TypeError);
      expect(() => resolveTarget('h', { homeDir: '/home/me', localUser: '' })).toThrow(TypeError);
      expect(() => resolveTarget('h', { ...options, configPath: '/x', configText: '' })).toThrow(TypeError);
    });

    it('throws RangeError synchronously for a bad port override', () => {
      const options = { homeDir: '/home/me', localUser: 'me' };
      expect(() => resolveTarget('h', { ...options, overrides: { port: 0 } })).toThrow(RangeError);
      expect(() => resolveTarget('h', { ...options, overrides: { port: 1.5 } })).toThrow(RangeError);
      expect(() => resolveTarget('h', { ...options, overrides: { port: 65536 } })).toThrow(RangeError);
    });

    it('rejects with RangeError for a bad Port or time in the config', async () => {
      await expect(resolveTarget('h', await withConfig('Port 99999\n'))).rejects.toThrow(RangeError);
      await expect(resolveTarget('h', await withConfig('Port ssh\n'))).rejects.toThrow(RangeError);
      await expect(resolveTarget('h', await withConfig('ConnectTimeout soon\n'))).rejects.toThrow(RangeError);
    });

    it('rejects with SyntaxError for config text ssh-config cannot parse', async () => {
      await expect(resolveTarget('h', await withConfig('Host "unclosed\n'))).rejects.toThrow(SyntaxError);
    });
  });
});

describe('parseProxyJump', () => {
  it.each([
    ['host', [{ host: 'host' }]],
    ['user@host', [{ host: 'host', user: 'user' }]],
    ['host:2222', [{ host: 'host', port: 2222 }]],
    ['user@host:2222', [{ host: 'host', port: 2222, user: 'user' }]],
    ['ssh://user@host:2222', [{ host: 'host', port: 2222, user: 'user' }]],
    ['ssh://host/', [{ host: 'host' }]],
    ['[::1]:2222', [{ host: '::1', port: 2222 }]],
    ['me@[fe80::1]', [{ host: 'fe80::1', user: 'me' }]],
    ['fe80::1', [{ host: 'fe80::1' }]],
    ['a, b@c:23 ,ssh://d', [{ host: 'a' }, { host: 'c', port: 23, user: 'b' }, { host: 'd' }]],
    ['none', []],
    ['NONE', []],
  ])('parses %s', (spec, expected) => {
    expect(parseProxyJump(spec)).toEqual(expected);
  });

  it('throws TypeError for empty specs or hops and RangeError for bad ports', () => {
    expect(() => parseProxyJump('')).toThrow(TypeError);
    expect(() => parseProxyJump('a,,b')).toThrow(TypeError);
    expect(() => parseProxyJump('@host')).toThrow(TypeError);
    expect(() => parseProxyJump('[::1')).toThrow(TypeError);
    expect(() => parseProxyJump('host:0')).toThrow(RangeError);
    expect(() => parseProxyJump('host:99999')).toThrow(RangeError);
    expect(() => parseProxyJump('host:')).toThrow(RangeError);
    expect(() => parseProxyJump('[::1]:x')).toThrow(RangeError);
  });
});

describe('listConfiguredHosts', () => {
  it('lists concrete Host patterns of the file and its Includes, resolved, once each; skips wildcards, negations and Match', async () => {
    const options = await withConfig(
      [
        'Include conf.d/*.conf',
        'Host web db',
        '  HostName %h.example.com',
        'Host *.internal !bastion ?x',
        '  User ops',
        'Match host db.example.com',
        '  Port 2200',
        'Host web',
        '  Port 1',
        'Host *',
        '  User me2',
        '',
      ].join('\n'),
      { 'conf.d/a.conf': 'Host router1\n  HostName 10.0.0.1\n  User admin\n' },
    );
    const hosts = await listConfiguredHosts(options);
    expect(hosts.map((h) => [h.alias, h.host, h.user, h.port])).toEqual([
      ['router1', '10.0.0.1', 'admin', 22],
      ['web', 'web.example.com', 'me2', 1],
      ['db', 'db.example.com', 'me2', 2200],
    ]);
  });

  it('returns nothing for a missing config', async () => {
    await expect(listConfiguredHosts({ configPath: join(home, 'none'), homeDir: home, localUser: 'me' })).resolves.toEqual([]);
  });

  it('fails on a host it cannot resolve, or with onInvalid reports it and lists the others', async () => {
    const options = await withConfig(['Host good', '  Port 2222', 'Host loop1', '  ProxyJump loop2', 'Host loop2', '  ProxyJump loop1', 'Host badport', '  Port 99999', ''].join('\n'));
    await expect(listConfiguredHosts(options)).rejects.toThrow(/ProxyJump loop/);
    const invalid: [string, string][] = [];
    const hosts = await listConfiguredHosts({ ...options, onInvalid: (alias, error) => invalid.push([alias, error.message]) });
    expect(hosts.map((h) => [h.alias, h.port])).toEqual([['good', 2222]]);
    expect(invalid.map(([alias]) => alias)).toEqual(['loop1', 'loop2', 'badport']);
    expect(invalid[0]?.[1]).toMatch(/ProxyJump loop/);
    expect(invalid[2]?.[1]).toMatch(/99999/);
  });
});
