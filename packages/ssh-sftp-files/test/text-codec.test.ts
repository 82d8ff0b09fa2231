// decodeText / encodeContent against Python's bytes.decode / str.encode (the reference is Python):
// every expected value below is what CPython 3.11 gives for the same input and errors.
import { describe, expect, it } from 'vitest';
import { decodeText, encodeContent } from '../src/index';

const bytes = (...values: number[]): Buffer => Buffer.from(values);
const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];

describe('decodeText (bytes.decode(encoding, errors))', () => {
  it.each([
    // bytes, encoding, replace (invalid sequences), ignore, strict: offset of the first invalid byte
    [bytes(...ascii('caf'), 0xe9, ...ascii(' x')), 'utf-8', 'caf\uFFFD x', 1, 'caf x', 3],
    [bytes(0x61, 0xe2, 0x82, 0x62), 'utf-8', 'a\uFFFDb', 1, 'ab', 1],
    // a genuine U+FFFD stays, the invalid byte after it is the one replaced or dropped
    [bytes(0xef, 0xbf, 0xbd, 0xff), 'utf-8', '\uFFFD\uFFFD', 1, '\uFFFD', 3],
    [bytes(0x61, 0x00, 0x00, 0xd8, 0x62, 0x00), 'utf16le', 'a\uFFFDb', 1, 'ab', 2],
    [bytes(0x61, 0x00, 0x62), 'utf16le', 'a\uFFFD', 1, 'a', 2],
    [bytes(...ascii('hi'), 0xe9, 0xff), 'ascii', 'hi\uFFFD\uFFFD', 2, 'hi', 2],
  ] as const)('%o as %s: replace, ignore, and strict naming the offset', (input, encoding, replaced, invalid, ignored, offset) => {
    expect(decodeText(input, encoding, 'replace')).toEqual({ text: replaced, invalid });
    expect(decodeText(input, encoding, 'ignore')).toEqual({ text: ignored, invalid });
    expect(() => decodeText(input, encoding, 'strict', { what: 'read /f' })).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED', details: { encoding, offset }, message: expect.stringMatching(/^read \/f: not valid/) as unknown }),
    );
  });

  it('decodes valid text unchanged whatever errors says, keeping a BOM as Python does', () => {
    const text = '\uFEFFhé ✓ 😀 \uFFFD';
    for (const errors of ['strict', 'replace', 'ignore'] as const) {
      expect(decodeText(Buffer.from(text, 'utf8'), 'utf-8', errors)).toEqual({ text, invalid: 0 });
      expect(decodeText(Buffer.from(text, 'utf16le'), 'utf16le', errors)).toEqual({ text, invalid: 0 });
    }
    expect(decodeText(bytes(0x63, 0xe9, 0xff), 'latin1', 'strict')).toEqual({ text: 'c\u00e9\u00ff', invalid: 0 });
  });

  it('leaves out a character cut by a truncated read (stream) instead of calling it invalid', () => {
    const cut = Buffer.from('ab✓', 'utf8').subarray(0, 4);
    expect(decodeText(cut, 'utf-8', 'strict', { stream: true })).toEqual({ text: 'ab', invalid: 0 });
    expect(decodeText(cut, 'utf-8', 'replace')).toEqual({ text: 'ab\uFFFD', invalid: 1 });
  });
});

describe('encodeContent (str.encode(encoding, errors))', () => {
  it.each([
    ['a\uD800b', 'utf-8', [0x61, 0x3f, 0x62], [0x61, 0x62], 1, 0xd800],
    ['café €', 'latin1', [...ascii('caf'), 0xe9, 0x20, 0x3f], [...ascii('caf'), 0xe9, 0x20], 5, 0x20ac],
    ['café', 'ascii', ascii('caf?'), ascii('caf'), 3, 0xe9],
    ['x😀y', 'latin1', ascii('x?y'), ascii('xy'), 1, 0x1f600],
    ['a\uDC00', 'utf16le', [0x61, 0x00, 0x3f, 0x00], [0x61, 0x00], 1, 0xdc00],
  ] as const)('%j as %s: ? for replace, dropped for ignore, ENCODE_FAILED for strict', (text, encoding, replaced, ignored, index, codePoint) => {
    expect([...encodeContent(text, encoding, 'replace')]).toEqual(replaced);
    expect([...encodeContent(text, encoding, 'ignore')]).toEqual(ignored);
    expect(() => encodeContent(text, encoding, 'strict')).toThrow(expect.objectContaining({ code: 'ENCODE_FAILED', details: { encoding, index, codePoint } }));
    expect(() => encodeContent(text, encoding)).toThrow(expect.objectContaining({ code: 'ENCODE_FAILED' }));
  });

  it('takes base64 and hex as the bytes themselves, and refuses malformed ones', () => {
    expect([...encodeContent('AAEC/w==', 'base64')]).toEqual([0, 1, 2, 255]);
    expect([...encodeContent('00 01 ff', 'hex')]).toEqual([0, 1, 255]);
    expect(() => encodeContent('not base64!', 'base64')).toThrow(TypeError);
    expect(() => encodeContent('abc', 'hex')).toThrow(TypeError);
    expect(() => encodeContent('x', 'utf-8', 'surrogateescape' as never)).toThrow(TypeError);
  });
});
