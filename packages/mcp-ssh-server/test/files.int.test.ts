// read_file / write_file parity with the reference, through the built bin on the real sshd:
// permissions as a mode value, the 2 MiB write limit, and Python's `errors` for decoding and
// encoding. The test host is this machine, so results are checked on the local filesystem too.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { startServer, text, type E2eServer, type ToolResult } from './helpers';

const facts = sshdFacts();
const MiB2 = 2 * 1024 * 1024;

describe.skipIf(!facts)(`read_file and write_file on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  const run = `mcp-files-e2e-${randomBytes(4).toString('hex')}`;
  const local = `/home/${f.user}/${run}`;
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);
  const write = (name: string, args: Record<string, unknown>): Promise<ToolResult> => call('write_file', { host: 'testhost', remote_path: `~/${run}/${name}`, ...args });
  const modeOf = (name: string): number => statSync(`${local}/${name}`).mode & 0o7777;

  beforeAll(async () => {
    server = await startServer(f);
    // The directory belongs to the test user (the suite runs as root on the same machine).
    await call('execute_command', { host: 'testhost', command: `mkdir -p ~/${run}` });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(local, { recursive: true, force: true });
  });

  describe('permissions', () => {
    it('takes an integer as the mode value, as the reference does: 420 is 0644, 384 is 0600', async () => {
      const rw = await write('rw-r--r--', { content: 'x', permissions: 420 });
      expect(rw.structuredContent).toMatchObject({ mode: '0644' });
      expect(modeOf('rw-r--r--')).toBe(0o644);
      // 420's digits read as octal would be 0420: the result says how it was taken.
      expect(rw.structuredContent?.notice).toBe('permissions 420 is the mode value 0644 (integers are mode values, as in the reference); for 0420 pass the string "420".');
      const secret = await write('rw-------', { content: 'x', permissions: 384 });
      expect(secret.structuredContent).toMatchObject({ mode: '0600', notice: null });
      expect(modeOf('rw-------')).toBe(0o600);
      // 0o2750 is 1512: a mode value with the setgid bit, whose digits happen to be octal too.
      const setgid = await write('setgid', { content: 'x', permissions: 0o2750 });
      expect(setgid.structuredContent).toMatchObject({ mode: '2750', notice: expect.stringContaining('1512 is the mode value 02750') as unknown });
      expect(modeOf('setgid')).toBe(0o2750);
    });

    it('takes a string as octal digits: "0644", "644", "0o600"', async () => {
      for (const [permissions, mode] of [['0644', 0o644], ['644', 0o644], ['0o600', 0o600], ['0750', 0o750]] as const) {
        const result = await write(`octal-${permissions}`, { content: 'x', permissions });
        expect(result.structuredContent).toMatchObject({ mode: `0${mode.toString(8)}`, notice: null });
        expect(modeOf(`octal-${permissions}`)).toBe(mode);
      }
    });

    it('refuses with INVALID_ARGUMENT, before writing anything: over 0o7777, negative, not an integer, not octal, and 644 (ambiguous)', async () => {
      const cases: [unknown, RegExp][] = [
        [4096, /permissions 4096 is not a mode value from 0 to 4095/],
        [-1, /permissions -1 is not a mode value/],
        [6.44, /permissions 6\.44 is not a mode value/],
        ['0999', /permissions "0999" is not octal digits/],
        ['rw-r--r--', /is not octal digits/],
        ['17777', /is not octal digits/],
        // Until now an integer was read as octal digits; as a mode value 644 is 01204 (sticky bit).
        [644, /permissions 644 is ambiguous: as a mode value \(the reference's meaning\) it is 01204, with the sticky bit; for 0644 pass the string "644" \(or the mode value 420\)/],
        [755, /it is 01363/],
      ];
      for (const [permissions, message] of cases) {
        const result = await write('refused', { content: 'x', permissions, make_dirs: true });
        expect(result.isError).toBe(true);
        expect(text(result)).toMatch(/^Error INVALID_ARGUMENT: /);
        expect(text(result)).toMatch(message);
      }
      expect(existsSync(`${local}/refused`)).toBe(false);
    });
  });

  describe('the 2 MiB limit', () => {
    it('writes exactly 2 MiB', async () => {
      const result = await write('two-mib', { content: 'x'.repeat(MiB2) });
      expect(result.structuredContent).toMatchObject({ bytes_written: MiB2, created: true });
      expect(statSync(`${local}/two-mib`).size).toBe(MiB2);
    });

    it('refuses 2 MiB + 1 with FILE_TOO_LARGE pointing to upload_file; nothing is created (file, made dirs, temp file)', async () => {
      const result = await write('new/dirs/too-big', { content: 'x'.repeat(MiB2 + 1), make_dirs: true });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^Error FILE_TOO_LARGE: write_file \S+too-big: the content is 2097153 bytes \(utf-8\), over write_file's limit of 2097152 bytes/);
      expect(text(result)).toContain('nothing was written. For large files use upload_file');
      expect(existsSync(`${local}/new`)).toBe(false);
      // A larger max_bytes does not raise the limit (as in the reference: min(max_bytes, 2 MiB)).
      const raised = await write('too-big', { content: 'x'.repeat(MiB2 + 1), max_bytes: 8 * MiB2 });
      expect(text(raised)).toMatch(/^Error FILE_TOO_LARGE: /);
      // Counted after encoding: 1 Mi × "é" is 2 MiB of UTF-8, one more character is over.
      const encoded = await write('too-big', { content: 'é'.repeat(MiB2 / 2 + 1) });
      expect(text(encoded)).toMatch(/the content is 2097154 bytes \(utf-8\)/);
      expect(readFileSync(`${local}/two-mib`).length).toBe(MiB2);
      expect(existsSync(`${local}/too-big`)).toBe(false);
    });

    it('refuses content over a smaller max_bytes, naming it', async () => {
      const result = await write('small', { content: '12345678901', max_bytes: 10 });
      expect(text(result)).toMatch(/^Error FILE_TOO_LARGE: write_file \S+small: the content is 11 bytes \(utf-8\), over max_bytes \(10\)/);
      expect(existsSync(`${local}/small`)).toBe(false);
      await expect(write('small', { content: '1234567890', max_bytes: 10 })).resolves.toMatchObject({ structuredContent: { bytes_written: 10 } });
    });
  });

  describe('errors (Python\'s bytes.decode / str.encode)', () => {
    beforeAll(() => {
      mkdirSync(local, { recursive: true });
      writeFileSync(`${local}/latin1.txt`, Buffer.from('café\n', 'latin1'));
    });
    const read = (args: Record<string, unknown>): Promise<ToolResult> => call('read_file', { host: 'testhost', remote_path: `~/${run}/latin1.txt`, ...args });

    it('read_file: replace gives U+FFFD, ignore drops the byte, strict fails with DECODE_FAILED', async () => {
      const replaced = await read({ errors: 'replace' });
      expect(replaced.structuredContent).toMatchObject({ content: 'caf\uFFFD\n', encoding: 'utf-8', binary: false, decode_errors: 1 });
      expect(text(replaced)).toBe('caf\uFFFD\n\n[1 invalid utf-8 sequence(s) replaced with U+FFFD (errors: replace)]');
      const ignored = await read({ errors: 'ignore' });
      expect(ignored.structuredContent).toMatchObject({ content: 'caf\n', decode_errors: 1 });
      const strict = await read({ errors: 'strict' });
      expect(strict.isError).toBe(true);
      expect(text(strict)).toMatch(/^Error DECODE_FAILED: read \/home\/\S+\/latin1\.txt: not valid utf-8: invalid bytes at offset 3 \(0xe9 0x0a\)/);
      await expect(read({ encoding: 'latin1', errors: 'strict' })).resolves.toMatchObject({ structuredContent: { content: 'café\n', decode_errors: 0 } });
    });

    it('read_file without errors keeps today\'s behaviour: text that is not valid comes back whole as base64', async () => {
      const result = await read({});
      expect(result.structuredContent).toMatchObject({ binary: true, encoding: 'base64', content: Buffer.from('café\n', 'latin1').toString('base64'), decode_errors: 0 });
    });

    it('write_file: strict by default (ENCODE_FAILED, nothing written), replace writes ?, ignore drops', async () => {
      const strict = await write('ascii.txt', { content: 'café', encoding: 'ascii' });
      expect(text(strict)).toMatch(/^Error ENCODE_FAILED: content cannot be encoded as ascii: character U\+00E9 at index 3/);
      expect(existsSync(`${local}/ascii.txt`)).toBe(false);
      await write('ascii.txt', { content: 'café', encoding: 'ascii', errors: 'replace' });
      expect(readFileSync(`${local}/ascii.txt`, 'latin1')).toBe('caf?');
      await write('ascii.txt', { content: 'café', encoding: 'ascii', errors: 'ignore' });
      expect(readFileSync(`${local}/ascii.txt`, 'latin1')).toBe('caf');
      // A lone surrogate (JSON can carry one) is not UTF-8 either.
      const lone = await write('lone.txt', { content: 'a\uD800b' });
      expect(text(lone)).toMatch(/^Error ENCODE_FAILED: content cannot be encoded as utf-8: character U\+D800 at index 1/);
    });
  });

  it('wrote nothing but JSON-RPC messages to stdout', () => {
    expect(server.transport.badLines).toEqual([]);
  });
});
