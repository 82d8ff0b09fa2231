import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy, type DelayProxyOptions } from '../src/index';

const proxies: DelayProxy[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback server that hands each accepted socket to `onSocket`; half-open allowed. */
async function startTarget(onSocket: (socket: Socket) => void): Promise<{ host: string; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { host: '127.0.0.1', port: (server.address() as { port: number }).port };
}

async function startProxy(target: { host: string; port: number }, oneWayMs: number, extra: Partial<DelayProxyOptions> = {}): Promise<DelayProxy> {
  const proxy = await startDelayProxy({ target, oneWayMs, ...extra });
  proxies.push(proxy);
  return proxy;
}

async function dial(proxy: DelayProxy): Promise<Socket> {
  const socket = connect({ host: proxy.host, port: proxy.port, allowHalfOpen: true });
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Everything `socket` reads until its end. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

/** Writes `payload` in pieces of varying size, so many chunks are in flight, then ends. */
function writeInPieces(socket: Socket, payload: Buffer): void {
  for (let offset = 0, piece = 1; offset < payload.length; offset += piece, piece = (piece * 7 + 13) % 65_521) {
    socket.write(payload.subarray(offset, offset + piece));
  }
  socket.end();
}

/** Resolves with the time of the next `data` event on `socket`. */
const nextData = (socket: Socket): Promise<number> => once(socket, 'data').then(() => performance.now());

describe('startDelayProxy', () => {
  it('passes a large random payload exactly and in order in both directions at once', async () => {
    const up = randomBytes(4 * 1024 * 1024);
    const down = randomBytes(3 * 1024 * 1024 + 17);
    let received: Promise<Buffer> | undefined;
    const target = await startTarget((socket) => {
      received = readAll(socket);
      writeInPieces(socket, down);
    });
    let forwarded = 0;
    const proxy = await startProxy(target, 5, { onForward: () => forwarded++ });
    const client = await dial(proxy);
    const returned = readAll(client);
    writeInPieces(client, up);
    const back = await returned;
    expect(back.length).toBe(down.length);
    expect(back.equals(down)).toBe(true);
    const there = await (received as Promise<Buffer>);
    expect(there.length).toBe(up.length);
    expect(there.equals(up)).toBe(true);
    // Many chunks were queued and forwarded, not one buffer at the end.
    expect(forwarded).toBeGreaterThan(20);
  });

  it('delays each direction by at least oneWayMs, so a ping-pong takes at least 2 × oneWayMs', async () => {
    const oneWayMs = 20;
    const arrivals: number[] = [];
    const target = await startTarget((socket) =>
      socket.on('data', (chunk: Buffer) => {
        arrivals.push(performance.now());
        socket.write(chunk);
      }),
    );
    const proxy = await startProxy(target, oneWayMs);
    const client = await dial(proxy);
    for (let i = 0; i < 5; i++) {
      const echoed = nextData(client);
      const sent = performance.now();
      client.write(`ping ${i}`);
      const back = await echoed;
      expect(back - sent).toBeGreaterThanOrEqual(2 * oneWayMs);
      expect((arrivals[i] as number) - sent).toBeGreaterThanOrEqual(oneWayMs);
    }
  });

  it('passes a half-close on after the delay and keeps the other direction open', async () => {
    const oneWayMs = 15;
    let targetEndedAt = 0;
    const target = await startTarget(async (socket) => {
      const request = await readAll(socket);
      targetEndedAt = performance.now();
      // The client has ended its side; this direction still carries the reply.
      socket.end(`reply to ${request.toString()}`);
    });
    const proxy = await startProxy(target, oneWayMs);
    const client = await dial(proxy);
    const reply = readAll(client);
    client.write('request');
    const endedAt = performance.now();
    client.end();
    expect((await reply).toString()).toBe('reply to request');
    expect(targetEndedAt - endedAt).toBeGreaterThanOrEqual(oneWayMs);
  });

  it('passes a half-close from the target side on and keeps the client direction open', async () => {
    let fromClient: Promise<Buffer> | undefined;
    const target = await startTarget((socket) => {
      fromClient = readAll(socket);
      socket.end('bye');
    });
    const proxy = await startProxy(target, 10);
    const client = await dial(proxy);
    expect((await readAll(client)).toString()).toBe('bye');
    client.end('still writing');
    expect((await (fromClient as Promise<Buffer>)).toString()).toBe('still writing');
  });

  it('passes a reset on to the other side after the delay', async () => {
    const oneWayMs = 15;
    let targetSocket: Socket | undefined;
    const target = await startTarget((socket) => {
      targetSocket = socket;
      socket.write('hello');
    });
    const proxy = await startProxy(target, oneWayMs);
    const client = await dial(proxy);
    const errored = once(client, 'error');
    await nextData(client);
    const resetAt = performance.now();
    (targetSocket as Socket).resetAndDestroy();
    const [error] = (await errored) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    expect(performance.now() - resetAt).toBeGreaterThanOrEqual(oneWayMs);
  });

  it('close() ends every connection and stops listening', async () => {
    let targetSocket: Socket | undefined;
    const target = await startTarget((socket) => {
      targetSocket = socket;
      socket.write('ready');
    });
    const proxy = await startDelayProxy({ target, oneWayMs: 10 });
    const client = await dial(proxy);
    client.on('error', () => undefined);
    await nextData(client);
    // Both are half-open sockets: the proxy's end shows as 'end' on each.
    const ended = [once(client, 'end'), once(targetSocket as Socket, 'end')];
    await proxy.close();
    await Promise.all(ended);
    const refused = connect({ host: proxy.host, port: proxy.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('refuses a negative delay', () => {
    expect(() => startDelayProxy({ target: { host: '127.0.0.1', port: 1 }, oneWayMs: -1 })).toThrow(RangeError);
  });
});
