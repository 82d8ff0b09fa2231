// The library examples run as written against the loopback sshd (after `pnpm build`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const facts = sshdFacts();

function runExample(file: string, f: SshdFacts): string {
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_HOST: f.host, SSH_PORT: String(f.port), SSH_USER: f.user, SSH_KEY: f.keyPath, SSH_KNOWN_HOSTS: f.knownHostsPath };
  delete env.SSH_AUTH_SOCK;
  const result = spawnSync(process.execPath, [join(examples, file)], { cwd: examples, encoding: 'utf8', env, timeout: 30_000 });
  expect(result.stderr, result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

describe.skipIf(!facts)(`library examples on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;

  it('jobs-run.mjs: a quick command finishes, a slow one becomes a job and completes', () => {
    const out = runExample('jobs-run.mjs', f);
    expect(out).toMatch(/^quick: completed, exit 0: hello from \S+$/m);
    expect(out).toContain('slow: finished=false, state running');
    expect(out).toContain('slow: completed, exit 0, output "step 1\\nstep 2\\nstep 3\\n"');
    expect(out).toContain('history: for, echo');
  });

  it('files-roundtrip.mjs: writes with a mode, reads back, lists', () => {
    const out = runExample('files-roundtrip.mjs', f);
    expect(out).toMatch(/^wrote 19 bytes to \/home\/\S+\/hello.txt \(atomic: true, mode 640\)$/m);
    expect(out).toContain('read back: "hello, remote file\\n" (19 of 19 bytes)');
    expect(out).toContain('listing: hello.txt file 19');
  });

  it('mcp-client.mjs: the SDK client drives the server over stdio: persistent shell, command_id flow, files', () => {
    const out = runExample('mcp-client.mjs', f);
    expect(out).toMatch(/^tools: \d{2}$/m);
    expect(out).toContain(`hosts: example=${f.user}@${f.host}:${f.port}`);
    expect(out).toMatch(/^first: exit 0: hello from \S+$/m);
    expect(out).toContain('same shell: /tmp');
    expect(out).toContain('long: running, command_id returned: true');
    expect(out).toContain('long: completed, exit 0: finished');
    expect(out).toContain('file: 20 bytes, mode 0600, read back "written through MCP\\n"');
    expect(out).toContain('closed: 1');
  });
});
