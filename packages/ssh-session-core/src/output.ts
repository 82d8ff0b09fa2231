import { stripVTControlCharacters } from 'node:util';

/**
 * Cleans terminal output for a model or a program: `\r\n` → `\n`, ANSI/OSC sequences removed.
 * A lone `\r` (progress bars) is kept: only the caller knows whether to collapse it.
 */
export function cleanTerminalOutput(text: string): string {
  // The checks skip two whole-text regex passes on the common plain chunk (a profile of 100 MB
  // through the shell showed them at 3% of the client's time).
  const plain = text.includes('\u001b') || text.includes('\u009b') ? stripVTControlCharacters(text) : text;
  return plain.includes('\r') ? plain.replace(/\r+\n/g, '\n') : plain;
}

/** What an {@link OutputWindow} kept. */
export interface OutputSnapshot {
  /** The kept text: the whole output, or head + tail when bytes were dropped in between. */
  readonly text: string;
  /** Characters received in all. */
  readonly totalChars: number;
  /** Characters dropped between head and tail (0 when nothing was dropped). */
  readonly droppedChars: number;
}

/** A piece of output read by offset ({@link OutputWindow.read}). */
export interface OutputRead {
  readonly text: string;
  /** Offset of `text` in the whole output (later than asked when that part was dropped). */
  readonly offset: number;
  /** Where the next read continues. Equal to `totalChars` when everything was read. */
  readonly nextOffset: number;
  /** Characters between the asked offset and `offset` that were dropped (not kept). */
  readonly skippedChars: number;
  readonly totalChars: number;
}

/**
 * Bounded output: keeps the first `headChars` and a rolling last `tailChars`, counting exactly
 * what falls in between, so memory stays bounded whatever a command prints.
 */
export class OutputWindow {
  readonly #headChars: number;
  readonly #tailChars: number;
  #head = '';
  /** The tail as received chunks; joined only when read, so appending never copies it. */
  #tail: string[] = [];
  #tailLength = 0;
  #total = 0;

  constructor(limits: { readonly headChars: number; readonly tailChars: number }) {
    if (!(limits.headChars >= 0 && limits.tailChars >= 0)) throw new RangeError('headChars and tailChars must be ≥ 0');
    this.#headChars = limits.headChars;
    this.#tailChars = limits.tailChars;
  }

  append(text: string): void {
    this.#total += text.length;
    if (this.#head.length < this.#headChars) {
      const room = this.#headChars - this.#head.length;
      this.#head += text.slice(0, room);
      text = text.slice(room);
    }
    if (text.length === 0 || this.#tailChars === 0) return;
    this.#tail.push(text);
    this.#tailLength += text.length;
    // Drop whole chunks that lie entirely before the last tailChars (no string is copied).
    while (this.#tail.length > 1 && this.#tailLength - (this.#tail[0] as string).length >= this.#tailChars) {
      this.#tailLength -= (this.#tail.shift() as string).length;
    }
    // One huge chunk: keep only its end.
    if (this.#tailLength > this.#tailChars * 2) this.#keptTail();
  }

  /**
   * Up to `maxChars` characters from `offset` (counted over the whole output, dropped part
   * included). A read that starts in the dropped part continues at the tail and says how much
   * it skipped; a read never spans the gap.
   */
  read(offset: number, maxChars: number): OutputRead {
    const tail = this.#keptTail();
    const tailStart = this.#total - tail.length;
    let from = Math.max(0, Math.min(Math.floor(offset), this.#total));
    let skipped = 0;
    let text: string;
    if (from < this.#head.length) {
      text = this.#head.slice(from, from + maxChars);
      // Head and tail touch when nothing was dropped: continue into the tail.
      if (from + text.length === this.#head.length && tailStart === this.#head.length && text.length < maxChars) {
        text += tail.slice(0, maxChars - text.length);
      }
    } else {
      if (from < tailStart) {
        skipped = tailStart - from;
        from = tailStart;
      }
      text = tail.slice(from - tailStart, from - tailStart + maxChars);
    }
    return { text, offset: from, nextOffset: from + text.length, skippedChars: skipped, totalChars: this.#total };
  }

  /** Characters received in all, without copying anything. */
  get totalChars(): number {
    return this.#total;
  }

  /** Characters kept (head + tail), without copying them. */
  get keptChars(): number {
    return this.#head.length + Math.min(this.#tailLength, this.#tailChars);
  }

  /** A copy keeping less: the first `headChars` and the last `tailChars` (offsets unchanged). */
  shrunk(limits: { readonly headChars: number; readonly tailChars: number }): OutputWindow {
    const copy = new OutputWindow(limits);
    const tail = this.#keptTail();
    copy.#head = this.#head.slice(0, limits.headChars);
    let copyTail = limits.tailChars === 0 ? '' : tail.slice(-limits.tailChars);
    copy.#total = this.#total;
    if (this.#total === this.#head.length + tail.length) {
      // Nothing dropped yet: what the smaller head no longer holds may still belong in the tail.
      const whole = this.#head + tail;
      copyTail = limits.tailChars === 0 ? '' : whole.slice(Math.max(copy.#head.length, whole.length - limits.tailChars));
    }
    copy.#tail = copyTail === '' ? [] : [copyTail];
    copy.#tailLength = copyTail.length;
    return copy;
  }

  #keptTail(): string {
    if (this.#tail.length === 1 && this.#tailLength <= this.#tailChars) return this.#tail[0] as string;
    if (this.#tail.length === 0) return '';
    const joined = this.#tail.length > 1 ? this.#tail.join('') : (this.#tail[0] as string);
    const tail = joined.length > this.#tailChars ? joined.slice(joined.length - this.#tailChars) : joined;
    this.#tail = [tail];
    this.#tailLength = tail.length;
    return tail;
  }

  snapshot(): OutputSnapshot {
    const tail = this.#keptTail();
    const dropped = this.#total - this.#head.length - tail.length;
    return { text: this.#head + tail, totalChars: this.#total, droppedChars: dropped };
  }
}
