// The ident guard (src/internal/ident-guard.ts): unpatched ssh2 1.17.0 loses the server's
// identification line when it arrives in 3 or more reads, so every transport ssh2 reads gets the
// whole preamble in one 'data' event, then the rest untouched. First the guard on a plain stream,
// then a real ssh2 Client and SshConnection against an in-process ssh2 server whose bytes reach
// the client one per read.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost, fakeLogin, seeded } from 'test-utils';
import { guardIdentLine, IDENT_GUARD_MAX_BYTES } from '../src/internal/ident-guard';
import { SshConnection } from '../src/index';

const { Client, Server: SshServer, utils } = ssh2;

const GREETING = 'Welcome to edge1\r\nnot at the start of a line: SSH-2.0-x\r\nSSH\r\n-SSH-\r\n';
const IDENT = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n';
/** What follows the ident: binary, with LFs and a fake "SSH-" line that must pass as is. */
const AFTER = Buffer.concat([Buffer.of(0, 0, 1, 0x14, 10, 0xff, 0x0a), Buffer.from('SSH-2.0-not-an-ident\n'), Buffer.alloc(300, 0xab)]);
const PREAMBLE = Buffer.from(GREETING + IDENT, 'latin1');
const WIRE = Buffer.concat([PREAMBLE, AFTER]);

interface Seen {
  readonly events: string[];
  readonly chunks: Buffer[];
}

/** Records a stream's data chunks and the order of its data/end/close/error events. */
function record(stream: NodeJS.EventEmitter): Seen {
  const seen: Seen = { events: [], chunks: [] };
  stream.on('data', (chunk: Buffer) => {
    seen.events.push('data');
    seen.chunks.push(chunk);
  });
  for (const event of ['end', 'close', 'error']) stream.on(event, () => seen.events.push(event));
  return seen;
}

/** `bytes` cut into pieces: one byte each, or random sizes (1–16) from `seed`. */
function split(bytes: Buffer, seed?: number): Buffer[] {
  const random = seed === undefined ? undefined : seeded(seed);
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = random ? 1 + Math.floor(random() * 16) : 1;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** Writes `pieces` to a guarded stream, each a separate 'data' event, and ends it. */
async function feed(pieces: readonly Buffer[], maxBytes?: number): Promise<{ seen: Seen; stream: PassThrough; written: Buffer[] }> {
  const stream = guardIdentLine(new PassThrough(), maxBytes);
  // What the stream itself emits, seen before the guard: each piece is one event.
  const written: Buffer[] = [];
  const seen = record(stream);
  const raw = stream.emit;
  stream.emit = ((event: string, ...args: unknown[]) => {
    if (event === 'data') written.push(args[0] as Buffer);
    return raw.call(stream, event, ...args);
  }) as typeof stream.emit;
  const closed = new Promise((resolve) => stream.once('close', resolve));
  for (const piece of pieces) {
    stream.write(piece);
    await new Promise(setImmediate);
  }
  stream.end();
  await closed;
  return { seen, stream, written };
}

describe('guardIdentLine', () => {
  it('emits greeting lines and the ident as one event when they arrive one byte per chunk, then every later chunk as it came', async () => {
    const pieces = split(WIRE);
    const { seen, written } = await feed(pieces);
    expect(written).toHaveLength(WIRE.length);
    expect(seen.chunks[0]?.toString('latin1')).toBe(GREETING + IDENT);
    expect(Buffer.concat(seen.chunks).equals(WIRE)).toBe(true);
    // After the ident: the stream's own chunks, the same objects, one event each.
    expect(seen.chunks.slice(1)).toEqual(pieces.slice(PREAMBLE.length));
    seen.chunks.slice(1).forEach((chunk, index) => expect(chunk).toBe(pieces[PREAMBLE.length + index]));
    expect(seen.events.slice(-2)).toEqual(['end', 'close']);
  });

  it.each([1, 2, 3, 42, 1234])('gets the ident line whole in the first event and every byte once, in order, for random splits (seed %i)', async (seed) => {
    const pieces = split(WIRE, seed);
    const { seen } = await feed(pieces);
    const first = seen.chunks[0] as Buffer;
    // The first event holds the preamble and, at most, the rest of the chunk that ended it.
    expect(first.subarray(0, PREAMBLE.length).equals(PREAMBLE)).toBe(true);
    expect(first.length).toBeLessThan(PREAMBLE.length + 16);
    expect(Buffer.concat(seen.chunks).equals(WIRE)).toBe(true);
  });

  it('passes an ident with no greeting in one chunk through as the same object', async () => {
    const chunk = Buffer.concat([Buffer.from(IDENT), AFTER]);
    const { seen } = await feed([chunk]);
    expect(seen.chunks).toHaveLength(1);
    expect(seen.chunks[0]).toBe(chunk);
  });

  it('restores the stream’s own emit once the ident is through, so later data costs nothing', () => {
    const stream = new PassThrough();
    guardIdentLine(stream);
    expect(Object.hasOwn(stream, 'emit')).toBe(true);
    stream.write(Buffer.from(IDENT));
    stream.resume();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(Object.hasOwn(stream, 'emit')).toBe(false);
        expect(stream.emit).toBe(PassThrough.prototype.emit);
        resolve();
      }),
    );
  });

  it('passes a preamble longer than the cap through: what is held, then each chunk as it comes', async () => {
    const cap = 1_000;
    const long = Buffer.concat([Buffer.alloc(cap + 500, 0x61), Buffer.from(`\r\n${IDENT}`)]);
    const { seen } = await feed(split(long, 7), cap);
    expect(seen.chunks[0]?.length).toBeGreaterThanOrEqual(cap);
    expect(seen.chunks[0]?.length).toBeLessThan(cap + 16);
    expect(seen.chunks.length).toBeGreaterThan(10);
    expect(Buffer.concat(seen.chunks).equals(long)).toBe(true);
    expect(IDENT_GUARD_MAX_BYTES).toBe(64 * 1024);
  });

  it('emits what it holds before an end, then the end and the close', async () => {
    const { seen } = await feed(split(Buffer.from('Welcome\r\nSSH-2.0-cut sh')));
    expect(seen.events).toEqual(['data', 'end', 'close']);
    expect(seen.chunks[0]?.toString()).toBe('Welcome\r\nSSH-2.0-cut sh');
  });

  it('emits what it holds before an error, passing the same error on, then the close', async () => {
    const stream = guardIdentLine(new PassThrough());
    const seen = record(stream);
    const errors: unknown[] = [];
    stream.on('error', (error) => errors.push(error));
    for (const piece of split(Buffer.from('SSH-2.0'))) {
      stream.write(piece);
      await new Promise(setImmediate);
    }
    expect(seen.events).toEqual([]);
    const boom = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy(boom);
    await closed;
    expect(seen.events).toEqual(['data', 'error', 'close']);
    expect(seen.chunks[0]?.toString()).toBe('SSH-2.0');
    expect(errors).toEqual([boom]);
  });

  it('emits what it holds before a close without an end (destroyed)', async () => {
    const stream = guardIdentLine(new PassThrough());
    const seen = record(stream);
    stream.write(Buffer.from('SSH-'));
    await new Promise(setImmediate);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
    expect(seen.events).toEqual(['data', 'close']);
  });
});

// ---- Against a real ssh2 server, each byte of the preamble one read of the client ----

const servers: Server[] = [];
const hosts: FakeHost[] = [];
const connections: SshConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await Promise.all(hosts.splice(0).map((host) => host.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const DRIBBLE_GREETING = 'Welcome to edge1\r\nauthorized use only\r\n';

/**
 * A proxy in front of `target` that sends greeting lines, then the server's first `dribbleBytes`
 * bytes (its ident line and the start of its KEXINIT), one byte per write with a turn of the
 * event loop between writes, so the client reads them one at a time; the rest passes as it comes.
 */
async function dribblingProxy(target: { host: string; port: number }, dribbleBytes = 200): Promise<number> {
  const server = createServer({ noDelay: true }, (client: Socket) => {
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let dribbled = 0;
    let writing = Promise.resolve();
    const send = async (bytes: Buffer): Promise<void> => {
      for (const byte of bytes) {
        if (client.destroyed) return;
        await new Promise<void>((resolve) => client.write(Buffer.of(byte), () => setImmediate(resolve)));
      }
    };
    writing = writing.then(() => send(Buffer.from(DRIBBLE_GREETING)));
    upstream.on('data', (chunk: Buffer) => {
      const slow = chunk.subarray(0, Math.max(0, dribbleBytes - dribbled));
      dribbled += slow.length;
      const rest = chunk.subarray(slow.length);
      writing = writing.then(async () => {
        await send(slow);
        if (rest.length > 0 && !client.destroyed) client.write(rest);
      });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function dribbledHost(): Promise<{ host: FakeHost; port: number }> {
  const host = await FakeHost.start({ onExec: (command, channel) => void channel.write(`ran ${command}\n`).then(() => channel.end(0)) });
  hosts.push(host);
  return { host, port: await dribblingProxy(host.address) };
}

describe('ssh2 through the ident guard', () => {
  it('the proxy really hands the client the preamble one byte per read', async () => {
    const { port } = await dribbledHost();
    const socket = connect({ host: '127.0.0.1', port });
    const reads: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        reads.push(chunk);
        if (/\nSSH-[^\n]*\n/.test(Buffer.concat(reads).toString('latin1'))) resolve();
      });
    });
    socket.destroy();
    const preamble = Buffer.concat(reads).toString('latin1');
    expect(preamble.startsWith(`${DRIBBLE_GREETING}SSH-2.0-`)).toBe(true);
    // ssh2 1.17.0 loses the ident from 3 reads on; here it takes one read per byte (or nearly).
    expect(reads.length).toBeGreaterThan(preamble.length / 2);
  });

  it('a bare ssh2 Client given a guarded socket completes the handshake and authenticates', async () => {
    const { host, port } = await dribbledHost();
    const client = new Client();
    const seen = await new Promise<string>((resolve) => {
      client.on('ready', () => resolve('ready'));
      client.on('error', (error) => resolve(`error: ${error.message}`));
      client.on('close', () => resolve('closed'));
      client.connect({
        sock: guardIdentLine(connect({ host: '127.0.0.1', port })),
        username: host.address.username,
        password: host.address.password,
        readyTimeout: 15_000,
      });
    });
    client.end();
    expect(seen).toBe('ready');
  });

  it('SshConnection connects and runs a command when the server’s preamble arrives one byte per read', async () => {
    const { host, port } = await dribbledHost();
    const connection = await SshConnection.connect({ ...fakeLogin(host.address), port, connectTimeoutMs: 15_000 });
    connections.push(connection);
    await expect(connection.exec('show version')).resolves.toMatchObject({ stdout: 'ran show version\n', exitCode: 0 });
  });
});

/** An ssh2 server that forwards direct-tcpip channels (ProxyJump) and accepts `jump`/`jump-pass`. */
async function jumpHost(): Promise<number> {
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const server = new SshServer({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => (ctx.method === 'password' && ctx.username === 'jump' && ctx.password === 'jump-pass' ? ctx.accept() : ctx.reject(['password'])));
    client.on('tcpip', (accept, _reject, info) => {
      const channel = accept();
      const socket = connect({ host: info.destIP, port: info.destPort });
      socket.on('error', () => channel.destroy());
      channel.on('error', () => socket.destroy());
      channel.pipe(socket).pipe(channel);
    });
  });
  servers.push(server as unknown as Server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('ssh2 through the ident guard, behind a jump host', () => {
  it('SshConnection connects through a ProxyJump channel that carries the preamble one byte per packet', async () => {
    const { host, port } = await dribbledHost();
    const jumpPort = await jumpHost();
    const connection = await SshConnection.connect({
      ...fakeLogin(host.address),
      port,
      jumps: [{ host: '127.0.0.1', port: jumpPort, username: 'jump', auth: { password: 'jump-pass' } }],
      connectTimeoutMs: 15_000,
    });
    connections.push(connection);
    await expect(connection.exec('uname')).resolves.toMatchObject({ stdout: 'ran uname\n', exitCode: 0 });
  });
});

describe('SshConnection connect failures on the socket it makes', () => {
  it('fails with CONNECT_FAILED saying the connection was refused', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const attempt = SshConnection.connect({ host: '127.0.0.1', port, username: 'u', auth: { password: 'p' }, hostKeys: { mode: 'insecureAcceptAnyHostKey' } });
    await expect(attempt).rejects.toMatchObject({ code: 'CONNECT_FAILED', details: { errno: 'ECONNREFUSED', ssh2Level: 'client-socket' } });
    await expect(attempt).rejects.toThrow(`cannot connect to u@127.0.0.1:${port}: connection refused: is sshd running and listening on that port?`);
  });

  it('fails with CONNECT_FAILED naming DNS for a host name that does not resolve', async () => {
    const attempt = SshConnection.connect({ host: 'no-such-host.invalid', username: 'u', auth: { password: 'p' }, hostKeys: { mode: 'insecureAcceptAnyHostKey' } });
    await expect(attempt).rejects.toMatchObject({ code: 'CONNECT_FAILED', details: { ssh2Level: 'client-socket' } });
    await expect(attempt).rejects.toThrow(/^cannot connect to u@no-such-host\.invalid:22: host name (not found|lookup failed temporarily) \(DNS\)/);
  });

  it('fails with CONNECT_TIMEOUT when the server sends half an ident and then nothing', async () => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      // Read, or the client's FIN is never seen and the server never closes.
      socket.resume();
      socket.write('Welcome\r\nSSH-2.0-hal');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const attempt = SshConnection.connect({ host: '127.0.0.1', port, username: 'u', auth: { password: 'p' }, hostKeys: { mode: 'insecureAcceptAnyHostKey' }, connectTimeoutMs: 300 });
    await expect(attempt).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
    await expect(attempt).rejects.toThrow(`timed out connecting to u@127.0.0.1:${port} after 300 ms`);
  });
});
