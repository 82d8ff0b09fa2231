/** What a registered secret is replaced with. */
export const REDACTED = '********';

/**
 * Replaces every registered secret in text before it leaves the process (logs, transcripts,
 * error details, tool output). Secrets shorter than {@link Redactor.minLength} are not
 * registered: replacing every `a` in output would make it unreadable and protects nothing.
 */
export class Redactor {
  static readonly minLength = 3;
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  /** Registers a secret; returns it so a caller can register inline. */
  add(secret: string | undefined | null): string | undefined {
    if (secret == null) return undefined;
    if (secret.length >= Redactor.minLength && !this.#secrets.has(secret)) {
      this.#secrets.add(secret);
      this.#pattern = undefined;
    }
    return secret;
  }

  /** Number of registered secrets. */
  get size(): number {
    return this.#secrets.size;
  }

  /** Where registered secrets occur in `text`: `[start, end)` pairs, in order, not overlapping. */
  find(text: string): [number, number][] {
    if (this.#secrets.size === 0 || text.length === 0) return [];
    const pattern = new RegExp(this.#source(), 'g');
    const found: [number, number][] = [];
    for (let match = pattern.exec(text); match; match = pattern.exec(text)) found.push([match.index, match.index + match[0].length]);
    return found;
  }

  /** Length of the longest registered secret (0 when none). */
  get longest(): number {
    let longest = 0;
    for (const secret of this.#secrets) longest = Math.max(longest, secret.length);
    return longest;
  }

  #source(): string {
    return (
      [...this.#secrets]
        // Longest first, so a secret that contains another is replaced whole.
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|')
    );
  }

  /**
   * How many characters at the end of `text` could be the start of a registered secret that has
   * not arrived whole yet (the longest such suffix; 0 when none): output still coming holds them
   * back, so no read shows the first part of a secret.
   */
  partialAtEnd(text: string): number {
    let held = 0;
    for (const secret of this.#secrets) {
      for (let length = Math.min(secret.length - 1, text.length); length > held; length--) {
        if (text.endsWith(secret.slice(0, length))) {
          held = length;
          break;
        }
      }
    }
    return held;
  }

  /** `text` with every registered secret replaced by {@link REDACTED}. */
  redact(text: string): string {
    if (this.#secrets.size === 0 || text.length === 0) return text;
    this.#pattern ??= new RegExp(this.#source(), 'g');
    return text.replace(this.#pattern, REDACTED);
  }

  /** A deep copy of `value` with every string redacted (for error details and log fields). */
  redactValue<T>(value: T): T {
    return redactDeep(value, this, new WeakMap()) as T;
  }
}

function redactDeep(value: unknown, redactor: Redactor, seen: WeakMap<object, unknown>): unknown {
  if (typeof value === 'string') return redactor.redact(value);
  if (value === null || typeof value !== 'object') return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(redactDeep(item, redactor, seen));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, redactor, seen);
  return copy;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
