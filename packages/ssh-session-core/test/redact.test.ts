import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../src/index';

describe('Redactor', () => {
  it('replaces every occurrence of every registered secret', () => {
    const redactor = new Redactor();
    redactor.add('hunter2');
    redactor.add('s3cr$t.(x)');
    expect(redactor.redact('pw=hunter2 again hunter2 and s3cr$t.(x)!')).toBe(
      `pw=${REDACTED} again ${REDACTED} and ${REDACTED}!`,
    );
  });

  it('replaces a secret that contains another one whole', () => {
    const redactor = new Redactor();
    redactor.add('abc');
    redactor.add('abcdef');
    expect(redactor.redact('xabcdefx abc')).toBe(`x${REDACTED}x ${REDACTED}`);
  });

  it('ignores empty, missing and too-short secrets', () => {
    const redactor = new Redactor();
    redactor.add('');
    redactor.add(undefined);
    redactor.add('ab');
    expect(redactor.size).toBe(0);
    expect(redactor.redact('ab cd')).toBe('ab cd');
  });

  it('redacts strings deep inside objects and arrays without touching the original', () => {
    const redactor = new Redactor();
    redactor.add('topsecret');
    const original = { a: 'topsecret', b: [1, 'x topsecret'], c: { d: null, e: 'ok' } };
    expect(redactor.redactValue(original)).toEqual({
      a: REDACTED,
      b: [1, `x ${REDACTED}`],
      c: { d: null, e: 'ok' },
    });
    expect(original.a).toBe('topsecret');
  });
});

describe('Redactor.find', () => {
  it('finds where secrets occur, longest first', () => {
    const redactor = new Redactor();
    redactor.add('abc');
    redactor.add('abcdef');
    expect(redactor.find('xxabcdefyyabc')).toEqual([[2, 8], [10, 13]]);
    expect(redactor.longest).toBe(6);
    expect(new Redactor().find('abc')).toEqual([]);
  });
});

describe('Redactor.partialAtEnd', () => {
  it('counts the end of a text that could be the first part of a secret', () => {
    const redactor = new Redactor();
    redactor.add('hunter2');
    redactor.add('s3cr3t-longer');
    expect(redactor.partialAtEnd('login: hun')).toBe(3);
    expect(redactor.partialAtEnd('x s3cr3t-lo')).toBe(9);
    expect(redactor.partialAtEnd('ends with h')).toBe(1);
    // A whole secret is not partial (redact takes care of it); nothing that starts one is 0.
    expect(redactor.partialAtEnd('is hunter2')).toBe(0);
    expect(redactor.partialAtEnd('nothing here')).toBe(0);
    expect(redactor.partialAtEnd('')).toBe(0);
    expect(new Redactor().partialAtEnd('hun')).toBe(0);
  });
});
