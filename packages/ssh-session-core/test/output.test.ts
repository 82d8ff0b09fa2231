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

describe('OutputWindow.read', () => {
  it('reads by offset across head and tail when nothing was dropped', () => {
    const window = new OutputWindow({ headChars: 4, tailChars: 100 });
    window.append('0123456789');
    expect(window.read(0, 6)).toEqual({ text: '012345', offset: 0, nextOffset: 6, skippedChars: 0, totalChars: 10 });
    expect(window.read(6, 100)).toEqual({ text: '6789', offset: 6, nextOffset: 10, skippedChars: 0, totalChars: 10 });
    expect(window.read(10, 5)).toEqual({ text: '', offset: 10, nextOffset: 10, skippedChars: 0, totalChars: 10 });
  });

  it('stops at the dropped gap, then skips it and says how much', () => {
    const window = new OutputWindow({ headChars: 3, tailChars: 4 });
    window.append('abcdefghijklmnopqrstuvwxyz');
    expect(window.read(1, 10)).toMatchObject({ text: 'bc', nextOffset: 3, skippedChars: 0 });
    expect(window.read(3, 10)).toEqual({ text: 'wxyz', offset: 22, nextOffset: 26, skippedChars: 19, totalChars: 26 });
  });

  it('shrinks to a smaller window with the same offsets', () => {
    const window = new OutputWindow({ headChars: 100, tailChars: 100 });
    window.append('abcdefghijklmnopqrstuvwxyz');
    const small = window.shrunk({ headChars: 2, tailChars: 3 });
    expect(small.snapshot()).toEqual({ text: 'abxyz', totalChars: 26, droppedChars: 21 });
    expect(small.read(0, 100)).toMatchObject({ text: 'ab', nextOffset: 2 });
    expect(small.read(2, 100)).toMatchObject({ text: 'xyz', offset: 23, skippedChars: 21 });
    expect(window.shrunk({ headChars: 20, tailChars: 20 }).snapshot()).toEqual({ text: 'abcdefghijklmnopqrstuvwxyz', totalChars: 26, droppedChars: 0 });
  });
});

describe('OutputWindow.keptChars', () => {
  it('counts head and kept tail', () => {
    const window = new OutputWindow({ headChars: 3, tailChars: 4 });
    window.append('ab');
    expect(window.keptChars).toBe(2);
    window.append('cdefghijkl');
    expect(window.keptChars).toBe(7);
  });
});

describe('OutputWindow.totalChars', () => {
  it('counts everything received, and matches the snapshot without copying', () => {
    const window = new OutputWindow({ headChars: 3, tailChars: 4 });
    window.append('abcdefghijkl');
    const snapshot = window.snapshot();
    expect(window.totalChars).toBe(snapshot.totalChars);
    expect(window.totalChars - window.keptChars).toBe(snapshot.droppedChars);
  });
});
