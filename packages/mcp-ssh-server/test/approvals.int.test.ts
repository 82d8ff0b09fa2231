// Approvals through the built bin with the real MCP SDK client: a client that declares form
// elicitation is asked (approve once, approve for the session, deny, decline, no answer); a
// client without it is refused with APPROVAL_UNAVAILABLE; per-host modes from the policy file.
// Every denied or refused action is shown not to have run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { CheckedStdioTransport, serverHome, startServer, text, type ToolResult } from './helpers';

const facts = sshdFacts();

interface Asking {
  readonly client: Client;
  /** The form requests the server sent, in order. */
  readonly asked: ElicitRequest['params'][];
  /** How the next requests are answered: a decision, an action without content, or never. */
  readonly answers: ('approve_once' | 'approve_for_session' | 'deny' | 'decline' | 'never')[];
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

/** The built server with `args`, driven by an SDK client that declares form elicitation. */
async function askingServer(f: SshdFacts, args: string[]): Promise<Asking> {
  const home = serverHome(f);
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
  await client.connect(transport);
  return {
    client,
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
    for (const name of ['changes.txt', 'written.txt', 'expired.txt', 'unavailable.txt']) rmSync(remote(name), { force: true });
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
      expect(server.asked.at(-1)?.message).toContain(`write 1 bytes to ${remote('written.txt')}`);
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

  it('a client without elicitation is refused with APPROVAL_UNAVAILABLE for a change; read-only still runs', async () => {
    const server = await startServer(f, { args: ['--approval', 'changes'] });
    const file = remote('unavailable.txt');
    try {
      const refused = await server.call('execute_command', { host: 'testhost', command: `touch ${file}` });
      expect(text(refused)).toMatch(/^Error APPROVAL_UNAVAILABLE: .*no MCP elicitation.*nothing was run/);
      expect(existsSync(file)).toBe(false);
      await expect(server.call('execute_command', { host: 'testhost', command: 'uptime' })).resolves.toMatchObject({ structuredContent: { status: 'completed' } });
    } finally {
      await server.close();
    }
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
