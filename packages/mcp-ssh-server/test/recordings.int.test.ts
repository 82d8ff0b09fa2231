// Session recordings through the built bin: one asciicast v2 file per session, parsed and checked
// event by event, linked from the audit log, with no secret in it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { spawnSync } from 'node:child_process';
import { cli, startServer } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`session recordings through the server bin ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let dir: string;
  let recordDir: string;
  const ids: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-record-'));
    recordDir = join(dir, 'casts');
    const server = await startServer(f, { args: ['--record-dir', recordDir, '--audit-log', join(dir, 'audit.jsonl')], env: { OVRD_testhost_SUDO_PASS: f.password } });
    try {
      const run = async (args: Record<string, unknown>): Promise<Record<string, unknown>> => {
        const result = await server.call('execute_command', { host: 'testhost', ...args });
        ids.push(String(result.structuredContent?.command_id));
        return result.structuredContent ?? {};
      };
      await run({ command: 'echo one; echo two' });
      const asked = await run({ command: "read -r -p 'Name: ' n; echo \"hi $n\"", timeout: 5 });
      await server.call('send_input', { command_id: asked.command_id, input_text: 'bob\\n' });
      const secret = await run({ command: "read -r -s -p 'Secret: ' s; echo \"${#s} chars\"", timeout: 5 });
      await server.call('send_input', { command_id: secret.command_id, input_text: 'typed-secret\\n', secret: true });
      await run({ command: 'sudo -k; sudo whoami' });
      await run({ command: 'exit_with() { return $1; }; exit_with 3' });
    } finally {
      await server.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one 0600 asciicast v2 file per session in a 0700 directory', () => {
    expect(statSync(recordDir).mode & 0o777).toBe(0o700);
    const files = readdirSync(recordDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`_${f.user}@127\\.0\\.0\\.1_${f.port}\\.cast$`));
    expect(statSync(join(recordDir, files[0] as string)).mode & 0o777).toBe(0o600);
  });

  it('narrows a recording directory others can read to 0700, and refuses one owned by another user', async () => {
    const { chmodSync, chownSync, mkdirSync } = await import('node:fs');
    const loose = join(dir, 'loose');
    mkdirSync(loose, { mode: 0o755 });
    chmodSync(loose, 0o777);
    const server = await startServer(f, { args: ['--record-dir', loose] });
    await server.close();
    expect(statSync(loose).mode & 0o777).toBe(0o700);
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    const run = spawnSync(process.execPath, [cli, '--record-dir', foreign], { encoding: 'utf8', input: '', env: { ...process.env, HOME: dir } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot use the recording directory ${foreign}: owned by uid 65534`);
  });

  it('holds, event by event, each command with its output, typed input, a marker per job and how it ended; never a secret', () => {
    const file = join(recordDir, readdirSync(recordDir)[0] as string);
    const [headerLine, ...eventLines] = readFileSync(file, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(headerLine as string) as Record<string, unknown>;
    expect(header).toMatchObject({ version: 2, width: 200, height: 50, title: `${f.user}@127.0.0.1:${f.port}`, env: { TERM: 'xterm-256color' } });
    expect(Number.isInteger(header.timestamp)).toBe(true);
    const events = eventLines.map((line) => JSON.parse(line) as [number, string, string]);
    let last = 0;
    for (const [time, code, data] of events) {
      expect(time).toBeGreaterThanOrEqual(last);
      last = time;
      expect(['o', 'i', 'm']).toContain(code);
      expect(typeof data).toBe('string');
    }
    const output = events.filter(([, code]) => code === 'o').map(([, , data]) => data).join('');
    expect(output).toContain('$ echo one; echo two\u001b[0m\r\none\r\ntwo\r\n');
    expect(output).toContain('Name: hi bob\r\n');
    expect(output).toContain('Secret: 12 chars\r\n');
    expect(output).toContain('root\r\n');
    expect(events.filter(([, code]) => code === 'i').map(([, , data]) => data)).toEqual(['bob\n']);
    const markers = events.filter(([, code]) => code === 'm').map(([, , data]) => data);
    for (const id of ids) expect(markers).toContain(`job ${id}`);
    expect(markers).toContain(`secret input to job ${ids[2]}`);
    expect(markers).toContain(`job ${ids[0]} completed, exit 0`);
    expect(markers).toContain(`job ${ids[4]} completed, exit 3`);
    const raw = readFileSync(file, 'utf8');
    for (const secret of ['typed-secret', f.password]) expect(raw).not.toContain(secret);
  });

  it('is linked from the audit log: each job names its recording and the time in it', () => {
    const file = readdirSync(recordDir)[0] as string;
    const records = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ends = records.filter((record) => record.event === 'job_end');
    expect(ends.map((record) => record.job_id)).toEqual(expect.arrayContaining(ids));
    for (const end of ends) {
      expect(end.recording).toBe(file);
      expect(typeof end.recording_time).toBe('number');
    }
  });
});
