// ssh2 1.17.0 lost every piece of the server's identification line after the first two reads
// (parseHeader saved only the first piece), so a link that delivers the line in 3 or more reads
// (a slow link, tiny segments, an sshd writing it in parts) failed the handshake with "Invalid
// identification string", "signature verification failed" (a wrong ident in the key exchange) or a
// timeout. The workspace patches it (patches/ssh2@1.17.0.patch); this checks the ident ssh2 reads.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Client } from 'ssh2';

const IDENT = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10';
let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Writes `text` one byte per event-loop turn, so the client reads it in as many pieces. */
async function dribble(socket: Socket, text: string): Promise<void> {
  for (const byte of Buffer.from(text)) {
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => socket.write(Buffer.of(byte), () => setTimeout(resolve, 1)));
  }
}

it.each([
  ['one byte per read', `${IDENT}\r\n`],
  ['one byte per read, after greeting lines', `Welcome\r\nauthorized use only\r\n${IDENT}\r\n`],
])('reads the whole identification line when it arrives %s', async (_name, banner) => {
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    void dribble(socket, banner).then(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const seen = await new Promise<string>((resolve, reject) => {
    const client = new Client();
    const done = (value: string): void => {
      client.end();
      resolve(value);
    };
    client.on('error', (error) => (/Remote ident/.test(String(error)) ? undefined : done(`error: ${error.message}`)));
    client.on('close', () => done('closed without an ident'));
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'nobody',
      readyTimeout: 20_000,
      debug: (line) => {
        const ident = /^Remote ident: '(.*)'$/.exec(line);
        if (ident) done(ident[1] as string);
      },
    });
    setTimeout(() => reject(new Error('no ident within 15 s')), 15_000).unref();
  });
  expect(seen).toBe(IDENT);
}, 20_000);
