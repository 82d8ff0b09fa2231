// SshConnection.connect refuses misused options before any I/O (no peer: the endpoint is never
// dialled), with a TypeError whose message says what to pass — the server reports these as
// INVALID_ARGUMENT. The README snippets once passed `agent` next to `host` and crashed inside key loading.
import { describe, expect, it } from 'vitest';
import { SshConnection, type ConnectOptions } from '../src/index';

const base = {
  host: '127.0.0.1',
  port: 1, // nothing listens there: reaching the network would fail with CONNECT_FAILED, not TypeError
  username: 'deploy',
  auth: { password: 'pw' },
  hostKeys: { mode: 'strict', knownHostsFiles: [] },
} as const satisfies ConnectOptions;

const connect = (options: Record<string, unknown>): Promise<SshConnection> => SshConnection.connect(options as unknown as ConnectOptions);

describe('SshConnection.connect option checks', () => {
  it('rejects a missing auth with a TypeError naming the auth shape, not a crash in key loading', async () => {
    const { auth: _auth, ...noAuth } = base;
    const attempt = connect(noAuth);
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.toThrow(/^connect: auth is required, got undefined: pass auth: \{ agent\?: string, privateKeys\?: \[\{ path \} \| \{ key \}\], passphrase\?: string, password\?: string \}$/);
  });

  it('says that a top-level agent (the old README shape) belongs inside auth, even without hostKeys', async () => {
    const attempt = connect({ host: 'web1', username: 'deploy', agent: '/run/agent.sock' });
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.toThrow(/auth is required, got undefined: .*; agent belongs inside auth$/);
    await expect(connect({ host: 'web1', username: 'deploy', password: 'x', privateKeys: [], hostKeys: base.hostKeys })).rejects.toThrow(
      /; privateKeys, password belong inside auth$/,
    );
  });

  it('rejects auth that is not an object', async () => {
    await expect(connect({ ...base, auth: null })).rejects.toThrow(/auth is required, got null/);
    await expect(connect({ ...base, auth: '/run/agent.sock' })).rejects.toThrow(/auth is required, got string/);
    await expect(connect({ ...base, auth: [{ path: '/k' }] })).rejects.toThrow(/auth is required, got an array/);
  });

  it('rejects malformed auth fields, naming the field', async () => {
    await expect(connect({ ...base, auth: { agent: 1 } })).rejects.toThrow(/^connect: auth\.agent must be a string, got number$/);
    await expect(connect({ ...base, auth: { password: ['x'] } })).rejects.toThrow(/auth\.password must be a string/);
    await expect(connect({ ...base, auth: { passphrase: 7 } })).rejects.toThrow(/auth\.passphrase must be a string/);
    await expect(connect({ ...base, auth: { privateKeys: '/home/me/.ssh/id_ed25519' } })).rejects.toThrow(/auth\.privateKeys must be an array of \{ path \} or \{ key \}, got string/);
    await expect(connect({ ...base, auth: { privateKeys: ['/home/me/.ssh/id_ed25519'] } })).rejects.toThrow(
      /auth\.privateKeys\[0\] must be \{ path: string \} or \{ key: string \| Buffer \}, got string/,
    );
    await expect(connect({ ...base, auth: { privateKeys: [{ path: '/k' }, { file: '/k2' }] } })).rejects.toThrow(/privateKeys\[1\] .*got an object with file$/);
    await expect(connect({ ...base, auth: { privateKeys: [{ path: '/k', passphrase: 42 }] } })).rejects.toThrow(/auth\.privateKeys\[0\]\.passphrase must be a string/);
  });

  it('never puts a secret into the message', async () => {
    const attempt = connect({ ...base, auth: { privateKeys: [{ path: '', passphrase: 'hunter2-secret' }] } });
    await expect(attempt).rejects.toThrow(/got an object with path, passphrase$/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it('checks every jump host too, naming it', async () => {
    const attempt = connect({ ...base, jumps: [{ host: 'bastion', username: 'ops' }] });
    await expect(attempt).rejects.toThrow(/^jump host ops@bastion:22: auth is required/);
  });

  it('accepts every documented shape (then fails on the network, not on the options)', async () => {
    for (const auth of [{}, { agent: '/run/agent.sock' }, { privateKeys: [{ key: Buffer.from('not a key'), label: 'inline' }] }, { password: 'pw', passphrase: 'pp' }]) {
      await expect(connect({ ...base, auth, connectTimeoutMs: 2_000 })).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    }
  });
});
