// End to end: the real SDK client spawns the built bin over stdio and drives every command tool
// against the loopback sshd. The server gets its own HOME (ssh_config alias, known_hosts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { startServer, text, type E2eServer, type ToolResult } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`mcp-ssh-server tools on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  let client: E2eServer['client'];
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);

  beforeAll(async () => {
    server = await startServer(f, { env: { OVRD_testhost_SUDO_PASS: f.password } });
    client = server.client;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists the command and session tools with annotations', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const name of [
      'execute_command',
      'execute_command_async',
      'get_command_status',
      'interrupt_command_by_id',
      'send_input',
      'send_input_by_session',
      'list_running_commands',
      'list_command_history',
      'list_sessions',
      'close_session',
      'close_all_sessions',
      'read_file',
      'write_file',
      'send_keys',
      'read_screen',
    ]) {
      expect(names).toContain(name);
    }
    const execute = tools.find((tool) => tool.name === 'execute_command');
    expect(execute?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(Object.keys(execute?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['host', 'command', 'username', 'password', 'key_filename', 'port', 'enable_password', 'enable_command', 'sudo_password', 'timeout']),
    );
  });

  it('runs a command on an ssh_config alias: reference layout, structured result, state that persists', async () => {
    const first = await call('execute_command', { host: 'testhost', command: 'echo hello; cd /tmp' });
    expect(text(first)).toBe('Exit Status: 0\n\nSTDOUT:\nhello\n');
    expect(first.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, output: 'hello\n', session: `${f.user}@${f.host}:${f.port}` });
    const second = await call('execute_command', { host: 'testhost', command: 'pwd; (exit 3)' });
    expect(second.structuredContent).toMatchObject({ exit_code: 3, output: '/tmp\n' });
  });

  it('connects with explicit parameters too (same user@host:port: same session)', async () => {
    const result = await call('execute_command', { host: f.host, port: f.port, username: f.user, key_filename: f.keyPath, command: 'whoami; pwd' });
    expect(result.structuredContent).toMatchObject({ exit_code: 0, output: `${f.user}\n/tmp\n` });
  });

  it('returns a command_id at the timeout; the command completes in the background', async () => {
    const started = await call('execute_command', { host: 'testhost', command: 'sleep 1.5; echo late', timeout: 0.3 });
    expect(started.structuredContent).toMatchObject({ status: 'running', exit_code: null });
    const id = started.structuredContent?.command_id as string;
    expect(text(started)).toContain(`Command ID: ${id}`);
    const running = await call('list_running_commands');
    expect((running.structuredContent?.commands as { command_id: string }[]).map((c) => c.command_id)).toContain(id);
    let status: ToolResult | undefined;
    for (let i = 0; i < 50; i++) {
      status = await call('get_command_status', { command_id: id });
      if (status.structuredContent?.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status?.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, output: 'late\n', next_offset: 5 });
    const tail = await call('get_command_status', { command_id: id, since_offset: 5 });
    expect(tail.structuredContent).toMatchObject({ output: '', next_offset: 5 });
  });

  it('caps a big output to head + tail for the model, and pages the middle by offset', async () => {
    const expected = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');
    const result = await call('execute_command', { host: 'testhost', command: 'seq 1 200000' });
    const output = result.structuredContent?.output as string;
    expect(output.startsWith(expected.slice(0, 10_000))).toBe(true);
    expect(output.endsWith(expected.slice(-10_000))).toBe(true);
    expect(output).toContain(`characters omitted: page them with get_command_status since_offset=10000`);
    expect(result.structuredContent).toMatchObject({ exit_code: 0, next_offset: expected.length, omitted_chars: expected.length - 20_000 });
    const page = await call('get_command_status', { command_id: result.structuredContent?.command_id, since_offset: 10_000 });
    expect(page.structuredContent).toMatchObject({ output: expected.slice(10_000, 30_000), output_offset: 10_000, next_offset: 30_000 });
    expect(text(page)).toContain('[more output: get_command_status since_offset=30000]');
  });

  it('pipe_output: exact bytes through a pipe, the same session state, paging as usual', async () => {
    const exact = await call('execute_command', { host: 'testhost', command: "cd /usr; printf 'a\\r\\nb\\n'; [ -t 1 ] || echo piped >&2", pipe_output: true });
    expect(exact.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, output: 'a\r\nb\npiped\n' });
    await expect(call('execute_command', { host: 'testhost', command: 'pwd; cd' })).resolves.toMatchObject({ structuredContent: { output: '/usr\n' } });
    const expected = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');
    const big = await call('execute_command', { host: 'testhost', command: 'seq 1 200000', pipe_output: true });
    expect(big.structuredContent).toMatchObject({ exit_code: 0, next_offset: expected.length, omitted_chars: expected.length - 20_000 });
    const page = await call('get_command_status', { command_id: big.structuredContent?.command_id, since_offset: 10_000 });
    expect(page.structuredContent).toMatchObject({ output: expected.slice(10_000, 30_000) });
    const started = await call('execute_command_async', { host: 'testhost', command: 'echo late; exit_code_is() { return 5; }; exit_code_is', pipe_output: true });
    const id = started.structuredContent?.command_id as string;
    for (let i = 0; i < 100 && (await call('get_command_status', { command_id: id })).structuredContent?.status === 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(call('get_command_status', { command_id: id })).resolves.toMatchObject({ structuredContent: { status: 'completed', exit_code: 5, output: 'late\n' } });
  });

  it('interrupts a command, then the next command runs at once', async () => {
    const started = await call('execute_command_async', { host: 'testhost', command: 'sleep 30' });
    const id = started.structuredContent?.command_id as string;
    const interrupted = await call('interrupt_command_by_id', { command_id: id });
    expect(interrupted.structuredContent).toMatchObject({ status: 'interrupted', exit_code: 130 });
    const next = await call('execute_command', { host: 'testhost', command: 'echo next', timeout: 5 });
    expect(next.structuredContent).toMatchObject({ status: 'completed', output: 'next\n' });
  });

  it('answers a prompt with send_input', async () => {
    const started = await call('execute_command', { host: 'testhost', command: "read -p 'Name: ' n; echo \"hi $n\"", timeout: 10 });
    expect(started.structuredContent).toMatchObject({ status: 'awaiting_input', awaiting_input: 'Name:' });
    expect(text(started)).toContain('send_input');
    const answered = await call('send_input', { command_id: started.structuredContent?.command_id, input_text: 'bob\\n' });
    expect(answered.structuredContent).toMatchObject({ status: 'completed', output: 'hi bob\n' });
  });

  it('writes files atomically with make_dirs and permissions, appends, and reads them back', async () => {
    const path = `~/mcp-tools-${process.pid}/conf/app.conf`;
    const written = await call('write_file', { host: 'testhost', remote_path: path, content: 'a=1\n', make_dirs: true, permissions: '600' });
    expect(written.structuredContent).toMatchObject({ bytes_written: 4, atomic: true, created: true, mode: '0600' });
    expect(text(written)).toMatch(/^Wrote 4 bytes to \/home\/\S+\/app.conf atomically, mode 0600\.$/);
    await call('write_file', { host: 'testhost', remote_path: path, content: 'b=2\n', append: true });
    const read = await call('read_file', { host: 'testhost', remote_path: path });
    expect(read.structuredContent).toMatchObject({ content: 'a=1\nb=2\n', truncated: false, binary: false });
    expect(text(read)).toBe('a=1\nb=2\n');
    // An integer is a mode value, as in the reference: 420 is 0644.
    const numeric = await call('write_file', { host: 'testhost', remote_path: path, content: 'c=3\n', permissions: 420 });
    expect(numeric.structuredContent).toMatchObject({ mode: '0644' });
    const truncated = await call('read_file', { host: 'testhost', remote_path: path, max_bytes: 2 });
    expect(text(truncated)).toBe('c=\n[truncated: read 2 of 4 bytes; max_bytes is at most 2097152]');
    await call('execute_command', { host: 'testhost', command: `rm -r ~/mcp-tools-${process.pid}` });
  });

  it('reads a root-only file only with use_sudo; a missing file is a coded error', async () => {
    const denied = await call('read_file', { host: 'testhost', remote_path: '/etc/shadow' });
    expect(text(denied)).toMatch(/^Error PERMISSION_DENIED: /);
    const viaSudo = await call('read_file', { host: 'testhost', remote_path: '/etc/shadow', use_sudo: true, sudo_password: f.password, max_bytes: 5 });
    expect(viaSudo.structuredContent).toMatchObject({ content: 'root:', via_sudo: true, truncated: true });
    const missing = await call('read_file', { host: 'testhost', remote_path: '/no/such/file' });
    expect(text(missing)).toMatch(/^Error NOT_FOUND: /);
  });

  it('drives a full-screen program: read_screen shows it, send_keys quits it', async () => {
    const started = await call('execute_command', { host: 'testhost', command: 'less /etc/passwd', timeout: 10 });
    expect(started.structuredContent).toMatchObject({ status: 'awaiting_input', full_screen: true });
    expect(text(started)).toContain('read_screen');
    const screen = await call('read_screen', { host: 'testhost', max_lines: 50 });
    expect(screen.structuredContent).toMatchObject({ full_screen: true, width: 200 });
    expect((screen.structuredContent?.lines as string[]).some((line) => line.startsWith('root:x:0:0'))).toBe(true);
    const after = await call('send_keys', { host: 'testhost', keys: 'q' });
    expect(after.structuredContent).toMatchObject({ full_screen: false });
    const status = await call('get_command_status', { command_id: started.structuredContent?.command_id });
    expect(status.structuredContent).toMatchObject({ status: 'completed', exit_code: 0 });
    const nothing = await call('send_keys', { host: 'testhost', keys: 'q' });
    expect(text(nothing)).toMatch(/^Error NO_SESSION: nothing is running/);
  });

  it('runs sudo with sudo_password, and with OVRD_<alias>_SUDO_PASS; the password appears in no result', async () => {
    const explicit = await call('execute_command', { host: f.host, port: f.port, username: f.user, key_filename: f.keyPath, command: 'sudo -k; sudo whoami', sudo_password: f.password });
    expect(explicit.structuredContent).toMatchObject({ exit_code: 0, output: 'root\n' });
    await call('close_session', { host: 'testhost' });
    const viaEnv = await call('execute_command', { host: 'testhost', command: 'sudo -k; sudo whoami' });
    expect(viaEnv.structuredContent).toMatchObject({ exit_code: 0, output: 'root\n' });
    const echoed = await call('execute_command', { host: 'testhost', command: `echo ${f.password}` });
    expect(echoed.structuredContent).toMatchObject({ output: '********\n' });
  });

  it('lists history and sessions, closes sessions', async () => {
    const history = await call('list_command_history', { limit: 3 });
    expect((history.structuredContent?.commands as unknown[]).length).toBe(3);
    const sessions = await call('list_sessions');
    expect(sessions.structuredContent).toMatchObject({ sessions: [{ session: `${f.user}@${f.host}:${f.port}`, connected: true }] });
    await expect(call('close_session', { host: 'nope' })).resolves.toMatchObject({ structuredContent: { closed: [] } });
    const closed = await call('close_all_sessions');
    expect(closed.structuredContent).toMatchObject({ closed: [`${f.user}@${f.host}:${f.port}`] });
    expect((await call('list_sessions')).structuredContent).toEqual({ sessions: [] });
  });

  it('reports errors as tool results with a code: unknown host key, unknown job', async () => {
    const unknown = await call('execute_command', { host: 'localhost', port: f.port, username: f.user, key_filename: f.keyPath, command: 'true' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^Error HOST_KEY_UNKNOWN: /);
    const job = await call('get_command_status', { command_id: 'nope' });
    expect(job.isError).toBe(true);
    expect(text(job)).toMatch(/^Error JOB_NOT_FOUND: /);
  });

  it('never shows the password anywhere: results, stderr log', () => {
    expect(server.results.join('\n')).not.toContain(f.password);
    expect(server.transport.stderr.join('')).not.toContain(f.password);
  });

  it('wrote nothing but JSON-RPC messages to stdout', () => {
    expect(server.transport.lines.length).toBeGreaterThan(20);
    expect(server.transport.badLines).toEqual([]);
    expect(server.transport.unterminated).toBe('');
  });
});
