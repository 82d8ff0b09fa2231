// Approvals through the built bin with the real MCP SDK client: a client that declares form
// elicitation is asked (approve once, approve for the session, deny, decline, no answer); a
// client without it (or a form nobody answers) is decided by a person with the CLI over the local
// socket; per-host modes from the policy file.
// Every denied or refused action is shown not to have run.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CancelledNotificationSchema, ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { CheckedStdioTransport, cli, serverHome, startServer, text, type ToolResult } from './helpers';

/** Runs the built CLI (`pending`, `approve`, `deny`) as a person would, with the server's HOME. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const facts = sshdFacts();

interface Asking {
  readonly client: Client;
  readonly transport: CheckedStdioTransport;
  readonly home: string;
  /** Resolves when the server withdraws a form it asked (notifications/cancelled). */
  readonly cancelled: Promise<void>;
  /** The form requests the server sent, in order. */
  readonly asked: ElicitRequest['params'][];
  /** How the next requests are answered: a decision, an action without content, or never. */
  readonly answers: ('approve_once' | 'approve_for_session' | 'deny' | 'decline' | 'never')[];
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

/** The built server with `args`, driven by an SDK client that declares form elicitation. */
async function askingServer(f: SshdFacts, args: string[], home = serverHome(f)): Promise<Asking> {
  const transport = new CheckedStdioTransport(['--log-level', 'debug', ...args], { PATH: process.env.PATH ?? '', HOME: home });
  const client = new Client({ name: 'approver', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  const asked: ElicitRequest['params'][] = [];
  const answers: Asking['answers'] = [];
  client.setRequestHandler(ElicitRequestSchema, (request): Promise<ElicitResult> => {
    asked.push(request.params);
    const answer = answers.shift() ?? 'deny';
    if (answer === 'never') return new Promise(() => undefined);
    if (answer === 'decline') return Promise.resolve({ action: 'decline' });
    return Promise.resolve({ action: 'accept', content: { decision: answer } });
  });
  let markCancelled!: () => void;
  const cancelled = new Promise<void>((resolve) => (markCancelled = resolve));
  client.setNotificationHandler(CancelledNotificationSchema, () => markCancelled());
  await client.connect(transport);
  return {
    client,
    transport,
    home,
    cancelled,
    asked,
    answers,
    call: async (name, callArgs) => (await client.callTool({ name, arguments: callArgs }, undefined, { timeout: 60_000 })) as ToolResult,
    async close() {
      await client.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!facts)(`approvals through the server bin ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let dir: string;
  // Files the commands write are the test user's, in /tmp (the run's own temp dir is root's).
  const remote = (name: string): string => `/tmp/mcp-approve-${process.pid}-${name}`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-approve-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const name of ['changes.txt', 'written.txt', 'expired.txt', 'oob.txt', 'oob-written.txt', 'form-or-socket.txt']) rmSync(remote(name), { force: true });
  });

  it('approval changes: read-only runs unasked; a change is asked with host, directory, command and class; once, for the session, denied, declined', async () => {
    const auditLog = join(dir, 'audit.jsonl');
    const server = await askingServer(f, ['--approval', 'changes', '--approval-timeout', '2', '--audit-log', auditLog]);
    const file = remote('changes.txt');
    try {
      await expect(server.call('execute_command', { host: 'testhost', command: 'cd /tmp && ls / | head -1' })).resolves.toMatchObject({ structuredContent: { status: 'completed' } });
      expect(server.asked).toHaveLength(0);

      server.answers.push('approve_once');
      const once = await server.call('execute_command', { host: 'testhost', command: `echo once >> ${file}` });
      expect(once.structuredContent, text(once)).toMatchObject({ status: 'completed', exit_code: 0 });
      expect(server.asked).toHaveLength(1);
      const message = server.asked[0]?.message ?? '';
      expect(message).toContain(`execute_command (change) on ${f.user}@127.0.0.1:${f.port} in /tmp`);
      expect(message).toContain(`echo once >> ${file}`);
      expect(JSON.stringify(server.asked[0])).toContain('approve_for_session');

      // Approved once: the same command is asked again; denied, it never ran.
      server.answers.push('deny');
      const denied = await server.call('execute_command', { host: 'testhost', command: `echo once >> ${file}` });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toMatch(/^Error APPROVAL_DENIED: .*denied by the person asked: nothing was run/);
      expect(readFileSync(file, 'utf8')).toBe('once\n');

      server.answers.push('approve_for_session');
      await server.call('execute_command', { host: 'testhost', command: `echo kept >> ${file}` });
      const asks = server.asked.length;
      await server.call('execute_command', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(server.asked).toHaveLength(asks);
      expect(readFileSync(file, 'utf8')).toBe('once\nkept\nkept\n');
      // Only that exact command: another is asked.
      server.answers.push('decline');
      const declined = await server.call('execute_command', { host: 'testhost', command: `echo other >> ${file}` });
      expect(text(declined)).toMatch(/^Error APPROVAL_DENIED: .*declined/);

      // Writes, sudo and typed input are changes too; a secret is never shown in the question.
      server.answers.push('deny');
      const write = await server.call('write_file', { host: 'testhost', remote_path: remote('written.txt'), content: 'x' });
      expect(text(write)).toMatch(/^Error APPROVAL_DENIED/);
      expect(server.asked.at(-1)?.message).toMatch(new RegExp(`write 1 bytes \\(sha256 [0-9a-f]{16}\\) to ${remote('written.txt')}`));
      expect(existsSync(remote('written.txt'))).toBe(false);
      server.answers.push('approve_once', 'approve_once');
      const asked = await server.call('execute_command', { host: 'testhost', command: "read -r -s -p 'Secret: ' s; echo \"${#s}\"", timeout: 5 });
      const typed = await server.call('send_input', { command_id: asked.structuredContent?.command_id, input_text: 'hunter2-secret\\n', secret: true });
      expect(typed.structuredContent).toMatchObject({ status: 'completed', output: expect.stringContaining('14') as unknown });
      expect(server.asked.at(-1)?.message).toContain('secret input (16 characters, not shown)');
      expect(JSON.stringify(server.asked)).not.toContain('hunter2');
      // A grant for the session ends with it: the reopened session asks again.
      await server.call('close_session', { host: 'testhost' });
      server.answers.push('deny');
      const reopened = await server.call('execute_command', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(text(reopened)).toMatch(/^Error APPROVAL_DENIED/);
      expect(readFileSync(file, 'utf8')).toBe('once\nkept\nkept\n');
    } finally {
      await server.close();
    }
    // Each decision is in the audit log: what, where, how it was decided and through which client.
    const decisions = readFileSync(auditLog, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.event === 'approval');
    expect(decisions.map((record) => record.decision)).toEqual(['approved-once', 'denied', 'approved-for-session', 'approved-earlier', 'declined', 'denied', 'approved-once', 'approved-once', 'denied']);
    expect(decisions[0]).toMatchObject({ tool: 'execute_command', session: `${f.user}@127.0.0.1:${f.port}`, action: `echo once >> ${file}`, class: 'change', mode: 'changes', by: 'elicitation: approver 1.0.0' });
    expect(JSON.stringify(decisions)).not.toContain('hunter2');
  });

  it('a request nobody answers expires as denied, and the command never runs', async () => {
    const server = await askingServer(f, ['--approval', 'all', '--approval-timeout', '1']);
    const file = remote('expired.txt');
    try {
      server.answers.push('never');
      const started = Date.now();
      const expired = await server.call('execute_command', { host: 'testhost', command: `touch ${file}` });
      expect(text(expired)).toMatch(/^Error APPROVAL_DENIED: .*no answer within 1 s: the request expired/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(existsSync(file)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('a client without elicitation: the command waits as awaiting_approval and a person decides it with the CLI over the local socket', async () => {
    const auditLog = join(dir, 'oob-audit.jsonl');
    const server = await startServer(f, { args: ['--approval', 'changes', '--approval-timeout', '6', '--audit-log', auditLog] });
    const file = remote('oob.txt');
    const cliEnv = { HOME: server.home };
    try {
      // Read-only runs unasked; the socket's path is printed at start, in a private directory.
      await expect(server.call('execute_command', { host: 'testhost', command: 'uptime' })).resolves.toMatchObject({ structuredContent: { status: 'completed' } });
      const socketPath = (await server.transport.stderrMatch(/\(socket (\/[^)]+\.sock)\)/))[1] as string;
      expect(socketPath.startsWith(join(server.home, '.local', 'state', 'mcp-ssh-server'))).toBe(true);
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      expect(statSync(join(socketPath, '..')).mode & 0o777).toBe(0o700);
      expect(await runCli(['pending'], cliEnv)).toMatchObject({ code: 0, stdout: 'nothing awaits approval\n' });

      // A synchronous call waits while the request is pending; approved from the CLI, it runs and answers.
      const from = server.transport.stderrLength;
      const waiting = server.call('execute_command', { host: 'testhost', command: `echo once >> ${file}`, timeout: 20 });
      const id = (await server.transport.stderrMatch(/approval needed ([0-9a-f]{8}): execute_command \(change\)/, from))[1] as string;
      const pending = await runCli(['pending', '--json'], cliEnv);
      const listed = JSON.parse(pending.stdout) as Record<string, unknown>[];
      expect(listed).toEqual([expect.objectContaining({ tool: 'execute_command', class: 'change', session: `${f.user}@127.0.0.1:${f.port}`, action: `echo once >> ${file}`, askedClient: false })]);
      expect(String(listed[0]?.commandId).startsWith(id)).toBe(true);
      expect(existsSync(file)).toBe(false);
      const approved = await runCli(['approve', id], cliEnv);
      expect(approved, approved.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^approved once: [0-9a-f-]{36} {2}execute_command \(change\) on /) as unknown });
      const ran = await waiting;
      expect(ran.structuredContent, text(ran)).toMatchObject({ status: 'completed', exit_code: 0, command_id: listed[0]?.commandId });
      expect(readFileSync(file, 'utf8')).toBe('once\n');
      // Decided: gone from the list, and deciding it again is an error.
      expect(await runCli(['approve', id], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringContaining(`no pending request "${id}"`) as unknown });

      // Asynchronous: the agent gets the command_id at once, state awaiting_approval, and is told what happens.
      const queued = await server.call('execute_command_async', { host: 'testhost', command: `echo denied >> ${file}` });
      expect(queued.structuredContent).toMatchObject({ status: 'awaiting_approval', exit_code: null, ended_at: null });
      expect(text(queued)).toMatch(/Awaiting a person's approval: the command has not run.*mcp-ssh-server pending.*APPROVAL_DENIED.*get_command_status/s);
      const queuedId = queued.structuredContent?.command_id as string;
      await expect(server.call('list_running_commands')).resolves.toMatchObject({ structuredContent: { commands: [expect.objectContaining({ command_id: queuedId, status: 'awaiting_approval' })] } });
      const typed = await server.call('send_input', { command_id: queuedId, input_text: 'y\n' });
      expect(text(typed)).toMatch(/JOB_NOT_RUNNING.*awaits approval/);
      expect(await runCli(['deny', queuedId.slice(0, 6)], cliEnv)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^denied: /) as unknown });
      const refused = await server.call('get_command_status', { command_id: queuedId });
      expect(refused.structuredContent).toMatchObject({ status: 'failed', error: { code: 'APPROVAL_DENIED', message: expect.stringMatching(/denied by the person asked \(socket: .+\): nothing was run/) as unknown } });

      // Approved for the session: the same command runs again without asking.
      const first = await server.call('execute_command_async', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(await runCli(['approve', '--for-session', first.structuredContent?.command_id as string], cliEnv)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^approved for the session: /) as unknown });
      await server.call('get_command_status', { command_id: first.structuredContent?.command_id });
      const again = await server.call('execute_command', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(again.structuredContent, text(again)).toMatchObject({ status: 'completed', exit_code: 0 });
      // Started in the background, it starts at once too: never reported as waiting for a person.
      const third = await server.call('execute_command_async', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(third.structuredContent?.status).not.toBe('awaiting_approval');
      expect(text(third)).not.toContain("Awaiting a person's approval");
      await server.call('execute_command', { host: 'testhost', command: 'true' });
      // Approved in this directory only: after a cd, the same command asks again.
      await server.call('execute_command', { host: 'testhost', command: 'cd /' });
      const moved = await server.call('execute_command_async', { host: 'testhost', command: `echo kept >> ${file}` });
      expect(moved.structuredContent?.status).toBe('awaiting_approval');
      await server.call('interrupt_command_by_id', { command_id: moved.structuredContent?.command_id });

      // A secret the server knows never reaches the person's list, the log or the audit log.
      const secret = 'oob-Secret-4711';
      const secretive = await server.call('execute_command_async', { host: 'testhost', command: `echo ${secret} >> ${file}`, sudo_password: secret });
      const shown = await runCli(['pending', '--json'], cliEnv);
      expect(shown.stdout).toContain(`>> ${file}`);
      expect(shown.stdout).not.toContain(secret);
      expect(await runCli(['deny', secretive.structuredContent?.command_id as string], cliEnv)).toMatchObject({ code: 0, stdout: expect.not.stringContaining(secret) as unknown });
      expect(server.transport.stderr.join('')).not.toContain(secret);

      // Interrupted while it waits: withdrawn, never run, no longer pending.
      const dropped = await server.call('execute_command_async', { host: 'testhost', command: `echo dropped >> ${file}` });
      const interrupted = await server.call('interrupt_command_by_id', { command_id: dropped.structuredContent?.command_id });
      expect(interrupted.structuredContent).toMatchObject({ status: 'interrupted', error: { code: 'APPROVAL_WITHDRAWN' } });
      expect(await runCli(['pending'], cliEnv)).toMatchObject({ stdout: 'nothing awaits approval\n' });

      // A write is not a job: it waits (half the 6 s timeout here, 25 s at most), then says
      // APPROVAL_PENDING; approved meanwhile, the same call made again goes through once.
      const target = remote('oob-written.txt');
      const writeFrom = server.transport.stderrLength;
      const write = await server.call('write_file', { host: 'testhost', remote_path: target, content: 'approved later' });
      expect(text(write)).toMatch(/^Error APPROVAL_PENDING: write_file on .* awaits a person's approval .*call write_file again with the same arguments/);
      const writeId = (await server.transport.stderrMatch(/approval needed ([0-9a-f]{8}): write_file/, writeFrom))[1] as string;
      expect(existsSync(target)).toBe(false);
      expect(await runCli(['approve', writeId], cliEnv)).toMatchObject({ code: 0 });
      await expect(server.call('write_file', { host: 'testhost', remote_path: target, content: 'approved later' })).resolves.toMatchObject({ structuredContent: { bytes_written: 14 } });
      expect(readFileSync(target, 'utf8')).toBe('approved later');
      // The grant was for those bytes, once: other content of the same length asks again.
      const swapped = await server.call('write_file', { host: 'testhost', remote_path: target, content: 'APPROVED LATER' });
      expect(text(swapped)).toMatch(/^Error APPROVAL_PENDING/);
      expect(readFileSync(target, 'utf8')).toBe('approved later');

      // Nobody answers: the request expires as denied, and the command never runs.
      const expireFrom = server.transport.stderrLength;
      const late = await server.call('execute_command_async', { host: 'testhost', command: `echo late >> ${file}` });
      const lateId = late.structuredContent?.command_id as string;
      await server.transport.stderrMatch(new RegExp(`approval ${lateId.slice(0, 8)}: expired`), expireFrom);
      const expired = await server.call('get_command_status', { command_id: lateId });
      expect(expired.structuredContent).toMatchObject({ status: 'failed', error: { code: 'APPROVAL_DENIED', message: expect.stringContaining('no answer within 6 s: the request expired') as unknown } });
      expect(readFileSync(file, 'utf8')).toBe('once\nkept\nkept\nkept\n');
      await server.close();
      // The socket goes with the server; the CLI then says no server runs.
      expect(existsSync(socketPath)).toBe(false);
      expect(await runCli(['pending'], cliEnv)).toMatchObject({ code: 1, stderr: expect.stringContaining('no running mcp-ssh-server') as unknown });
    } finally {
      await server.close();
    }
    const decisions = readFileSync(auditLog, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.event === 'approval');
    expect(decisions.map((record) => record.decision)).toEqual(['approved-once', 'denied', 'approved-for-session', 'approved-earlier', 'approved-earlier', 'withdrawn', 'denied', 'withdrawn', 'approved-once', 'approved-earlier', 'expired', 'expired']);
    expect(decisions[0]).toMatchObject({ tool: 'execute_command', by: `socket: ${userInfo().username}` });
    expect(readFileSync(auditLog, 'utf8')).not.toContain('oob-Secret-4711');
  });

  it('a client whose form is never answered: the person decides out of band instead, and the form is withdrawn', async () => {
    const server = await askingServer(f, ['--approval', 'all']);
    const file = remote('form-or-socket.txt');
    try {
      server.answers.push('never');
      const transport = server.transport;
      const from = transport.stderrLength;
      const waiting = server.call('execute_command', { host: 'testhost', command: `echo via-socket >> ${file}`, timeout: 20 });
      const id = (await transport.stderrMatch(/approval needed ([0-9a-f]{8})/, from))[1] as string;
      const listed = JSON.parse((await runCli(['pending', '--json'], { HOME: server.home })).stdout) as Record<string, unknown>[];
      expect(listed).toEqual([expect.objectContaining({ askedClient: true })]);
      expect(await runCli(['approve', id], { HOME: server.home })).toMatchObject({ code: 0 });
      await expect(waiting).resolves.toMatchObject({ structuredContent: { status: 'completed', exit_code: 0 } });
      expect(readFileSync(file, 'utf8')).toBe('via-socket\n');
      expect(server.asked).toHaveLength(1);
      await server.cancelled;
    } finally {
      await server.close();
    }
  });

  describe('--confirm-new-hosts', () => {
    /** A home whose ssh_config reaches the test sshd as `newhost` with accept-new, and whose known_hosts is empty. */
    const newHostHome = (): string => {
      const home = serverHome(f, `Host newhost\n  HostName 127.0.0.1\n  Port ${f.port}\n  User ${f.user}\n  IdentityFile ${f.keyPath}\n  StrictHostKeyChecking accept-new\n\n`);
      writeFileSync(join(home, '.ssh', 'known_hosts'), '');
      return home;
    };
    /** The SHA256 fingerprints of the keys in a known_hosts file, as ssh prints them. */
    const fingerprints = (file: string): string[] =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => `SHA256:${createHash('sha256').update(Buffer.from(line.split(' ')[2] ?? '', 'base64')).digest('base64').replace(/=+$/, '')}`);

    it('shows a new host key to the person through the form; recorded only once approved', async () => {
      const home = newHostHome();
      const knownHosts = join(home, '.ssh', 'known_hosts');
      const server = await askingServer(f, ['--confirm-new-hosts'], home);
      try {
        server.answers.push('deny');
        const denied = await server.call('execute_command', { host: 'newhost', command: 'echo hi' });
        expect(text(denied)).toMatch(/^Error APPROVAL_DENIED: trust_new_host_key on \[127\.0\.0\.1\]:\d+ was denied/);
        const question = server.asked[0]?.message ?? '';
        expect(question).toMatch(/trust the [\w-]+ host key SHA256:[A-Za-z0-9+/]{43} offered by \[127\.0\.0\.1\]:\d+, never seen before/);
        expect(readFileSync(knownHosts, 'utf8')).toBe('');

        server.answers.push('approve_once');
        const ran = await server.call('execute_command', { host: 'newhost', command: 'echo hi' });
        expect(ran.structuredContent, text(ran)).toMatchObject({ status: 'completed', output: 'hi\n' });
        const offered = /(SHA256:[A-Za-z0-9+/]{43})/.exec(server.asked[1]?.message ?? '')?.[1];
        expect(fingerprints(knownHosts)).toEqual([offered]);
        expect(text(ran)).toContain(`Added host key ${offered} for [127.0.0.1]:${f.port} to ${knownHosts}`);
        // Known now: a new session asks nothing.
        await server.call('close_session', { host: 'newhost' });
        await expect(server.call('execute_command', { host: 'newhost', command: 'true' })).resolves.toMatchObject({ structuredContent: { status: 'completed' } });
        expect(server.asked).toHaveLength(2);
      } finally {
        await server.close();
      }
    });

    it('without elicitation: pending for the CLI; approved, the same call connects', async () => {
      const home = newHostHome();
      const knownHosts = join(home, '.ssh', 'known_hosts');
      const server = await startServer(f, { home, args: ['--confirm-new-hosts', '--approval-timeout', '4'] });
      try {
        const first = await server.call('execute_command', { host: 'newhost', command: 'echo hi' });
        expect(text(first)).toMatch(/^Error APPROVAL_PENDING: trust_new_host_key on \[127\.0\.0\.1\]:\d+ awaits a person's approval/);
        const [request] = JSON.parse((await runCli(['pending', '--json'], { HOME: home })).stdout) as { id: string; action: string }[];
        expect(request?.action).toMatch(/^trust the [\w-]+ host key SHA256:/);
        expect(readFileSync(knownHosts, 'utf8')).toBe('');
        expect(await runCli(['approve', request?.id ?? ''], { HOME: home })).toMatchObject({ code: 0 });
        const again = await server.call('execute_command', { host: 'newhost', command: 'echo hi' });
        expect(again.structuredContent, text(again)).toMatchObject({ status: 'completed', output: 'hi\n' });
        expect(fingerprints(knownHosts)).toHaveLength(1);
        expect(request?.action).toContain(fingerprints(knownHosts)[0]);
      } finally {
        await server.close();
      }
    });
  });

  it('takes per-host modes from the policy file: all on the matching host, off elsewhere', async () => {
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ approval: 'off', hosts: { 'test*': { approval: 'all' } } }));
    const server = await askingServer(f, ['--policy', policy]);
    try {
      server.answers.push('deny');
      const asked = await server.call('execute_command', { host: 'testhost', command: 'uptime' });
      expect(text(asked)).toMatch(/^Error APPROVAL_DENIED/);
      expect(server.asked[0]?.message).toContain('execute_command (read-only)');
      // Another host the pattern does not match: not asked.
      const other = await server.call('execute_command', { host: f.loopbackHosts[2], port: f.port, username: f.user, key_filename: f.keyPath, command: 'uptime' });
      expect(other.structuredContent, text(other)).toMatchObject({ status: 'completed' });
      expect(server.asked).toHaveLength(1);
      // The matching host's session reached by its address is still that host: asked.
      server.answers.push('deny');
      const same = await server.call('execute_command', { host: '127.0.0.1', port: f.port, username: f.user, key_filename: f.keyPath, command: 'uptime' });
      expect(text(same)).toMatch(/^Error APPROVAL_DENIED/);
      expect(server.asked).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
