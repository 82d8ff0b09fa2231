// The server killed with SIGKILL (no handler runs) in the middle of an upload_file, a write_file
// and a running job, then started again at once with the same HOME, audit log and approval
// socket directory: no partial target file, nothing left running on the host, the restarted
// server works at its first call (no stale lock, socket or state file in its way), and it removes
// the temp files the killed server's writes left (adopted from the dead server's journal).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason } from 'test-utils';
import { appears, cli, serverHome, startServer, text, type E2eServer } from './helpers';
import { recordFigure } from './reliability';

const f = sshdFacts();

describe.skipIf(!f)(`kill -9 of the server ${sshdSkipReason()}`, () => {
  let home: string;
  let shared: string;
  let localRoot: string;
  let runtime: string;
  let auditLog: string;
  let server: E2eServer | undefined;

  const start = async (): Promise<E2eServer> => {
    // --confirm-new-hosts makes the server listen on its approval socket (in $XDG_RUNTIME_DIR).
    server = await startServer(f, {
      home,
      env: { XDG_RUNTIME_DIR: runtime },
      args: ['--local-root', localRoot, '--audit-log', auditLog, '--confirm-new-hosts'],
    });
    return server;
  };
  /** SIGKILL, and the pipe's end: the process is gone. */
  const kill = async (victim: E2eServer): Promise<void> => {
    // Chained: the SDK client's own handler fails the requests in flight.
    const closed = new Promise<void>((resolve) => {
      const previous = victim.transport.onclose;
      victim.transport.onclose = () => {
        previous?.();
        resolve();
      };
    });
    process.kill(victim.transport.pid as number, 'SIGKILL');
    await closed;
    server = undefined;
  };
  /** The restarted server's first call, timed: it must simply work. */
  const restartAndCall = async (name: string, args: Record<string, unknown>, figure: string) => {
    const started = performance.now();
    const fresh = await start();
    const result = await fresh.call(name, args);
    const ms = performance.now() - started;
    recordFigure('crash', `${figure}: restart + first call`, Math.round(ms), 'ms');
    expect(result.isError, text(result)).toBeFalsy();
    return result;
  };
  /** The servers' journals of temp files on hosts (in the state directory under HOME). */
  const journals = (): string[] => readdirSync(join(home, '.local', 'state', 'mcp-ssh-server')).filter((name) => name.startsWith('temp-files-'));
  /** The journal file name of the process with this pid (machine, boot and pid-namespace hashes, pid, a random part). */
  const journalOf = (pid: number | undefined): unknown => expect.stringMatching(new RegExp(`^temp-files-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-${pid}-[0-9a-f]{8}\\.jsonl$`));
  const sockets = (): string[] => readdirSync(join(runtime, 'mcp-ssh-server')).filter((name) => name.endsWith('.sock'));
  const verifyAudit = (): Promise<{ code: number; stdout: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [cli, 'audit', 'verify', auditLog], { timeout: 20_000 }, (error, stdout) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }),
      );
    });

  beforeAll(() => {
    home = serverHome(f as NonNullable<typeof f>);
    shared = mkdtempSync(join(tmpdir(), 'crash-'));
    chmodSync(shared, 0o777);
    localRoot = mkdtempSync(join(tmpdir(), 'crash-local-'));
    runtime = mkdtempSync(join(tmpdir(), 'crash-run-'));
    auditLog = join(runtime, 'audit.jsonl');
  });
  afterAll(async () => {
    await server?.close();
    for (const dir of [home, shared, localRoot, runtime]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('during a 40 MB upload_file: the target keeps its old content, no stale socket, the restarted server uploads at once', async () => {
    const path = `${shared}/upload.bin`;
    writeFileSync(path, 'old upload\n');
    chmodSync(path, 0o666);
    writeFileSync(join(localRoot, 'big.bin'), 'u'.repeat(40 * 1024 * 1024));
    const first = await start();
    expect(sockets()).toEqual([`approvals-${first.transport.pid}.sock`]);
    const tempAppears = appears(shared, (file) => file.startsWith('.upload.bin.') && file.endsWith('.tmp'));
    const call = first.call('upload_file', { host: 'testhost', local_path: 'big.bin', remote_path: path }).catch((error: unknown) => error);
    await tempAppears;
    await kill(first);
    await call; // the client's request fails with the closed pipe
    // Sizes first: a 40 MB mismatch must not be printed.
    expect(statSync(path).size).toBe('old upload\n'.length);
    expect(readFileSync(path, 'utf8')).toBe('old upload\n');
    // The temp file the killed server was writing is still there, private (0600), and on
    // record in the killed server's journal of temp files.
    const temps = readdirSync(shared).filter((file) => file.startsWith('.upload.bin.'));
    expect(temps).toHaveLength(1);
    expect(statSync(join(shared, temps[0] as string)).mode & 0o777).toBe(0o600);
    expect(journals()).toEqual([journalOf(first.transport.pid)]);
    // The killed server's socket is still there until the next server starts.
    expect(sockets()).toHaveLength(1);
    await restartAndCall('upload_file', { host: 'testhost', local_path: 'big.bin', remote_path: path }, 'upload_file');
    expect(statSync(path).size).toBe(40 * 1024 * 1024);
    // Only the new server's socket: the dead one's was removed at start.
    expect(sockets()).toEqual([`approvals-${server?.transport.pid}.sock`]);
    // The new server adopted the dead one's journal, and its connection removed the temp file.
    expect(readdirSync(shared).filter((file) => file.startsWith('.upload.bin.'))).toEqual([]);
    expect(journals()).toEqual([journalOf(server?.transport.pid)]);
  });

  it('during a write_file: the target is the old or the new content, never a part', async () => {
    const path = `${shared}/write.txt`;
    writeFileSync(path, 'old write\n');
    chmodSync(path, 0o666);
    const content = `${'w'.repeat(2 * 1024 * 1024 - 20)}\n`;
    const victim = server ?? (await start());
    const tempAppears = appears(shared, (file) => file.startsWith('.write.txt.') && file.endsWith('.tmp'));
    const call = victim.call('write_file', { host: 'testhost', remote_path: path, content }).catch((error: unknown) => error);
    await tempAppears;
    await kill(victim);
    await call;
    const after = readFileSync(path, 'utf8');
    expect(after === 'old write\n' || after === content, `the target has ${after.length} bytes: a part`).toBe(true);
    recordFigure('crash', 'write_file killed once its temp file appeared: target is', after === content ? 'new' : 'old');
    const result = await restartAndCall('write_file', { host: 'testhost', remote_path: path, content: 'after restart\n' }, 'write_file');
    expect(result.structuredContent).toMatchObject({ bytes_written: 14 });
    expect(readFileSync(path, 'utf8')).toBe('after restart\n');
    // The killed write's temp file was removed by the restarted server's first connection.
    expect(readdirSync(shared).filter((file) => file.startsWith('.write.txt.'))).toEqual([]);
  });

  it('during a running job: its process ends on the host with the connection, the restarted server runs a command at once, the audit chain verifies', async () => {
    const victim = server ?? (await start());
    const started = appears(shared, 'job-started');
    // A unique duration, to find this sleep among the host's processes.
    const job = await victim.call('execute_command', { host: 'testhost', command: `touch ${shared}/job-started; sleep 297.5`, timeout: 1 });
    expect(job.structuredContent?.status, text(job)).toBe('running');
    await started;
    const sleeping = (): Promise<number> =>
      new Promise((resolve) => {
        execFile('pgrep', ['-u', f?.user as string, '-f', '^sleep 297\\.5$'], (_error, stdout) => resolve(stdout.split('\n').filter(Boolean).length));
      });
    expect(await sleeping()).toBeGreaterThan(0);
    await kill(victim);
    // The dead server's TCP connection closes with it; sshd hangs up the shell and its sleep.
    // Bounded: a leftover process fails here, not later.
    const deadline = Date.now() + 10_000;
    while ((await sleeping()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sleeping()).toBe(0);
    const result = await restartAndCall('execute_command', { host: 'testhost', command: 'echo alive' }, 'execute_command');
    expect(result.structuredContent).toMatchObject({ exit_code: 0 });
    expect(text(result)).toContain('alive');
    // Nothing of the killed server's job is claimed by the new one.
    const status = await (server as E2eServer).call('get_command_status', { command_id: job.structuredContent?.command_id as string });
    expect(status.isError).toBe(true);
    await (server as E2eServer).close();
    server = undefined;
    // Three servers killed mid-record, one closed: the audit log's chain is whole.
    expect(await verifyAudit()).toMatchObject({ code: 0 });
  });
});
