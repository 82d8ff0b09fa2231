// LineStdioTransport: newline-delimited JSON-RPC assembled across chunks in linear time, bad lines
// reported and skipped, an oversized message answered with an error for its id, never a closed pipe.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LineStdioTransport } from '../src/stdio';

function setup(maxMessageBytes = 1024) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const transport = new LineStdioTransport({ stdin, stdout, maxMessageBytes });
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  const written: string[] = [];
  transport.onmessage = (message) => messages.push(message);
  transport.onerror = (error) => errors.push(error.message);
  stdout.on('data', (chunk: Buffer) => written.push(chunk.toString('utf8')));
  return { stdin, transport, messages, errors, written };
}

const request = (id: number | string, extra = ''): string => JSON.stringify({ jsonrpc: '2.0', method: 'ping', params: { pad: extra }, id });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LineStdioTransport', () => {
  it('assembles messages split anywhere across chunks, several per chunk, with CRLF', async () => {
    const { stdin, transport, messages, errors } = setup();
    await transport.start();
    const text = `${request(1)}\r\n${request(2)}\n\n${request(3)}\n`;
    for (let at = 0; at < text.length; at += 7) stdin.write(text.slice(at, at + 7));
    await flush();
    expect(messages.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3]);
    expect(errors).toEqual([]);
  });

  it('reports a line that is not JSON-RPC and reads the next one', async () => {
    const { stdin, transport, messages, errors } = setup();
    await transport.start();
    stdin.write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`\n{"not":"rpc"}\n${request(4)}\n`)]));
    await flush();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/not a JSON-RPC message/);
    expect(messages.map((m) => (m as { id: number }).id)).toEqual([4]);
  });

  it('skips an oversized message, answers its id (at the end or the start) with an error, and goes on', async () => {
    const { stdin, transport, messages, errors, written } = setup(1024);
    await transport.start();
    stdin.write(`${request(7, 'x'.repeat(5000))}\n`);
    stdin.write(`{"jsonrpc":"2.0","id":"first","method":"ping","params":{"pad":"${'y'.repeat(3000)}"}}\n`);
    stdin.write(`${request(8)}\n`);
    await flush();
    expect(messages.map((m) => (m as { id: number }).id)).toEqual([8]);
    expect(errors).toEqual([expect.stringMatching(/message of 50\d\d bytes is over the server's limit of 1024 bytes/), expect.stringMatching(/over the server's limit/)]);
    const replies = written.join('').trim().split('\n').map((line) => JSON.parse(line) as { id: unknown; error: { code: number } });
    expect(replies.map((r) => [r.id, r.error.code])).toEqual([[7, -32600], ['first', -32600]]);
  });

  it('answers the id even when the limit is crossed by a last fragment shorter than the id', async () => {
    const { stdin, transport, written, messages } = setup(1024);
    await transport.start();
    const line = request(12, 'p'.repeat(1026 - request(12, '').length)); // 1026 bytes
    // Everything but the last 3 bytes (`12}`) fits; those 3 cross the limit.
    const cut = line.length - 3;
    expect(cut).toBeLessThanOrEqual(1024);
    expect(line.length).toBeGreaterThan(1024);
    stdin.write(line.slice(0, cut));
    stdin.write(`${line.slice(cut)}\n${request(13)}\n`);
    await flush();
    expect(JSON.parse(written.join('').trim()) as unknown).toMatchObject({ id: 12, error: { code: -32600 } });
    expect(messages.map((m) => (m as { id: number }).id)).toEqual([13]);
  });

  it('takes a 40 MB message in linear time', async () => {
    const { stdin, transport, messages } = setup(96 * 1024 * 1024);
    await transport.start();
    const big = Buffer.from(`${request(9, 'z'.repeat(40 * 1024 * 1024))}\n`);
    const start = performance.now();
    for (let at = 0; at < big.length; at += 65_536) stdin.write(big.subarray(at, at + 65_536));
    await flush();
    expect(messages).toHaveLength(1);
    // Quadratic assembly (the SDK's) takes tens of seconds here; linear takes well under one.
    expect(performance.now() - start).toBeLessThan(5_000);
  });

  it('sends newline-delimited JSON and closes once', async () => {
    const { transport, written } = setup();
    let closed = 0;
    transport.onclose = () => closed++;
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} });
    await transport.close();
    await transport.close();
    expect(written.join('')).toBe('{"jsonrpc":"2.0","id":1,"result":{}}\n');
    expect(closed).toBe(1);
  });
});
