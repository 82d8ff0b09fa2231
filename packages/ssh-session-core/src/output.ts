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

  snapshot(): OutputSnapshot {
    const tail = this.#tail.length > this.#tailChars ? this.#tail.slice(this.#tail.length - this.#tailChars) : this.#tail;
    const dropped = this.#total - this.#head.length - tail.length;
    return { text: this.#head + tail, totalChars: this.#total, droppedChars: dropped };
  }
}
