/** A whole escape sequence at the start: CSI, OSC (ended by BEL or ST), a charset or SS3 one, or a two-character one. */
const ESCAPE = /^\x1b(?:\[([0-?]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+#%O][^]|[^[\]()*+#%O])/;

/**
 * Device output as a terminal would show it, line by line: carriage returns, backspaces and the
 * cursor movements devices use to repaint (`ESC[42D`, `ESC[K`) overwrite what they cover, colour
 * and other sequences vanish, and a sequence split across packets waits for its end. Lines that
 * were repainted lose the trailing blanks the repaint left.
 */
export class TerminalLines {
  #done: string[] = [];
  #line: string[] = [];
  #col = 0;
  #repainted = false;
  #pending = '';

  /** Feeds raw output. */
  feed(text: string): void {
    const input = this.#pending + text;
    this.#pending = '';
    for (let i = 0; i < input.length; i++) {
      const ch = input[i] as string;
      if (ch === '\x1b') {
        const rest = input.slice(i, i + 256);
        const match = ESCAPE.exec(rest);
        if (!match) {
          // Cut by a packet boundary: wait for the rest (a stray ESC is dropped).
          if (rest.length < 256 && i + rest.length === input.length) this.#pending = rest;
          if (this.#pending) return;
          continue;
        }
        this.#csi(match[1], match[2]);
        i += match[0].length - 1;
      } else if (ch === '\n') {
        this.#finish();
      } else if (ch === '\r') {
        this.#col = 0;
      } else if (ch === '\b') {
        if (this.#col > 0) this.#col--;
        this.#repainted = true;
      } else if (ch >= ' ' || ch === '\t') {
        if (this.#col < this.#line.length) {
          if (this.#line[this.#col] !== ch) this.#repainted = true;
          this.#line[this.#col] = ch;
        } else {
          while (this.#line.length < this.#col) this.#line.push(' ');
          this.#line.push(ch);
        }
        this.#col++;
      }
      // Other control characters (BEL, NUL) do not print.
    }
  }

  /** Completed lines since the last call, oldest first. */
  takeLines(): string[] {
    const lines = this.#done;
    this.#done = [];
    return lines;
  }

  /** The line being written (the prompt, once a command is done). */
  get current(): string {
    return this.#line.join('');
  }

  /** Forgets the line being written (a pager prompt that was answered). */
  clearCurrent(): void {
    this.#line = [];
    this.#col = 0;
    this.#repainted = true;
  }

  #finish(): void {
    const line = this.#line.join('');
    this.#done.push(this.#repainted ? line.trimEnd() : line);
    this.#line = [];
    this.#col = 0;
    this.#repainted = false;
  }

  #csi(params: string | undefined, final: string | undefined): void {
    if (params === undefined || final === undefined) return;
    const n = Number.parseInt(params, 10);
    const count = Number.isNaN(n) || n < 1 ? 1 : n;
    if (final === 'D') {
      this.#col = Math.max(0, this.#col - count);
      this.#repainted = true;
    } else if (final === 'C') {
      this.#col += count;
    } else if (final === 'G') {
      this.#col = count - 1;
      this.#repainted = true;
    } else if (final === 'K') {
      // 0 (default): to the end of the line; 1: to the cursor; 2: the whole line.
      if (params === '' || params === '0') this.#line.length = Math.min(this.#line.length, this.#col);
      else if (params === '2') this.#line = [];
      else for (let i = 0; i < Math.min(this.#col, this.#line.length); i++) this.#line[i] = ' ';
      this.#repainted = true;
    }
  }
}
