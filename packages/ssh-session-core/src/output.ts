import { stripVTControlCharacters } from 'node:util';

/**
 * Cleans terminal output for a model or a program: `\r\n` → `\n`, ANSI/OSC sequences removed.
 * A lone `\r` (progress bars) is kept: only the caller knows whether to collapse it.
 */
export function cleanTerminalOutput(text: string): string {
  return stripVTControlCharacters(text).replace(/\r+\n/g, '\n');
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
  #tail = '';
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
    if (text.length === 0) return;
    this.#tail += text;
    // Trim lazily (at twice the cap) so appending many small chunks stays linear.
    if (this.#tail.length > this.#tailChars * 2 || this.#tail.length > this.#tailChars + 1_048_576) {
      this.#tail = this.#tail.slice(this.#tail.length - this.#tailChars);
    }
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
    return this.#head.length + Math.min(this.#tail.length, this.#tailChars);
  }

  /** A copy keeping less: the first `headChars` and the last `tailChars` (offsets unchanged). */
  shrunk(limits: { readonly headChars: number; readonly tailChars: number }): OutputWindow {
    const copy = new OutputWindow(limits);
    const tail = this.#keptTail();
    copy.#head = this.#head.slice(0, limits.headChars);
    copy.#tail = limits.tailChars === 0 ? '' : tail.slice(-limits.tailChars);
    copy.#total = this.#total;
    if (this.#total === this.#head.length + tail.length) {
      // Nothing dropped yet: what the smaller head no longer holds may still belong in the tail.
      const whole = this.#head + tail;
      copy.#tail = limits.tailChars === 0 ? '' : whole.slice(Math.max(copy.#head.length, whole.length - limits.tailChars));
    }
    return copy;
  }

  #keptTail(): string {
    return this.#tail.length > this.#tailChars ? this.#tail.slice(this.#tail.length - this.#tailChars) : this.#tail;
  }

  snapshot(): OutputSnapshot {
    const tail = this.#keptTail();
    const dropped = this.#total - this.#head.length - tail.length;
    return { text: this.#head + tail, totalChars: this.#total, droppedChars: dropped };
  }
}
