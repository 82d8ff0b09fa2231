import { SftpFileError } from './errors';

/** How text content is encoded; `base64` and `hex` carry bytes. */
export type ContentEncoding = 'utf-8' | 'utf8' | 'latin1' | 'ascii' | 'utf16le' | 'base64' | 'hex';

/**
 * What to do with what an encoding cannot represent, as Python's `errors` of `bytes.decode` and
 * `str.encode`: `strict` fails (`DECODE_FAILED` / `ENCODE_FAILED`), `replace` puts U+FFFD in
 * decoded text and `?` in encoded bytes, `ignore` drops it.
 */
export type EncodingErrors = 'strict' | 'replace' | 'ignore';

/** Text decoded from bytes, and how many invalid sequences were replaced or dropped. */
export interface DecodedText {
  readonly text: string;
  /** Invalid sequences replaced (`replace`) or dropped (`ignore`); 0 for `strict`, which fails instead. */
  readonly invalid: number;
}

const ERRORS: ReadonlySet<string> = new Set(['strict', 'replace', 'ignore']);
const ENCODINGS: ReadonlySet<string> = new Set(['utf-8', 'utf8', 'latin1', 'ascii', 'utf16le', 'base64', 'hex']);

/** A surrogate without its other half: no UTF encoding can carry it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Characters (code points) each encoding cannot carry. */
const UNENCODABLE: Readonly<Record<'utf8' | 'utf16le' | 'latin1' | 'ascii', RegExp>> = {
  utf8: LONE_SURROGATE,
  utf16le: LONE_SURROGATE,
  latin1: /[^\0-\xff]/gu,
  ascii: /[^\0-\x7f]/gu,
};

/**
 * Text → bytes in `encoding`, as Python's `str.encode(encoding, errors)` (default `strict`):
 * a character the encoding cannot carry (a lone surrogate in UTF-8 or UTF-16, `é` in ASCII,
 * `€` in Latin-1) fails, becomes `?`, or is dropped. `base64` and `hex` take the encoded bytes
 * themselves (`errors` does not apply: malformed input is a `TypeError`).
 *
 * @throws SftpFileError `ENCODE_FAILED` (strict); TypeError for malformed base64/hex or an unknown
 *   encoding or errors value.
 */
export function encodeContent(text: string, encoding: ContentEncoding = 'utf-8', errors: EncodingErrors = 'strict'): Buffer {
  checkOptions(encoding, errors);
  if (encoding === 'base64') {
    if (!isBase64(text)) throw new TypeError('content is not valid base64 (encoding: base64)');
    return Buffer.from(text, 'base64');
  }
  if (encoding === 'hex') {
    const compact = text.replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(compact)) throw new TypeError('content is not valid hex (encoding: hex): pairs of 0-9a-f digits');
    return Buffer.from(compact, 'hex');
  }
  const name = encoding === 'utf-8' ? 'utf8' : encoding;
  const unencodable = UNENCODABLE[name];
  unencodable.lastIndex = 0;
  const bad = unencodable.exec(text);
  if (!bad) return Buffer.from(text, name);
  if (errors === 'strict') {
    const codePoint = bad[0].codePointAt(0) ?? 0;
    throw new SftpFileError(
      'ENCODE_FAILED',
      `content cannot be encoded as ${encoding}: character ${describeCodePoint(codePoint)} at index ${bad.index} is not representable ` +
        `(errors: strict); pass errors "replace" (as ?) or "ignore", or another encoding`,
      { details: { encoding, index: bad.index, codePoint } },
    );
  }
  return Buffer.from(text.replace(unencodable, errors === 'replace' ? '?' : ''), name);
}

/**
 * Bytes → text in `encoding`, as Python's `bytes.decode(encoding, errors)`: an invalid sequence
 * (bad UTF-8, a lone UTF-16 surrogate, a byte over 0x7f in ASCII) fails, becomes U+FFFD, or is
 * dropped. Latin-1 decodes every byte. With `stream`, a multi-byte character cut off at the end
 * (a truncated read) is left out instead of counted as invalid. A BOM is kept, as Python's
 * `utf-8` and `utf-16-le` keep it.
 *
 * @throws SftpFileError `DECODE_FAILED` (strict), naming the byte offset of the first invalid
 *   sequence; TypeError for `base64`/`hex` (not text) or an unknown errors value.
 */
export function decodeText(
  bytes: Uint8Array,
  encoding: Exclude<ContentEncoding, 'base64' | 'hex'>,
  errors: EncodingErrors,
  options: { readonly stream?: boolean; readonly what?: string } = {},
): DecodedText {
  checkOptions(encoding, errors);
  if ((encoding as ContentEncoding) === 'base64' || (encoding as ContentEncoding) === 'hex') throw new TypeError(`${encoding} is not a text encoding`);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stream = options.stream === true;
  if (encoding === 'latin1') return { text: buffer.toString('latin1'), invalid: 0 };
  if (encoding === 'ascii') return decodeAscii(buffer, errors, options.what);
  const label = encoding === 'utf16le' ? 'utf-16le' : 'utf-8';
  // `replaced` holds U+FFFD only where the input was invalid or a U+FFFD itself.
  const replaced = new TextDecoder(label, { ignoreBOM: true }).decode(buffer, { stream });
  const genuine = countGenuineReplacements(buffer, label);
  const invalid = countChar(replaced, '\uFFFD') - genuine;
  if (invalid === 0) return { text: replaced, invalid: 0 };
  if (errors === 'replace') return { text: replaced, invalid };
  if (errors === 'ignore') return { text: decodeIgnoring(buffer, label, stream), invalid };
  const offset = firstInvalidOffset(buffer, replaced, label);
  const shown = [...buffer.subarray(offset, offset + 4)].map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ');
  throw new SftpFileError(
    'DECODE_FAILED',
    `${options.what ?? 'content'}: not valid ${encoding}: invalid bytes at offset ${offset} (${shown}) (errors: strict); ` +
      'pass errors "replace" (U+FFFD) or "ignore", or encoding "base64" for the exact bytes',
    { details: { encoding, offset } },
  );
}

function decodeAscii(buffer: Buffer, errors: EncodingErrors, what: string | undefined): DecodedText {
  const offset = buffer.findIndex((byte) => byte > 0x7f);
  if (offset < 0) return { text: buffer.toString('latin1'), invalid: 0 };
  if (errors === 'strict') {
    throw new SftpFileError(
      'DECODE_FAILED',
      `${what ?? 'content'}: not valid ascii: byte 0x${(buffer[offset] ?? 0).toString(16)} at offset ${offset} (errors: strict); ` +
        'pass errors "replace" (U+FFFD) or "ignore", or encoding "latin1" or "base64"',
      { details: { encoding: 'ascii', offset } },
    );
  }
  const text = buffer.toString('latin1');
  const invalid = countMatches(text, /[\x80-\xff]/g);
  return { text: text.replace(/[\x80-\xff]/g, errors === 'replace' ? '\uFFFD' : ''), invalid };
}

/** Where a genuine U+FFFD is encoded in the input: `EF BF BD` (UTF-8) or `FD FF` at an even offset (UTF-16LE). */
function genuineReplacementAt(buffer: Buffer, offset: number, label: 'utf-8' | 'utf-16le'): boolean {
  return label === 'utf-8'
    ? buffer[offset] === 0xef && buffer[offset + 1] === 0xbf && buffer[offset + 2] === 0xbd
    : offset % 2 === 0 && buffer[offset] === 0xfd && buffer[offset + 1] === 0xff;
}

/** Offsets of the genuine U+FFFD characters of the input (UTF-8 `EF BF BD` can never be part of another sequence). */
function genuineReplacementOffsets(buffer: Buffer, label: 'utf-8' | 'utf-16le'): number[] {
  const marker = label === 'utf-8' ? Buffer.from([0xef, 0xbf, 0xbd]) : Buffer.from([0xfd, 0xff]);
  const offsets: number[] = [];
  for (let at = buffer.indexOf(marker); at >= 0; at = buffer.indexOf(marker, at + 1)) {
    if (genuineReplacementAt(buffer, at, label)) offsets.push(at);
  }
  return offsets;
}

function countGenuineReplacements(buffer: Buffer, label: 'utf-8' | 'utf-16le'): number {
  return genuineReplacementOffsets(buffer, label).length;
}

/** Decodes with invalid sequences dropped: each stretch between genuine U+FFFDs decoded on its own, its replacements removed. */
function decodeIgnoring(buffer: Buffer, label: 'utf-8' | 'utf-16le', stream: boolean): string {
  const width = label === 'utf-8' ? 3 : 2;
  const parts: string[] = [];
  let from = 0;
  const decode = (piece: Buffer, last: boolean): string =>
    new TextDecoder(label, { ignoreBOM: true }).decode(piece, { stream: last && stream }).replace(/\uFFFD/g, '');
  for (const at of genuineReplacementOffsets(buffer, label)) {
    parts.push(decode(buffer.subarray(from, at), false), '\uFFFD');
    from = at + width;
  }
  parts.push(decode(buffer.subarray(from), true));
  return parts.join('');
}

/** The byte offset of the first invalid sequence: everything before the first non-genuine U+FFFD decoded exactly. */
function firstInvalidOffset(buffer: Buffer, replaced: string, label: 'utf-8' | 'utf-16le'): number {
  for (let index = replaced.indexOf('\uFFFD'); index >= 0; index = replaced.indexOf('\uFFFD', index + 1)) {
    const offset = label === 'utf-8' ? Buffer.byteLength(replaced.slice(0, index), 'utf8') : index * 2;
    if (!genuineReplacementAt(buffer, offset, label)) return offset;
  }
  return 0;
}

function countChar(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at >= 0; at = text.indexOf(char, at + 1)) count++;
  return count;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function describeCodePoint(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

function checkOptions(encoding: string, errors: string): void {
  if (!ENCODINGS.has(encoding)) throw new TypeError(`unknown encoding ${JSON.stringify(encoding)} (utf-8, latin1, ascii, utf16le, base64, hex)`);
  if (!ERRORS.has(errors)) throw new TypeError(`errors must be "strict", "replace" or "ignore", got ${JSON.stringify(errors)}`);
}

export function isBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  return compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact);
}
