import { describe, expect, it } from 'vitest';
import { cleanTerminalOutput, OutputWindow } from '../src/index';

describe('cleanTerminalOutput', () => {
  it('turns CRLF into LF and removes ANSI and OSC sequences, keeping a lone CR', () => {
    expect(cleanTerminalOutput('a\r\nb\r\r\n\x1b[1;31mred\x1b[0m\x1b]0;title\x07 50%\rdone')).toBe('a\nb\nred 50%\rdone');
  });
});

describe('OutputWindow', () => {
  it('keeps everything under the caps', () => {
    const window = new OutputWindow({ headChars: 10, tailChars: 10 });
    window.append('hello ');
    window.append('world');
    expect(window.snapshot()).toEqual({ text: 'hello world', totalChars: 11, droppedChars: 0 });
  });

  it('keeps head and rolling tail and counts exactly what was dropped', () => {
    const window = new OutputWindow({ headChars: 3, tailChars: 4 });
    const all = 'abcdefghijklmnopqrstuvwxyz'.repeat(100);
    for (let i = 0; i < all.length; i += 7) window.append(all.slice(i, i + 7));
    expect(window.snapshot()).toEqual({ text: `abc${all.slice(-4)}`, totalChars: all.length, droppedChars: all.length - 7 });
  });
});
