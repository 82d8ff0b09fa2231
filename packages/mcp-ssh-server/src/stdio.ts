// The stdio transport: newline-delimited JSON-RPC on stdin/stdout, as the MCP SDK's
// StdioServerTransport, with two differences that matter for big messages (a write_file of tens
// of MB): a line is assembled from its chunks once (the SDK concatenates the whole buffer on every
// 64 KB chunk, quadratic: 40 MB took over 30 s), and a message over the limit is skipped and
// answered with a JSON-RPC error instead of closing the pipe (the SDK closes it, and the server
// would exit without a word).
import type { Readable, Writable } from 'node:stream';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const NEWLINE = 0x0a;
/** Bytes kept from each end of a skipped message, to find its id. */
const EDGE_BYTES = 512;

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Skipping an oversized line: its first and last bytes, to answer its id. */
  #skipping: { head: Buffer; tail: Buffer; size: number } | undefined;
  #closed = false;
  #started = false;

  constructor(options: { stdin?: Readable; stdout?: Writable; maxMessageBytes: number }) {
    this.#stdin = options.stdin ?? process.stdin;
    this.#stdout = options.stdout ?? process.stdout;
    this.#maxBytes = options.maxMessageBytes;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('LineStdioTransport already started');
    this.#started = true;
    this.#stdin.on('data', this.#onData);
    this.#stdin.on('error', this.#onError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stdout.write(serializeMessage(message))) resolve();
      else this.#stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stdin.off('data', this.#onData);
    this.#stdin.off('error', this.#onError);
    if (this.#stdin.listenerCount('data') === 0) this.#stdin.pause();
    this.#chunks = [];
    this.#size = 0;
    this.#skipping = undefined;
    this.onclose?.();
  }

  readonly #onError = (error: Error): void => this.onerror?.(error);

  readonly #onData = (chunk: Buffer): void => {
    let rest = chunk;
    for (let newline = rest.indexOf(NEWLINE); newline >= 0; newline = rest.indexOf(NEWLINE)) {
      this.#take(rest.subarray(0, newline));
      this.#endLine();
      rest = rest.subarray(newline + 1);
    }
    if (rest.length > 0) this.#take(rest);
  };

  /** Adds part of the current line, switching to skipping once it passes the limit. */
  #take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.#skipping === undefined && this.#size + part.length > this.#maxBytes) {
      // Keep copies of the first and last bytes held so far (the id may sit in either), not the line.
      this.#skipping = { head: edge(this.#chunks, 'head'), tail: edge(this.#chunks, 'tail'), size: this.#size };
      this.#chunks = [];
      this.#size = 0;
    }
    if (this.#skipping !== undefined) {
      const skipping = this.#skipping;
      skipping.size += part.length;
      if (skipping.head.length < EDGE_BYTES) skipping.head = Buffer.concat([skipping.head, part.subarray(0, EDGE_BYTES - skipping.head.length)]);
      const tail = Buffer.concat([skipping.tail, part]);
      skipping.tail = tail.subarray(Math.max(0, tail.length - EDGE_BYTES));
      return;
    }
    this.#chunks.push(part);
    this.#size += part.length;
  }

  #endLine(): void {
    if (this.#skipping !== undefined) {
      const { head, tail, size } = this.#skipping;
      this.#skipping = undefined;
      this.#refuseOversized(head, tail, size);
      return;
    }
    const line = (this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size)).toString('utf8').replace(/\r$/, '');
    this.#chunks = [];
    this.#size = 0;
    if (line.trim() === '') return;
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (error) {
      this.onerror?.(new Error(`ignored a stdin line that is not a JSON-RPC message: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`));
      return;
    }
    this.onmessage?.(message);
  }

  /** Answers a request too large to read with an error for its id (found at either end), and goes on. */
  #refuseOversized(head: Buffer, tail: Buffer, size: number): void {
    // The SDK's clients put the id last; others first, after "jsonrpc".
    const id = '"id"\\s*:\\s*(-?\\d+|"(?:[^"\\\\]|\\\\.){0,200}")';
    const found = new RegExp(`,\\s*${id}\\s*\\}\\s*$`).exec(tail.toString('utf8')) ?? new RegExp(`^\\s*\\{\\s*(?:"jsonrpc"\\s*:\\s*"2\\.0"\\s*,\\s*)?${id}`).exec(head.toString('utf8'));
    const text = `message of ${size} bytes is over the server's limit of ${this.#maxBytes} bytes: not read`;
    this.onerror?.(new Error(text));
    if (found === null) return;
    let requestId: string | number;
    try {
      requestId = JSON.parse(found[1] as string) as string | number;
    } catch {
      return;
    }
    void this.send({ jsonrpc: '2.0', id: requestId, error: { code: -32600, message: text } });
  }
}

/** A copy of the first or last {@link EDGE_BYTES} of a list of chunks. */
function edge(chunks: readonly Buffer[], end: 'head' | 'tail'): Buffer {
  const picked: Buffer[] = [];
  let size = 0;
  const ordered = end === 'head' ? chunks : [...chunks].reverse();
  for (const chunk of ordered) {
    if (size >= EDGE_BYTES) break;
    const part = end === 'head' ? chunk.subarray(0, EDGE_BYTES - size) : chunk.subarray(Math.max(0, chunk.length - (EDGE_BYTES - size)));
    picked.push(part);
    size += part.length;
  }
  return Buffer.from(Buffer.concat(end === 'head' ? picked : picked.reverse()));
}
