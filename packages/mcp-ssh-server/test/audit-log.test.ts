// AuditLog and verifyAuditLog on their own: crashes at the worst moments keep the chain.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditLog } from '../src/audit';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-audit-unit-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('continues the chain from the rotated file when a crash cut the first write after a rotation', () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const log = AuditLog.open(path, { maxBytes: 1024 });
    for (let i = 0; i < 40 && readdirSync(dir).length < 2; i++) {
      log.append({ event: 'tool_call', tool: 'execute_command', command: `echo ${'x'.repeat(100)} ${i}` });
      log.flush();
    }
    log.close();
    expect(readdirSync(dir).length).toBeGreaterThanOrEqual(2);
    expect(statSync(path).size).toBe(0);
    appendFileSync(path, '{"seq":99,"time":"20');
    const reopened = AuditLog.open(path, { maxBytes: 1024 });
    reopened.append({ event: 'tool_call', tool: 'after' });
    reopened.close();
    const verdict = verifyAuditLog(path);
    expect(verdict, JSON.stringify(verdict)).toMatchObject({ ok: true });
    expect(readFileSync(path, 'utf8')).toContain('"event":"recovered"');
  });

  it('takes a last record that lost only its newline as whole', () => {
    const dir = tempDir();
    const path = join(dir, 'audit.jsonl');
    const log = AuditLog.open(path);
    log.append({ event: 'one' });
    log.append({ event: 'two' });
    log.close();
    truncateSync(path, statSync(path).size - 1);
    const reopened = AuditLog.open(path);
    reopened.append({ event: 'three' });
    reopened.close();
    const verdict = verifyAuditLog(path);
    expect(verdict).toMatchObject({ ok: true, records: 3 });
    expect(readFileSync(path, 'utf8')).not.toContain('recovered');
  });
});
