// End to end: the tools beyond the reference (directories, transfers, host list, many hosts), the
// session rules (credentials, close ends jobs), and the policy, through the built bin over stdio.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { serverHome, startServer, text, type E2eServer, type ToolResult } from './helpers';

const facts = sshdFacts();
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!facts)(`mcp-ssh-server host tools on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  // Made in beforeAll, not at collection: a skipped or filtered suite still collects, but runs no afterAll.
  let local: string;
  const remoteDir = `/tmp/mcp-host-tools-${process.pid}`;
  let server: E2eServer;
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);

  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), 'mcp-local-'));
    const home = serverHome(f, `Host testhost2\n  HostName ${f.host}\n  Port ${f.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n\nHost far\n  HostName 192.0.2.10\n  User ops\n  ProxyJump testhost\n\nHost loopy\n  ProxyJump loopy2\n\nHost loopy2\n  ProxyJump loopy\n\n`);
    server = await startServer(f, { home, args: ['--local-root', local], env: { OVRD_envhost_HOST: f.host, OVRD_envhost_PORT: String(f.port), OVRD_envhost_PASS: f.password, OVRD_envhost_USER: f.user } });
  });
  afterAll(async () => {
    await call('execute_command', { host: 'testhost', command: `rm -rf ${remoteDir}` }).catch(() => undefined);
    await server?.close();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  it('lists the new tools with descriptions (output schemas only with --output-schemas: test/tool-list.test.ts)', async () => {
    const { tools } = await server.client.listTools();
    for (const name of ['list_directory', 'upload_file', 'download_file', 'list_hosts', 'execute_command_on_hosts']) {
      const tool = tools.find((t) => t.name === name);
      expect(tool?.outputSchema, name).toBeUndefined();
      expect(tool?.description?.length, name).toBeGreaterThan(80);
    }
  });

  it('lists hosts from ssh_config (resolved) and from OVRD_* variables, never their passwords; broken entries apart', async () => {
    const result = await call('list_hosts');
    const hosts = result.structuredContent?.hosts as { alias: string }[];
    expect(hosts).toEqual([
      expect.objectContaining({ alias: 'testhost', host: f.host, port: f.port, user: f.user, source: 'ssh_config', credentials_in_environment: false }),
      expect.objectContaining({ alias: 'testhost2', host: f.host, port: f.port }),
      expect.objectContaining({ alias: 'far', host: '192.0.2.10', user: 'ops', port: 22, proxy_jump: [`${f.user}@${f.host}:${f.port}`] }),
      expect.objectContaining({ alias: 'envhost', host: f.host, port: f.port, user: f.user, source: 'environment', credentials_in_environment: true }),
    ]);
    expect(text(result)).toContain(`far  ops@192.0.2.10:22 via ${f.user}@${f.host}:${f.port}`);
    // A broken entry is reported, not a reason to list nothing.
    expect(result.structuredContent?.invalid_hosts).toEqual([
      { alias: 'loopy', error: expect.stringMatching(/ProxyJump loop/) as unknown },
      { alias: 'loopy2', error: expect.stringMatching(/ProxyJump loop/) as unknown },
    ]);
    expect(text(result)).toMatch(/^loopy {2}\[invalid: ProxyJump loop/m);
    expect(JSON.stringify(result)).not.toContain(f.password);
  });

  it('uploads and downloads binary files byte-exact; local paths must be absolute; a failed download leaves nothing', async () => {
    const bytes = Buffer.concat([randomBytes(300_000), Buffer.from('\0\r\n\xff', 'latin1')]);
    const source = join(local, 'blob.bin');
    writeFileSync(source, bytes);
    const up = await call('upload_file', { host: 'testhost', local_path: source, remote_path: `${remoteDir}/in/blob.bin`, make_dirs: true, permissions: '640' });
    expect(up.structuredContent).toMatchObject({ bytes: bytes.length, remote_path: `${remoteDir}/in/blob.bin` });
    expect(text(up)).toMatch(/^Uploaded 300004 bytes: /);
    expect(sha256(readFileSync(`${remoteDir}/in/blob.bin`))).toBe(sha256(bytes));
    expect(statSync(`${remoteDir}/in/blob.bin`).mode & 0o777).toBe(0o640);
    // permissions as in write_file: an integer is the mode value; 640 (octal digits) is ambiguous.
    await call('upload_file', { host: 'testhost', local_path: source, remote_path: `${remoteDir}/in/mode.bin`, permissions: 0o600 });
    expect(statSync(`${remoteDir}/in/mode.bin`).mode & 0o777).toBe(0o600);
    const ambiguous = await call('upload_file', { host: 'testhost', local_path: source, remote_path: `${remoteDir}/in/never.bin`, permissions: 640 });
    expect(text(ambiguous)).toMatch(/^Error INVALID_ARGUMENT: permissions 640 is ambiguous/);

    const target = join(local, 'back', 'blob.bin');
    const down = await call('download_file', { host: 'testhost', remote_path: `${remoteDir}/in/blob.bin`, local_path: target, make_dirs: true });
    expect(down.structuredContent).toMatchObject({ bytes: bytes.length, local_path: target });
    expect(sha256(readFileSync(target))).toBe(sha256(bytes));

    // A new local file gets the remote mode (0640 here).
    expect(statSync(target).mode & 0o777).toBe(0o640);
    // Relative paths are taken from the first local root; an existing file needs overwrite.
    const again = await call('download_file', { host: 'testhost', remote_path: `${remoteDir}/in/blob.bin`, local_path: 'back/blob.bin' });
    expect(text(again)).toMatch(/^Error LOCAL_EXISTS: .*overwrite: true/);
    const replaced = await call('download_file', { host: 'testhost', remote_path: `${remoteDir}/in/blob.bin`, local_path: 'back/blob.bin', overwrite: true });
    expect(replaced.structuredContent).toMatchObject({ local_path: target });
    // Nothing outside the local roots, and never a .ssh directory (the server's own keys).
    const outside = await call('download_file', { host: 'testhost', remote_path: `${remoteDir}/in/blob.bin`, local_path: join(server.home, 'x.bin') });
    expect(text(outside)).toMatch(/^Error POLICY_DENIED: .*outside the server's local roots/);
    // As many ../ as it takes from the root to /etc/passwd (which exists: refused for where it is, not missing).
    const escape = await call('upload_file', { host: 'testhost', local_path: relative(local, '/etc/passwd'), remote_path: `${remoteDir}/passwd` });
    expect(text(escape)).toMatch(/^Error POLICY_DENIED: /);
    const sshDir = join(local, '.ssh');
    mkdirSync(sshDir);
    writeFileSync(join(sshDir, 'id_ed25519'), 'secret key');
    const key = await call('upload_file', { host: 'testhost', local_path: join(sshDir, 'id_ed25519'), remote_path: `${remoteDir}/stolen` });
    expect(text(key)).toMatch(/^Error POLICY_DENIED: .*\.ssh directory/);
    symlinkSync(join(sshDir, 'id_ed25519'), join(local, 'innocent'));
    const viaLink = await call('upload_file', { host: 'testhost', local_path: join(local, 'innocent'), remote_path: `${remoteDir}/stolen` });
    expect(text(viaLink)).toMatch(/^Error POLICY_DENIED: /);
    const missing = await call('download_file', { host: 'testhost', remote_path: `${remoteDir}/nope`, local_path: join(local, 'nope') });
    expect(text(missing)).toMatch(/^Error NOT_FOUND: /);
    expect(existsSync(join(local, 'nope'))).toBe(false);
    const noSource = await call('upload_file', { host: 'testhost', local_path: join(local, 'absent'), remote_path: `${remoteDir}/x` });
    expect(text(noSource)).toMatch(/^Error LOCAL_NOT_FOUND: /);
  });

  it('lists a directory with types, modes, sizes, owner and group names; hidden entries on request', async () => {
    await call('execute_command', { host: 'testhost', command: `mkdir -p ${remoteDir}/list/sub && printf abc > ${remoteDir}/list/a.txt && touch ${remoteDir}/list/.hidden && ln -s a.txt ${remoteDir}/list/link && chmod 600 ${remoteDir}/list/a.txt` });
    const group = execFileSync('id', ['-gn', f.user], { encoding: 'utf8' }).trim();
    const owned = { owner: f.user, group, uid: statSync(`${remoteDir}/list/a.txt`).uid };
    const all = await call('list_directory', { host: 'testhost', remote_path: `${remoteDir}/list` });
    expect(all.structuredContent).toMatchObject({
      path: `${remoteDir}/list`,
      total: 4,
      omitted: 0,
      entries: [
        expect.objectContaining({ name: '.hidden', type: 'file', size: 0, ...owned }),
        expect.objectContaining({ name: 'a.txt', type: 'file', size: 3, mode: '0600', ...owned }),
        expect.objectContaining({ name: 'link', type: 'symlink', ...owned }),
        expect.objectContaining({ name: 'sub', type: 'directory', ...owned }),
      ],
    });
    expect(text(all)).toContain('sub/');
    expect(text(all)).toMatch(new RegExp(`^- 0600 ${f.user} ${group} +3 \\S+  a\\.txt$`, 'm'));
    const visible = await call('list_directory', { host: 'testhost', remote_path: `${remoteDir}/list`, show_hidden: false });
    expect((visible.structuredContent?.entries as { name: string }[]).map((e) => e.name)).toEqual(['a.txt', 'link', 'sub']);
    const notDir = await call('list_directory', { host: 'testhost', remote_path: `${remoteDir}/list/a.txt` });
    expect(notDir.isError).toBe(true);
  });

  it('runs one command on several hosts in parallel; an unreachable host fails alone', async () => {
    const result = await call('execute_command_on_hosts', {
      hosts: ['testhost', 'testhost2', 'envhost', 'no-such-host.invalid'],
      command: 'sleep 0.5; echo "on $(whoami)"',
      timeout: 20,
    });
    const results = result.structuredContent?.results as { host: string; status: string; output: string; exit_code: number | null; error: { code: string } | null }[];
    expect(results.map((r) => [r.host, r.status, r.exit_code, r.output])).toEqual([
      ['testhost', 'completed', 0, `on ${f.user}\n`],
      ['testhost2', 'completed', 0, `on ${f.user}\n`],
      ['envhost', 'completed', 0, `on ${f.user}\n`],
      ['no-such-host.invalid', 'error', null, ''],
    ]);
    expect(results[3]?.error?.code).toMatch(/CONNECT_FAILED|HOST_KEY_UNKNOWN/);
    expect(result.structuredContent).toMatchObject({ succeeded: 3, failed: 1, running: 0 });
    expect(text(result)).toMatch(/^4 hosts: 3 succeeded, 1 failed\./);
    // The three ran at once (testhost2 shares testhost's session, so it ran in a second shell).
    const durations = (await call('list_command_history', { limit: 3 })).structuredContent?.commands as { started_at: string; ended_at: string }[];
    const starts = durations.map((d) => Date.parse(d.started_at));
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(450);
  });

  it('reports progress per host as each finishes; a cancelled upload stops, leaves no file, and the session works on', async () => {
    // Read off the wire: the SDK client handles a notification a tick later than a response in the
    // same chunk, so it may drop the last progress that arrived just before the answer.
    const seen = server.transport.lines.length;
    const hosts = await server.client.callTool(
      { name: 'execute_command_on_hosts', arguments: { hosts: ['testhost', 'no-such-host.invalid'], command: 'echo hi', timeout: 20 } },
      undefined,
      { onprogress: () => undefined, timeout: 60_000 },
    );
    expect(hosts.structuredContent).toMatchObject({ succeeded: 1, failed: 1 });
    const wire = server.transport.lines.slice(seen).map((line) => JSON.parse(line) as { method?: string; id?: number; params?: { progress: number; total?: number; message?: string } });
    const answer = wire.findIndex((message) => message.id !== undefined && message.method === undefined);
    const progress = wire.slice(0, answer).filter((message) => message.method === 'notifications/progress').map((message) => message.params as { progress: number; total?: number; message?: string });
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(progress.map((p) => p.message).sort()).toEqual(['no-such-host.invalid: error', 'testhost: completed (exit 0)']);

    // Cancelled: seen in the audit record the server writes once the call's handler is done.
    const log = join(local, 'audit.jsonl');
    const audited = await startServer(f, { args: ['--local-root', local, '--audit-log', log] });
    try {
      const big = join(local, 'cancel.bin');
      writeFileSync(big, randomBytes(64 * 1024 * 1024));
      await audited.call('execute_command', { host: 'testhost', command: `mkdir -p ${remoteDir}/cancel` });
      const recorded = new Promise<Record<string, unknown>>((resolve) => {
        const watcher = watch(local, () => {
          const record = existsSync(log)
            ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.tool === 'upload_file')
            : undefined;
          if (!record) return;
          watcher.close();
          resolve(record);
        });
      });
      const abort = new AbortController();
      const upload = audited.client.callTool(
        { name: 'upload_file', arguments: { host: 'testhost', local_path: big, remote_path: `${remoteDir}/cancel/cancel.bin` } },
        undefined,
        { signal: abort.signal, onprogress: () => abort.abort(), timeout: 60_000 },
      );
      await expect(upload).rejects.toThrow(/abort/i);
      await expect(recorded).resolves.toMatchObject({ tool: 'upload_file', error_code: 'CANCELLED' });
      // Nothing was left: neither the file nor its temp file.
      expect(readdirSync(`${remoteDir}/cancel`)).toEqual([]);
      const after = await audited.call('execute_command', { host: 'testhost', command: 'echo still here' });
      expect(after.structuredContent).toMatchObject({ exit_code: 0, output: 'still here\n' });
    } finally {
      await audited.close();
    }
  });

  it('reuses a session only with the same credentials when a call names its own', async () => {
    await call('execute_command', { host: 'testhost', command: 'cd /var' });
    // Same key file as the alias's IdentityFile: same session, same directory.
    const same = await call('execute_command', { host: f.host, port: f.port, username: f.user, key_filename: f.keyPath, command: 'pwd' });
    expect(same.structuredContent).toMatchObject({ output: '/var\n', session: `${f.user}@${f.host}:${f.port}` });
    // A wrong password does not ride on the open session.
    const wrong = await call('execute_command', { host: f.host, port: f.port, username: f.user, password: 'not-the-password', command: 'pwd' });
    expect(text(wrong)).toMatch(/^Error AUTH_FAILED: /);
    // No credentials named: the host's session.
    const plain = await call('execute_command', { host: f.host, port: f.port, username: f.user, command: 'pwd' });
    expect(plain.structuredContent).toMatchObject({ output: '/var\n' });
  });

  it('close_session ends the commands running there; read_screen and send_keys never open a session', async () => {
    const started = await call('execute_command_async', { host: 'testhost', command: 'sleep 30' });
    const id = started.structuredContent?.command_id as string;
    const closed = await call('close_session', { host: 'testhost' });
    expect(closed.structuredContent).toMatchObject({ closed: [`${f.user}@${f.host}:${f.port}`] });
    const status = await call('get_command_status', { command_id: id });
    expect(status.structuredContent).toMatchObject({ status: 'interrupted', error: { code: 'SESSION_CLOSED' } });
    expect((await call('list_running_commands')).structuredContent).toEqual({ commands: [] });
    const screen = await call('read_screen', { host: 'testhost' });
    expect(text(screen)).toMatch(/^Error NO_SESSION: /);
    // testhost2 and envhost reached the same session: it is closed for every name.
    expect((await call('list_sessions')).structuredContent).toEqual({ sessions: [] });
  });

  it('leaks no password and writes only JSON-RPC to stdout', () => {
    expect(server.results.join('\n')).not.toContain(f.password);
    expect(server.transport.stderr.join('')).not.toContain(f.password);
    expect(server.transport.badLines).toEqual([]);
  });
});

describe.skipIf(!facts)('mcp-ssh-server policy and log file', () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  // Made in beforeAll, not at collection: a skipped or filtered suite still collects, but runs no afterAll.
  let logDir: string;
  let logFile: string;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'mcp-log-'));
    logFile = join(logDir, 'server.log');
    server = await startServer(f, {
      args: ['--read-only', '--allow-command', '^uptime$', '--allow-hosts', 'testhost', '--log-file', logFile],
      env: { MCP_SSH_DENY_COMMANDS: 'reboot' },
    });
  });
  afterAll(async () => {
    await server?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('runs only allowed commands on allowed hosts, refuses writes, and says so in the instructions', async () => {
    expect(server.client.getInstructions()).toContain('read-only');
    const allowed = await server.call('execute_command', { host: 'testhost', command: 'uptime' });
    expect(allowed.structuredContent).toMatchObject({ status: 'completed', exit_code: 0 });
    const refused = await server.call('execute_command', { host: 'testhost', command: 'id' });
    expect(text(refused)).toMatch(/^Error POLICY_DENIED: the server is read-only/);
    const denied = await server.call('execute_command', { host: 'testhost', command: 'uptime; reboot' });
    expect(text(denied)).toMatch(/^Error POLICY_DENIED: the command matches/);
    const write = await server.call('write_file', { host: 'testhost', remote_path: '/tmp/x', content: 'x' });
    expect(text(write)).toMatch(/^Error POLICY_DENIED: .*write_file/);
    const typed = await server.call('send_input_by_session', { host: 'testhost', input_text: 'q' });
    expect(text(typed)).toMatch(/^Error POLICY_DENIED: the server is read-only: send_input_by_session is refused/);
    const otherHost = await server.call('read_file', { host: 'localhost', port: f.port, remote_path: '/etc/hostname' });
    expect(text(otherHost)).toMatch(/^Error POLICY_DENIED: host "localhost"/);
    const read = await server.call('read_file', { host: 'testhost', remote_path: '/etc/hostname' });
    expect(read.isError).toBeFalsy();
  });

  it('logs to a 0600 file as well as stderr', () => {
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('session opened');
    expect(log).toContain('policy: read-only; hosts: testhost; 1 denied command pattern(s)');
    expect(log).not.toContain(f.password);
  });
});
