// ssh2 1.17.0's parseHeader keeps only the first buffered piece of the server's identification
// line and drops the later ones, so an ident that arrives in 3 or more reads (a slow link, tiny
// segments, greeting lines written apart) fails the handshake: "Invalid identification string",
// "signature verification failed" (a wrong ident in the key exchange hash) or a timeout. The
// workspace patches ssh2 (patches/ssh2@1.17.0.patch), but a user installing ssh-session-core from
// npm gets the unpatched ssh2. This guard hands ssh2 the whole preamble in one 'data' event, so
// the bug cannot bite with either.
//
// It wraps the transport's `emit`, not the stream: every listener of a Readable (a net.Socket or
// an ssh2 channel) is reached through `emit('data', …)`, so ssh2 sees the same object, with its
// own connect, pause/resume, write, end, destroy and error paths untouched. Once the ident line
// is through, the instance's own `emit` is put back: later bytes pass without a copy or a call.
import type { EventEmitter } from 'node:events';

/** Preamble bytes held at most (greeting lines may be long); past this, bytes pass as they come. */
export const IDENT_GUARD_MAX_BYTES = 64 * 1024;

const PREFIX = Buffer.from('SSH-', 'latin1');
const LF = 0x0a;

/**
 * Holds the transport's 'data' until the first line starting with `SSH-` has ended (lines before
 * it are greeting lines, RFC 4253 §4.2), then emits everything held as one chunk. An 'end',
 * 'close' or 'error' first emits what is held. Returns `stream`.
 */
export function guardIdentLine<T extends EventEmitter>(stream: T, maxBytes = IDENT_GUARD_MAX_BYTES): T {
  const hadOwnEmit = Object.hasOwn(stream, 'emit');
  const original = stream.emit;
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  // Bytes of "SSH-" matched at the start of the current line; -1 once the line is something else.
  let matched = 0;
  let done = false;

  /** Whether `chunk` ends the ident line; carries the line state across chunks. */
  const endsIdent = (chunk: Buffer): boolean => {
    for (let at = 0; at < chunk.length; at++) {
      const byte = chunk[at];
      if (byte === LF) {
        if (matched === PREFIX.length) return true;
        matched = 0;
      } else if (matched >= 0 && matched < PREFIX.length) {
        matched = byte === PREFIX[matched] ? matched + 1 : -1;
      }
    }
    return false;
  };

  /** Stops guarding: restores `emit` (unless someone wrapped it since) and emits what is held. */
  const release = (): void => {
    done = true;
    if (stream.emit === guarded) {
      if (hadOwnEmit) stream.emit = original;
      else delete (stream as { emit?: unknown }).emit;
    }
    if (pendingBytes === 0) return;
    const held = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    pendingBytes = 0;
    original.call(stream, 'data', held);
  };

  const guarded = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (done) return original.call(stream, event, ...args);
    if (event !== 'data') {
      if (event === 'end' || event === 'close' || event === 'error') release();
      return original.call(stream, event, ...args);
    }
    const chunk = args[0];
    // Text (setEncoding was called) is not a transport ssh2 reads: leave it alone.
    if (!Buffer.isBuffer(chunk)) {
      release();
      return original.call(stream, event, ...args);
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (endsIdent(chunk) || pendingBytes >= maxBytes) release();
    return stream.listenerCount('data') > 0;
  }) as T['emit'];

  stream.emit = guarded;
  return stream;
}
