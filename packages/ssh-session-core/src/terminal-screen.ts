import * as xtermModule from '@xterm/headless';

// @xterm/headless is CommonJS flagged `__esModule` without a default export: under Node's ESM the
// namespace holds it as `default`; under a CJS build it is the namespace itself. Take either.
const { Terminal } = ((xtermModule as { default?: typeof xtermModule }).default ?? xtermModule) as typeof xtermModule;

/** What a full-screen program (vim, less, top) shows, as text. */
export interface ScreenSnapshot {
  /** True while a full-screen program holds the terminal (alternate screen or keypad mode). */
  readonly fullScreen: boolean;
  /** Visible lines, top to bottom, trailing blanks trimmed (at most the `maxLines` asked for: the bottom ones). */
  readonly lines: readonly string[];
  readonly cursorX: number;
  readonly cursorY: number;
  readonly width: number;
  readonly height: number;
}

/**
 * A full-screen program switching the terminal: the alternate screen (DEC private modes 1049,
 * 1047, 47: `smcup`/`rmcup`; vim, less) — group 1 and `h`/`l` in group 2 — or keypad transmit
 * mode (`smkx`/`rmkx`: `ESC[?1h ESC=` / `ESC[?1l ESC>`; top uses only this) — `h`/`l` in group 3.
 */
export const SCREEN_SWITCH = /\x1b\[\?(?:\d+;)*(1049|1047|47)(?:;\d+)*([hl])|\x1b\[\?1([hl])\x1b[=>]/g;

/**
 * A real terminal emulator (`@xterm/headless`) fed with what a full-screen program draws, so the
 * screen can be read back as text. Created on first use.
 */
export class TerminalScreen {
  readonly #terminal: InstanceType<typeof Terminal>;

  constructor(cols: number, rows: number) {
    this.#terminal = new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
  }

  write(raw: string): void {
    this.#terminal.write(raw);
  }

  /** The screen once everything written so far is parsed. */
  async snapshot(maxLines?: number): Promise<ScreenSnapshot> {
    await new Promise<void>((resolve) => this.#terminal.write('', resolve));
    const buffer = this.#terminal.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < this.#terminal.rows; y++) {
      lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
    }
    return {
      fullScreen: buffer.type === 'alternate' || this.#terminal.modes.applicationCursorKeysMode,
      lines: maxLines !== undefined && maxLines < lines.length ? lines.slice(lines.length - Math.max(0, maxLines)) : lines,
      cursorX: buffer.cursorX,
      cursorY: buffer.cursorY,
      width: this.#terminal.cols,
      height: this.#terminal.rows,
    };
  }

  dispose(): void {
    this.#terminal.dispose();
  }
}

const NAMED_KEYS: Readonly<Record<string, string>> = {
  enter: '\r',
  return: '\r',
  esc: '\x1b',
  escape: '\x1b',
  tab: '\t',
  space: ' ',
  backspace: '\x7f',
  bs: '\x7f',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  pgup: '\x1b[5~',
  pageup: '\x1b[5~',
  pgdn: '\x1b[6~',
  pagedown: '\x1b[6~',
  insert: '\x1b[2~',
  delete: '\x1b[3~',
  del: '\x1b[3~',
  f1: '\x1bOP',
  f2: '\x1bOQ',
  f3: '\x1bOR',
  f4: '\x1bOS',
  f5: '\x1b[15~',
  f6: '\x1b[17~',
  f7: '\x1b[18~',
  f8: '\x1b[19~',
  f9: '\x1b[20~',
  f10: '\x1b[21~',
  f11: '\x1b[23~',
  f12: '\x1b[24~',
};

/** Arrows, Home and End in application cursor mode (`smkx`). */
const APPLICATION_CURSOR_KEYS: Readonly<Record<string, string>> = {
  up: '\x1bOA',
  down: '\x1bOB',
  right: '\x1bOC',
  left: '\x1bOD',
  home: '\x1bOH',
  end: '\x1bOF',
};

/**
 * Turns a key description into the bytes a terminal sends: literal text, plus names in angle
 * brackets (case-insensitive) — `<enter>`, `<esc>`, `<tab>`, `<space>`, `<backspace>`, arrows
 * (`<up>`…), `<home>`, `<end>`, `<pgup>`, `<pgdn>`, `<delete>`, `<f1>`…`<f12>`, and `<ctrl-X>`
 * for any letter (also `<ctrl-[>`, `<ctrl-\>`). Anything else in brackets is sent as typed
 * (`<div>` stays `<div>`). With `applicationCursor` (a program switched the terminal to keypad
 * mode) arrows, Home and End are sent in their SS3 form (`ESC O A`), as a terminal would.
 */
export function keysToInput(keys: string, options: { readonly applicationCursor?: boolean } = {}): string {
  return keys.replace(/<([^<>\s]{1,12})>/g, (whole, name: string) => {
    const lower = name.toLowerCase();
    const named = (options.applicationCursor ? APPLICATION_CURSOR_KEYS[lower] : undefined) ?? NAMED_KEYS[lower];
    if (named !== undefined) return named;
    const ctrl = /^(?:ctrl|c)-(.)$/.exec(lower);
    if (ctrl) {
      const code = (ctrl[1] ?? '').toUpperCase().charCodeAt(0);
      if (code >= 0x40 && code <= 0x5f) return String.fromCharCode(code - 0x40);
    }
    return whole;
  });
}
