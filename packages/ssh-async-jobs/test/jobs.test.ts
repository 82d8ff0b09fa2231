import { describe, expect, it } from 'vitest';
import { shellQuote, unescapeInput } from '../src/index';

describe('unescapeInput', () => {
  it('turns the escapes a model writes into characters', () => {
    expect(unescapeInput('yes\\n')).toBe('yes\n');
    expect(unescapeInput('a\\r\\tb\\x1b[A\\\\n')).toBe('a\r\tb\x1b[A\\n');
    expect(unescapeInput('real\nnewline \\q')).toBe('real\nnewline \\q');
  });
});

describe('shellQuote', () => {
  it('quotes any text as one shell word', () => {
    expect(shellQuote("/tmp/it's here")).toBe(`'/tmp/it'\\''s here'`);
    expect(shellQuote('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
  });
});
