import { describe, expect, it } from 'vitest';
import { keysToInput, TerminalScreen } from '../src/index';

describe('keysToInput', () => {
  it('turns key names into terminal bytes and leaves other text alone', () => {
    expect(keysToInput('iHello<esc>:wq<Enter>')).toBe('iHello\x1b:wq\r');
    expect(keysToInput('<up><DOWN><left><right><tab><space><backspace>')).toBe('\x1b[A\x1b[B\x1b[D\x1b[C\t \x7f');
    expect(keysToInput('<ctrl-c><ctrl-d><Ctrl-Z><c-a><ctrl-[>')).toBe('\x03\x04\x1a\x01\x1b');
    expect(keysToInput('<pgdn><f1><f12>')).toBe('\x1b[6~\x1bOP\x1b[24~');
    expect(keysToInput('echo <div> a<b <ctrl-1>')).toBe('echo <div> a<b <ctrl-1>');
  });
});

describe('TerminalScreen', () => {
  it('renders what a full-screen program draws, and keeps only the bottom lines when asked', async () => {
    const screen = new TerminalScreen(10, 4);
    screen.write('\x1b[?1049h\x1b[H\x1b[2Jtop\r\nmiddle\x1b[4;1Hbottom\x1b[2;3H');
    await expect(screen.snapshot()).resolves.toEqual({
      fullScreen: true,
      lines: ['top', 'middle', '', 'bottom'],
      cursorX: 2,
      cursorY: 1,
      width: 10,
      height: 4,
    });
    await expect(screen.snapshot(2)).resolves.toMatchObject({ lines: ['', 'bottom'] });
    screen.write('\x1b[?1049l');
    await expect(screen.snapshot()).resolves.toMatchObject({ fullScreen: false });
    screen.dispose();
  });
});
