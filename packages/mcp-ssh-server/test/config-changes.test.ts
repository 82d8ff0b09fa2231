// ConfigChanges on disk: the newest 20 per device stay (also when another server wrote older
// ones), files 0600, a file cut short or foreign is skipped, a restart reads them back.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigChanges } from '../src/config-changes';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ConfigChanges', () => {
  it('keeps the newest 20 per device on disk, whoever wrote the others; reads them back after a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-changes-'));
    dirs.push(dir);
    const session = 'admin@sw1:22';
    const deviceDir = join(dir, 'admin@sw1_22');
    const first = new ConfigChanges(dir);
    first.add({ session, summary: 'applied', lines: 1, before: 'a\n', after: 'b\n' });
    // Older files of another server sharing the directory, one cut short, one without a time.
    writeFileSync(join(deviceDir, '2000-01-01T00-00-00.000Z_00000001.json'), JSON.stringify({ id: '00000001', session, at: '2000-01-01T00:00:00.000Z', summary: 's', lines: 1, before: '', after: '' }), { mode: 0o600 });
    writeFileSync(join(deviceDir, '2000-01-02T00-00-00.000Z_00000002.json'), '{"id":"000', { mode: 0o600 });
    writeFileSync(join(deviceDir, '2000-01-03T00-00-00.000Z_00000003.json'), JSON.stringify({ id: '00000003', session, summary: 's', lines: 1, before: '', after: '' }), { mode: 0o600 });
    const again = new ConfigChanges(dir);
    expect(again.list(session).map((change) => change.id)).toContain('00000001');
    expect(again.list(session)).toHaveLength(2);
    for (let i = 0; i < 24; i++) again.add({ session, summary: `change ${i}`, lines: 1, before: `${i}\n`, after: `${i + 1}\n` });
    const files = readdirSync(deviceDir);
    expect(files).toHaveLength(ConfigChanges.KEEP);
    expect(files.some((name) => name.startsWith('2000-'))).toBe(false);
    for (const name of files) expect(statSync(join(deviceDir, name)).mode & 0o777).toBe(0o600);
    const restarted = new ConfigChanges(dir);
    expect(restarted.list(session).map((change) => change.summary)).toEqual(again.list(session).map((change) => change.summary));
    expect(restarted.get(session)?.summary).toBe('change 23');
  });
});
