// The audit log through the built bin: one hash-chained record per tool call and per job end,
// `mcp-ssh-server audit verify` on an intact log and on logs with an edited, a deleted and a
// swapped record, a write cut off by a crash, rotation across files, and a planted symlink.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { cli, startServer, text } from './helpers';

const facts = sshdFacts();

/** `mcp-ssh-server audit verify <file>`: its exit status and what it printed. */
function verify(file: string): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [cli, 'audit', 'verify', file], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout + run.stderr };
}

const records = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe.skipIf(!facts)(`audit log through the server bin ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let dir: string;
  let log: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-audit-'));
    log = join(dir, 'audit.jsonl');
    const server = await startServer(f, { args: ['--audit-log', log], env: { OVRD_testhost_SUDO_PASS: f.password } });
    try {
      await expect(server.call('execute_command', { host: 'testhost', command: 'echo audited; (exit 4)' })).resolves.toMatchObject({ structuredContent: { exit_code: 4 } });
      const started = await server.call('execute_command_async', { host: 'testhost', command: 'sleep 0.3; echo later' });
      const id = started.structuredContent?.command_id as string;
      const asked = await server.call('execute_command', { host: 'testhost', command: "read -r -s -p 'Secret: ' s; echo \"${#s}\"", timeout: 5 });
      await server.call('send_input', { command_id: asked.structuredContent?.command_id, input_text: 'typed-secret\\n', secret: true });
      const written = await server.call('write_file', { host: 'testhost', remote_path: `/tmp/mcp-audit-${process.pid}.txt`, content: 'file body' });
      expect(written.isError, text(written)).toBeFalsy();
      await server.call('execute_command', { host: 'testhost', command: `rm -f /tmp/mcp-audit-${process.pid}.txt` });
      const bad = await server.call('get_command_status', { command_id: 'no-such-job' });
      expect(bad.isError, text(bad)).toBe(true);
      // The async job ends while the server runs: its job_end record is written then.
      for (let i = 0; i < 100 && (await server.call('get_command_status', { command_id: id })).structuredContent?.status === 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      await server.call('execute_command', { host: 'testhost', command: 'ls / | head -1' });
      await server.call('execute_command', { host: 'testhost', command: 'sudo -k; sudo id -u' });
    } finally {
      await server.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a 0600 file with one chained record per tool call and per job end, naming the client', () => {
    expect(statSync(log).mode & 0o777).toBe(0o600);
    const all = records(log);
    expect(all.map((record) => record.seq)).toEqual(all.map((_, index) => index + 1));
    expect(all[0]).toMatchObject({ event: 'server_start', prev: '0'.repeat(64) });
    const calls = all.filter((record) => record.event === 'tool_call');
    expect(calls.map((record) => record.tool)).toEqual(['execute_command', 'execute_command_async', 'execute_command', 'send_input', 'write_file', 'execute_command', 'get_command_status', ...calls.slice(7, -2).map(() => 'get_command_status'), 'execute_command', 'execute_command']);
    // Each command's class (src/classify.ts): on the call and on the job's end.
    const classOf = (command: string) => [calls, all.filter((record) => record.event === 'job_end')].map((list) => list.find((record) => record.command === command)?.class);
    expect(classOf('ls / | head -1')).toEqual(['read-only', 'read-only']);
    expect(classOf(`rm -f /tmp/mcp-audit-${process.pid}.txt`)).toEqual(['change', 'change']);
    expect(classOf('sudo -k; sudo id -u')).toEqual(['privileged', 'privileged']);
    expect(calls[6]?.class).toBeUndefined();
    expect(calls[0]).toMatchObject({ client: { name: 'e2e', version: '0.0.0' }, host: 'testhost', command: 'echo audited; (exit 4)', session: `${f.user}@127.0.0.1:${f.port}`, status: 'completed', exit_code: 4, error_code: null });
    expect(calls[3]).toMatchObject({ tool: 'send_input', input_text_chars: 'typed-secret\\n'.length });
    expect(calls[4]).toMatchObject({ tool: 'write_file', remote_path: `/tmp/mcp-audit-${process.pid}.txt`, content_chars: 9, status: 'ok' });
    expect(calls[6]).toMatchObject({ status: 'error', error_code: 'JOB_NOT_FOUND' });
    const ends = all.filter((record) => record.event === 'job_end');
    expect(ends.map((record) => record.command)).toEqual(expect.arrayContaining(['echo audited; (exit 4)', 'sleep 0.3; echo later']));
    expect(ends.find((record) => record.command === 'sleep 0.3; echo later')).toMatchObject({ status: 'completed', exit_code: 0, output_chars: 6, job_id: calls[1]?.job_id });
    expect(all.at(-1)).toMatchObject({ event: 'server_stop' });
    // Typed input, file contents and the sudo password are never in it.
    const raw = readFileSync(log, 'utf8');
    for (const secret of ['typed-secret', 'file body', f.password]) expect(raw).not.toContain(secret);
  });

  it('verifies an intact log: exit 0, the record count and the last hash', () => {
    const result = verify(log);
    expect(result.status, result.out).toBe(0);
    expect(result.out).toMatch(new RegExp(`audit log intact: ${records(log).length} records`));
  });

  it('names the first edited, deleted or swapped record, exit 1', () => {
    const lines = readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
    const variant = (name: string, edited: string[]): string => {
      const file = join(dir, name);
      writeFileSync(file, `${edited.join('\n')}\n`);
      return file;
    };
    const edited = [...lines];
    edited[1] = (edited[1] as string).replace('echo audited', 'echo innocent');
    const editedResult = verify(variant('edited.jsonl', edited));
    expect(editedResult.status).toBe(1);
    expect(editedResult.out).toContain('line 2: record 2 was altered');

    const deleted = [...lines];
    deleted.splice(3, 1);
    const deletedResult = verify(variant('deleted.jsonl', deleted));
    expect(deletedResult.status).toBe(1);
    expect(deletedResult.out).toContain('record 4 is missing or out of place: found record 5');

    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3] as string, swapped[2] as string];
    const swappedResult = verify(variant('swapped.jsonl', swapped));
    expect(swappedResult.status).toBe(1);
    expect(swappedResult.out).toContain('record 3 is missing or out of place: found record 4');

    const headless = verify(variant('headless.jsonl', lines.slice(1)));
    expect(headless.status).toBe(1);
    expect(headless.out).toContain('record 1 (the first) is missing');
  });

  it('survives a write cut off by a crash: verify warns, the next start covers the cut line and the chain goes on', async () => {
    const file = join(dir, 'crashed.jsonl');
    writeFileSync(file, readFileSync(log));
    appendFileSync(file, '{"seq":999,"time":"2026-');
    const torn = verify(file);
    expect(torn.status, torn.out).toBe(0);
    expect(torn.out).toContain('incomplete last line');
    const server = await startServer(f, { args: ['--audit-log', file] });
    await server.call('execute_command', { host: 'testhost', command: 'echo after the crash' });
    await server.close();
    const result = verify(file);
    expect(result.status, result.out).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('"event":"recovered"');
    expect(text).toContain('echo after the crash');
  });

  it('rotates by size and keeps one chain across the files; a lost older file is reported', async () => {
    const rotating = join(dir, 'rotating', 'audit.jsonl');
    spawnSync('mkdir', ['-p', join(dir, 'rotating')]);
    const server = await startServer(f, { args: ['--audit-log', rotating, '--audit-max-bytes', '2048'] });
    for (let i = 0; i < 12; i++) await server.call('execute_command', { host: 'testhost', command: `echo rotation ${i}` });
    await server.close();
    const files = readdirSync(join(dir, 'rotating')).sort();
    expect(files.length).toBeGreaterThan(2);
    const result = verify(rotating);
    expect(result.status, result.out).toBe(0);
    expect(result.out).toMatch(new RegExp(`in ${files.length} file\\(s\\)`));
    // The oldest rotated file (the current one keeps the plain name).
    unlinkSync(join(dir, 'rotating', files.find((name) => name !== 'audit.jsonl') as string));
    const lost = verify(rotating);
    expect(lost.status).toBe(1);
    expect(lost.out).toContain('record 1 (the first) is missing');
  });

  it('refuses a symlink planted at the log path', async () => {
    const target = join(dir, 'elsewhere.txt');
    writeFileSync(target, 'not yours\n');
    const planted = join(dir, 'planted.jsonl');
    symlinkSync(target, planted);
    const run = spawnSync(process.execPath, [cli, '--audit-log', planted], { encoding: 'utf8', input: '', env: { ...process.env, HOME: dir } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the audit log ${planted}: ELOOP`);
    expect(readFileSync(target, 'utf8')).toBe('not yours\n');
    expect(existsSync(planted)).toBe(true);
  });
});
