// Remote files over real SFTP and real sudo on the loopback sshd (the test host is this machine,
// so the tests check results on the local filesystem too).
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyLogin, sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { SshConnection } from 'ssh-session-core';
import { RemoteFiles, TempFileJournal, type WriteFileOptions } from '../src/index';

const facts = sshdFacts();

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe.skipIf(!facts)(`RemoteFiles on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let connection: SshConnection;
  let files: RemoteFiles;
  const run = `mcp-files-${randomBytes(4).toString('hex')}`;
  const home = `/home/${f.user}`;
  const rootFiles: string[] = [];
  // Made in beforeAll, not at collection: a skipped or filtered suite still collects, but runs no afterAll.
  let local: string;

  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), 'sftp-files-'));
    connection = await SshConnection.connect(keyLogin(f));
    files = new RemoteFiles(connection);
  });
  afterAll(() => {
    connection?.close();
    rmSync(`${home}/${run}`, { recursive: true, force: true });
    rmSync(`/tmp/${run}`, { recursive: true, force: true });
    for (const path of rootFiles) rmSync(path, { force: true });
    if (local) rmSync(local, { recursive: true, force: true });
  });

  it('writes with makeDirs and permissions 0600, then appends: exact content and mode 600', async () => {
    const path = `~/${run}/a/b/notes.txt`;
    const written = await files.writeFile(path, 'first line\n', { makeDirs: true, permissions: '0600' });
    expect(written).toMatchObject({ path: `${home}/${run}/a/b/notes.txt`, bytesWritten: 11, atomic: true, created: true, viaSudo: false, mode: 0o600 });
    const appended = await files.writeFile(path, 'second line', { append: true });
    expect(appended).toMatchObject({ bytesWritten: 11, atomic: false, created: false, mode: 0o600 });
    expect(readFileSync(`${home}/${run}/a/b/notes.txt`, 'utf8')).toBe('first line\nsecond line');
    expect(statSync(`${home}/${run}/a/b/notes.txt`).mode & 0o777).toBe(0o600);
    await expect(files.readFile(path)).resolves.toMatchObject({ content: 'first line\nsecond line', encoding: 'utf-8', binary: false, truncated: false, size: 22 });
    await expect(files.stat(path)).resolves.toMatchObject({ type: 'file', size: 22, mode: 0o600, name: 'notes.txt' });
    await expect(files.list(`~/${run}/a`)).resolves.toMatchObject([{ name: 'b', type: 'directory' }]);
  });

  it('lists owner and group names from the server\'s long listing; ids as text where there is no name; stat gives ids', async () => {
    const dir = `${home}/${run}/owners`;
    await files.writeFile(`${dir}/mine.txt`, 'x', { makeDirs: true });
    // The test host is this machine (tests run as root): give two entries other owners directly.
    writeFileSync(`${dir}/roots.txt`, 'r');
    chmodSync(`${dir}/roots.txt`, 0o644);
    writeFileSync(`${dir}/orphan.txt`, 'o');
    execFileSync('chown', ['54321:54322', `${dir}/orphan.txt`]);
    const group = execFileSync('id', ['-gn', f.user], { encoding: 'utf8' }).trim();
    const { uid, gid } = statSync(`${dir}/mine.txt`);
    expect(await files.list(dir)).toEqual([
      expect.objectContaining({ name: 'mine.txt', uid, gid, owner: f.user, group }),
      expect.objectContaining({ name: 'orphan.txt', uid: 54321, gid: 54322, owner: '54321', group: '54322' }),
      expect.objectContaining({ name: 'roots.txt', uid: 0, gid: 0, owner: 'root', group: 'root' }),
    ]);
    // SFTP attributes carry ids only; stat has no long name to read.
    await expect(files.stat(`${dir}/mine.txt`)).resolves.toMatchObject({ uid, gid, owner: String(uid), group: String(gid) });
  });

  it('replaces a file atomically, keeping its mode, and leaves no temp file behind', async () => {
    const path = `${home}/${run}/script.sh`;
    await files.writeFile(path, '#!/bin/sh\necho one\n', { permissions: 0o750 });
    const result = await files.writeFile(path, '#!/bin/sh\necho two\n');
    expect(result).toMatchObject({ atomic: true, created: false, mode: 0o750, notice: undefined });
    expect(statSync(path).mode & 0o777).toBe(0o750);
    expect(readdirSync(`${home}/${run}`).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('truncates a read at maxBytes and says how much of how much was read', async () => {
    await files.writeFile(`~/${run}/hundred.txt`, 'x'.repeat(100));
    await expect(files.readFile(`~/${run}/hundred.txt`, { maxBytes: 10 })).resolves.toMatchObject({
      content: 'x'.repeat(10),
      bytesRead: 10,
      size: 100,
      truncated: true,
    });
  });

  it('returns binary content as base64, byte-exact, and text without a trailing newline as is', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0x80]);
    await files.writeFile(`~/${run}/blob.bin`, bytes);
    await expect(files.readFile(`~/${run}/blob.bin`)).resolves.toMatchObject({ binary: true, encoding: 'base64', content: bytes.toString('base64') });
    await files.writeFile(`~/${run}/b64.bin`, bytes.toString('base64'), { encoding: 'base64' });
    expect(readFileSync(`${home}/${run}/b64.bin`)).toEqual(bytes);
    await files.writeFile(`~/${run}/plain.txt`, 'no newline — ünïcödé');
    await expect(files.readFile(`~/${run}/plain.txt`)).resolves.toMatchObject({ content: 'no newline — ünïcödé', binary: false });
  });

  it('decodes as asked with errors (strict, replace, ignore); without it, invalid text comes back whole as base64', async () => {
    const latin1 = Buffer.from('café\n', 'latin1');
    writeFileSync(`${home}/${run}/latin1.txt`, latin1);
    const path = `~/${run}/latin1.txt`;
    await expect(files.readFile(path)).resolves.toMatchObject({ binary: true, encoding: 'base64', content: latin1.toString('base64'), decodeErrors: 0 });
    await expect(files.readFile(path, { errors: 'replace' })).resolves.toMatchObject({ binary: false, encoding: 'utf-8', content: 'caf\uFFFD\n', decodeErrors: 1 });
    await expect(files.readFile(path, { errors: 'ignore' })).resolves.toMatchObject({ content: 'caf\n', decodeErrors: 1 });
    await expect(files.readFile(path, { errors: 'strict' })).rejects.toMatchObject({ code: 'DECODE_FAILED', details: { offset: 3 } });
    await expect(files.readFile(path, { encoding: 'latin1', errors: 'strict' })).resolves.toMatchObject({ content: 'café\n', decodeErrors: 0 });
    // Writing: strict by default, as Python's str.encode.
    await expect(files.writeFile(`~/${run}/ascii.txt`, 'café', { encoding: 'ascii' })).rejects.toMatchObject({ code: 'ENCODE_FAILED' });
    expect(existsSync(`${home}/${run}/ascii.txt`)).toBe(false);
    await files.writeFile(`~/${run}/ascii.txt`, 'café', { encoding: 'ascii', errors: 'replace' });
    expect(readFileSync(`${home}/${run}/ascii.txt`, 'latin1')).toBe('caf?');
  });

  it('refuses content over maxBytes before creating anything: no file, no directories, no temp file', async () => {
    const dir = `~/${run}/made/by/write`;
    await expect(files.writeFile(`${dir}/big`, 'é'.repeat(6), { maxBytes: 11, makeDirs: true })).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
      details: { bytes: 12, maxBytes: 11 },
    });
    expect(existsSync(`${home}/${run}/made`)).toBe(false);
    await files.writeFile(`${dir}/fits`, 'é'.repeat(6), { maxBytes: 12, makeDirs: true });
    expect(readdirSync(`${home}/${run}/made/by/write`)).toEqual(['fits']);
  });

  it('gives typed errors: missing file, a directory, permission denied, too large', async () => {
    await expect(files.readFile(`~/${run}/missing.txt`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(files.readFile(`~/${run}`)).rejects.toMatchObject({ code: 'NOT_A_FILE', message: expect.stringContaining('directory') as unknown });
    await expect(files.readFile('/etc/shadow')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(files.writeFile('/etc/mcp-should-not-exist', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(files.writeFile(`~/${run}/no/such/dir/file`, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(files.writeFile(`~/${run}/big`, 'x'.repeat(11), { maxBytes: 10 })).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(existsSync('/etc/mcp-should-not-exist')).toBe(false);
  });

  it('reads and writes a root-only file through sudo with a password, byte-exact, keeping mode and owner', async () => {
    const path = `/etc/${run}.conf`;
    rootFiles.push(path);
    writeFileSync(path, 'old\n');
    chmodSync(path, 0o640);
    const bytes = Buffer.concat([Buffer.from('binary\0bytes\r\n'), randomBytes(64), Buffer.from('no trailing newline')]);
    await expect(files.writeFile(path, bytes)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const written = await files.writeFile(path, bytes, { useSudo: true, sudoPassword: f.password });
    expect(written).toMatchObject({ viaSudo: true, atomic: true, created: false, mode: 0o640, bytesWritten: bytes.length });
    expect(readFileSync(path)).toEqual(bytes);
    expect(statSync(path)).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(path).mode & 0o777).toBe(0o640);
    const read = await files.readFile(path, { useSudo: true, sudoPassword: f.password });
    expect(read).toMatchObject({ viaSudo: true, binary: true, encoding: 'base64', size: bytes.length, truncated: false });
    expect(Buffer.from(read.content, 'base64')).toEqual(bytes);
    const shadow = await files.readFile('/etc/shadow', { useSudo: true, sudoPassword: f.password, maxBytes: 5 });
    expect(shadow).toMatchObject({ viaSudo: true, truncated: true, bytesRead: 5, content: 'root:' });
    // No staged copy is left in /tmp.
    expect(readdirSync('/tmp').filter((name) => name.startsWith('.ssh-sftp-files-'))).toEqual([]);
  });

  it('writes through a symlink to its target instead of replacing the link (SFTP and sudo)', async () => {
    const target = `${home}/${run}/real.conf`;
    writeFileSync(target, 'old\n');
    chmodSync(target, 0o640);
    symlinkSync(target, `${home}/${run}/link.conf`);
    await expect(files.writeFile(`~/${run}/link.conf`, 'new\n')).resolves.toMatchObject({ path: target, mode: 0o640 });
    expect(lstatSync(`${home}/${run}/link.conf`).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new\n');

    const rootTarget = `/etc/${run}-target.conf`;
    const rootLink = `/etc/${run}-link.conf`;
    rootFiles.push(rootTarget, rootLink);
    writeFileSync(rootTarget, 'root old\n');
    chmodSync(rootTarget, 0o600);
    symlinkSync(rootTarget, rootLink);
    await expect(files.writeFile(rootLink, 'root new\n', { useSudo: true, sudoPassword: f.password })).resolves.toMatchObject({ viaSudo: true, mode: 0o600 });
    expect(lstatSync(rootLink).isSymbolicLink()).toBe(true);
    expect(readFileSync(rootTarget, 'utf8')).toBe('root new\n');
    expect(statSync(rootTarget).mode & 0o777).toBe(0o600);
  });

  it('refuses to write as root into a directory another user controls (like sudoedit)', async () => {
    const dir = `/srv/${run}`;
    mkdirSync(dir, { recursive: true });
    rootFiles.push(`${dir}/app.env`);
    writeFileSync(`${dir}/app.env`, 'KEY=1\n');
    execFileSync('chown', ['nobody', dir]);
    try {
      await expect(files.writeFile(`${dir}/app.env`, 'KEY=2\n', { useSudo: true, sudoPassword: f.password })).rejects.toMatchObject({
        code: 'SUDO_FALLBACK_FAILED',
        message: expect.stringContaining('writable by a user other than root') as unknown,
      });
      expect(readFileSync(`${dir}/app.env`, 'utf8')).toBe('KEY=1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses invalid base64 content instead of writing garbage', async () => {
    await expect(files.writeFile(`~/${run}/bad.bin`, 'not base64!', { encoding: 'base64' })).rejects.toThrow(TypeError);
  });

  it('fails the sudo fallback clearly with a wrong password or none, without leaking the password', async () => {
    const error = await files.readFile('/etc/shadow', { useSudo: true, sudoPassword: 'wrong-password-123' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SUDO_FALLBACK_FAILED' });
    expect(String((error as Error).message)).not.toContain('wrong-password-123');
    await expect(files.readFile('/etc/shadow', { useSudo: true })).rejects.toMatchObject({
      code: 'SUDO_FALLBACK_FAILED',
      message: expect.stringContaining('sudo_password') as unknown,
    });
  });

  it('uses sudo without a password where sudo needs none (NOPASSWD)', async () => {
    const rule = `/etc/sudoers.d/91-${run}`;
    writeFileSync(rule, `${f.user} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    try {
      const path = `/etc/${run}-nopasswd.txt`;
      rootFiles.push(path);
      await expect(files.writeFile(path, 'made by root\n', { useSudo: true })).resolves.toMatchObject({ viaSudo: true, created: true, mode: 0o644 });
      expect(statSync(path).uid).toBe(0);
      await expect(files.readFile('/etc/shadow', { useSudo: true, maxBytes: 5 })).resolves.toMatchObject({ content: 'root:', viaSudo: true });
    } finally {
      rmSync(rule, { force: true });
    }
  });

  /**
   * Writes 40 MB to `path` on a connection of its own and SIGKILLs the sshd process serving it
   * once 4 MB are written; resolves with what the write threw (or returned), the connection closed.
   */
  const writeCutAt4MB = async (path: string, journal: TempFileJournal, options: WriteFileOptions = {}): Promise<unknown> => {
    const own = await SshConnection.connect(keyLogin(f));
    const sshdProcess = Number((await own.exec('echo $PPID')).stdout.trim());
    const big = Buffer.alloc(40 * 1024 * 1024, 'y');
    let killed = false;
    const outcome = await new RemoteFiles(own, { tempJournal: journal })
      .writeFile(path, big, {
        ...options,
        maxBytes: big.length,
        onProgress: ({ bytes }) => {
          if (!killed && bytes >= 4 * 1024 * 1024) {
            killed = true;
            process.kill(sshdProcess, 'SIGKILL');
          }
        },
      })
      .catch((error: unknown) => error);
    own.close();
    expect(killed).toBe(true);
    return outcome;
  };

  it('leaves the original file intact when the connection dies in the middle of a write', async () => {
    const path = `${home}/${run}/precious.txt`;
    writeFileSync(path, 'original content\n');
    const journal = TempFileJournal.open(mkdtempSync(join(tmpdir(), 'journal-')));
    const outcome = await writeCutAt4MB(path, journal);
    expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED', details: { path, target: 'unchanged' } });
    expect(String(outcome)).toMatch(/precious\.txt was not changed; the temp file .*\.precious\.txt\.[0-9a-f]{12}\.tmp is removed when a connection to the host comes back/);
    expect(readFileSync(path, 'utf8')).toBe('original content\n');
    // The temp file the lost connection could not remove is there, then gone once a connection is
    // back: removed before the new connection's first file operation.
    const temps = (): string[] => readdirSync(`${home}/${run}`).filter((name) => name.startsWith('.precious.txt.'));
    expect(temps()).toEqual([String((outcome as { details: { tempFile: string } }).details.tempFile).split('/').pop()]);
    // On record in the journal too (what a crash of this process would hand to the next one).
    expect(journal.size).toBe(1);
    const back = await SshConnection.connect(keyLogin(f));
    try {
      const files = new RemoteFiles(back, { tempJournal: journal });
      await files.stat(path);
      expect(temps()).toEqual([]);
      expect(journal.size).toBe(0);
      // A write that completes leaves nothing on record.
      await files.writeFile(path, 'rewritten\n');
      expect(journal.size).toBe(0);
      expect(readFileSync(journal.path, 'utf8').trim().split('\n')).toHaveLength(4);
    } finally {
      back.close();
      journal.close();
      rmSync(dirname(journal.path), { recursive: true, force: true });
    }
  });

  it('a connection dropped mid-sudo-write: the root-owned target intact, the staged copy removed when a connection comes back', async () => {
    const path = `/etc/${run}-drop.conf`;
    rootFiles.push(path);
    writeFileSync(path, 'root original\n');
    const staged = (): string[] => readdirSync('/tmp').filter((name) => name.startsWith('.ssh-sftp-files-'));
    const before = staged();
    // Cut while staging: the content goes to a private file of ours first, then sudo installs it.
    const journal = TempFileJournal.open(mkdtempSync(join(tmpdir(), 'journal-')));
    const outcome = await writeCutAt4MB(path, journal, { useSudo: true, sudoPassword: f.password });
    expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED', details: { path, target: 'unchanged' } });
    expect(String(outcome)).toMatch(/was not changed; the temp file \/tmp\/\.ssh-sftp-files-[0-9a-f]+ is removed/);
    expect(String(outcome)).not.toContain(f.password);
    expect(readFileSync(path, 'utf8')).toBe('root original\n');
    expect(staged().filter((name) => !before.includes(name))).toHaveLength(1);
    expect(journal.size).toBe(1);
    const back = await SshConnection.connect(keyLogin(f));
    try {
      await new RemoteFiles(back, { tempJournal: journal }).stat(path);
      expect(staged().filter((name) => !before.includes(name))).toEqual([]);
      expect(journal.size).toBe(0);
    } finally {
      back.close();
      journal.close();
      rmSync(dirname(journal.path), { recursive: true, force: true });
    }
  });

  /** A write whose rename request goes out to the connection's sshd, which dies before it can pass it on. */
  async function writeCutAtRename(posixRename: boolean, existed: boolean): Promise<{ path: string; journal: TempFileJournal; outcome: unknown }> {
    const path = `${home}/${run}/renamed-${posixRename}-${existed}.txt`;
    if (existed) writeFileSync(path, 'before\n');
    const journal = TempFileJournal.open(mkdtempSync(join(tmpdir(), 'journal-')));
    const own = await SshConnection.connect(keyLogin(f));
    try {
      const sshdProcess = Number((await own.exec('echo $PPID')).stdout.trim());
      const sftp = await own.sftp();
      // A server without posix-rename, as ssh2 sees it (the extension not announced).
      if (!posixRename) delete (sftp as unknown as { _extensions: Record<string, unknown> })._extensions['posix-rename@openssh.com'];
      const method = posixRename ? 'ext_openssh_rename' : 'rename';
      const rename = sftp[method].bind(sftp);
      // Stopped first, so that it cannot pass the request on or answer it before it is killed
      // (killed right after sending, it sometimes answered first: the write then succeeded).
      sftp[method] = (from: string, to: string, cb: (error?: Error | null) => void) => {
        process.kill(sshdProcess, 'SIGSTOP');
        const sent = rename(from, to, cb);
        process.kill(sshdProcess, 'SIGKILL');
        return sent;
      };
      const outcome = await new RemoteFiles(own, { tempJournal: journal }).writeFile(path, 'after\n').catch((error: unknown) => error);
      return { path, journal, outcome };
    } finally {
      own.close();
    }
  }

  it.each([
    { over: 'an existing file, by posix-rename', posixRename: true, existed: true },
    { over: 'a new file, by plain rename (a server without posix-rename)', posixRename: false, existed: false },
  ])('a connection lost with the rename in flight, over $over: the target is old or new (never partial), the result says which is unknown, the temp file stays on record until a connection is back', async ({ posixRename, existed }) => {
    const { path, journal, outcome } = await writeCutAtRename(posixRename, existed);
    try {
      expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED', details: { path, target: 'unknown', tempFile: expect.any(String) } });
      expect(existed ? ['before\n', 'after\n'] : [undefined, 'after\n']).toContain(existsSync(path) ? readFileSync(path, 'utf8') : undefined);
      expect(journal.size).toBe(1);
      const back = await SshConnection.connect(keyLogin(f));
      try {
        await new RemoteFiles(back, { tempJournal: journal }).stat(`${home}/${run}`);
        expect(readdirSync(`${home}/${run}`).filter((name) => name.startsWith(`.${basename(path)}.`))).toEqual([]);
        expect(journal.size).toBe(0);
      } finally {
        back.close();
      }
    } finally {
      journal.close();
      rmSync(dirname(journal.path), { recursive: true, force: true });
    }
  });

  it('a connection lost with a plain rename over an existing file in flight (no posix-rename: the old file already removed): the result says the target may be missing and names the temp file, which is kept', async () => {
    const { path, journal, outcome } = await writeCutAtRename(false, true);
    try {
      const tempFile = (outcome as { details?: { tempFile?: string } }).details?.tempFile as string;
      expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED', details: { path, target: 'maybe-removed', tempFile: expect.any(String), tempKept: true } });
      expect((outcome as Error).message).toContain(`the new content is kept in ${tempFile}`);
      // Either the rename happened (the new content in place, no temp file) or it did not (no target, the temp file whole).
      if (existsSync(path)) {
        expect([readFileSync(path, 'utf8'), existsSync(tempFile)]).toEqual(['after\n', false]);
      } else {
        expect(readFileSync(tempFile, 'utf8')).toBe('after\n');
      }
      expect(journal.size).toBe(0); // not on record: it is the user's to keep, never removed for them
    } finally {
      journal.close();
      rmSync(dirname(journal.path), { recursive: true, force: true });
    }
  });

  it('uploads and downloads 100 MB streamed: checksums match, memory stays bounded', async () => {
    const source = join(local, 'source.bin');
    const chunk = randomBytes(1024 * 1024);
    writeFileSync(source, Buffer.concat(Array.from({ length: 100 }, (_, i) => Buffer.concat([chunk.subarray(i), chunk.subarray(0, i)]))));
    chmodSync(source, 0o640);
    const expected = await sha256(source);
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const progress: number[] = [];
    const track = ({ bytes }: { bytes: number }): void => {
      progress.push(bytes);
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const up = await files.upload(source, `/tmp/${run}/up/big.bin`, { makeDirs: true, preserveMode: true, onProgress: track });
    expect(up).toMatchObject({ bytes: 100 * 1024 * 1024, remotePath: `/tmp/${run}/up/big.bin` });
    expect(await sha256(`/tmp/${run}/up/big.bin`)).toBe(expected);
    expect(statSync(`/tmp/${run}/up/big.bin`).mode & 0o777).toBe(0o640);
    const target = join(local, 'back.bin');
    await files.download(`/tmp/${run}/up/big.bin`, target, { onProgress: track });
    expect(await sha256(target)).toBe(expected);
    expect(progress.at(-1)).toBe(100 * 1024 * 1024);
    expect(peak - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('downloads through a temp file: a failed download leaves the existing local file alone; makeDirs creates the directory', async () => {
    const kept = join(local, 'kept.txt');
    writeFileSync(kept, 'local original\n');
    await expect(files.download(`/tmp/${run}/no-such-file`, kept)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(files.download('/root', kept)).rejects.toMatchObject({ code: 'NOT_A_FILE' });
    expect(readFileSync(kept, 'utf8')).toBe('local original\n');
    await expect(files.download('/etc/hostname', local)).rejects.toMatchObject({ code: 'NOT_A_FILE' });
    const nested = join(local, 'new', 'dir', 'hostname');
    const result = await files.download('/etc/hostname', nested, { makeDirs: true });
    expect(result).toMatchObject({ localPath: nested, remotePath: '/etc/hostname' });
    expect(readFileSync(nested, 'utf8')).toBe(readFileSync('/etc/hostname', 'utf8'));
    expect(readdirSync(join(local, 'new', 'dir'))).toEqual(['hostname']);
  });
  it('cancels an upload and a download by their signal: CANCELLED, the destinations as they were, no temp file, the session still works', async () => {
    const source = join(local, 'cancel-source.bin');
    writeFileSync(source, randomBytes(64 * 1024 * 1024));
    const dir = `/tmp/${run}/cancel`;
    await files.writeFile(`${dir}/target.bin`, 'old target\n', { makeDirs: true });
    const up = new AbortController();
    // Aborted once bytes flow: mid-transfer. It stops there: the bytes moved stay far below the file's.
    let upMoved = 0;
    const upload = files.upload(source, `${dir}/target.bin`, { signal: up.signal, onProgress: ({ bytes }) => ((upMoved = bytes), up.abort()) });
    await expect(upload).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('destination is unchanged') as unknown });
    expect(upMoved).toBeLessThan(32 * 1024 * 1024);
    expect(readFileSync(`${dir}/target.bin`, 'utf8')).toBe('old target\n');
    expect(readdirSync(dir)).toEqual(['target.bin']);

    const local2 = join(local, 'cancel-down');
    mkdirSync(local2);
    writeFileSync(join(local2, 'kept.bin'), 'local original\n');
    await files.upload(source, `${dir}/big.bin`);
    const down = new AbortController();
    let downMoved = 0;
    const download = files.download(`${dir}/big.bin`, join(local2, 'kept.bin'), { signal: down.signal, onProgress: ({ bytes }) => ((downMoved = bytes), down.abort()) });
    await expect(download).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(downMoved).toBeLessThan(32 * 1024 * 1024);
    expect(readdirSync(local2)).toEqual(['kept.bin']);
    expect(readFileSync(join(local2, 'kept.bin'), 'utf8')).toBe('local original\n');
    // An abort before the start sends nothing; the shared session is untouched by either.
    await expect(files.upload(source, `${dir}/never.bin`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await files.list(dir)).map((entry) => entry.name).sort()).toEqual(['big.bin', 'target.bin']);
  });
});
