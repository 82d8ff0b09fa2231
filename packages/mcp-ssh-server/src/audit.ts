import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest without a Hash object; createHash before that. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { openPrivateAppend } from './logger';

/** The `prev` of the first record ever written: no record before it. */
export const AUDIT_GENESIS = '0'.repeat(64);

/** Rotate when the current file reaches this size (bytes). */
export const AUDIT_DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** Longest command or path text kept in a record; a longer one is cut and its SHA-256 kept whole. */
export const AUDIT_MAX_TEXT = 4096;

/** What a record carries besides the chain fields (`seq`, `time`, `prev`), which the log adds. */
export type AuditFields = { readonly event: string } & Readonly<Record<string, unknown>>;

/**
 * An append-only, hash-chained JSON Lines audit log. Every record carries `seq` (1, 2, … across
 * rotations) and `prev`, the SHA-256 of the previous record's line, so an edited, removed or
 * reordered record breaks the chain ({@link verifyAuditLog}). The file is opened
 * `O_APPEND|O_NOFOLLOW` and kept 0600; each record is one `write` of one line. A line cut off by a
 * crash is left as it is and covered by a `recovered` record naming its hash when the log is next
 * opened, so it never breaks the records before it. At `maxBytes` the file is renamed to
 * `<file>.<ISO time>` and a new one continues the chain. One server per file: two writers would
 * interleave their chains.
 */
export class AuditLog {
  readonly path: string;
  readonly #maxBytes: number;
  #fd: number;
  #size: number;
  #seq: number;
  #prev: string;
  /** Lines chained but not yet written: written together once the current turn of the event loop is over. */
  #pending: string[] = [];
  /** Bytes a failed write left unwritten (kept as bytes: a retry must not split a character). */
  #unwritten: Buffer | undefined;
  #flushScheduled = false;
  /** Records to build at the next flush, in order (appendLater). */
  #builders: (() => AuditFields)[] = [];

  private constructor(path: string, maxBytes: number, fd: number, size: number, seq: number, prev: string) {
    this.path = path;
    this.#maxBytes = maxBytes;
    this.#fd = fd;
    this.#size = size;
    this.#seq = seq;
    this.#prev = prev;
  }

  /**
   * Opens (or creates) the log and continues its chain: from the file's last record, or from the
   * newest rotated file when the file itself is new.
   *
   * @throws Error naming the file when it cannot be opened, is not a regular file, or its last
   *   record is not one of ours.
   */
  static open(path: string, options: { readonly maxBytes?: number } = {}): AuditLog {
    const maxBytes = options.maxBytes ?? AUDIT_DEFAULT_MAX_BYTES;
    if (!(maxBytes >= 1024)) throw new RangeError('the audit log rotation size must be at least 1024 bytes');
    const fd = openPrivateAppend(path, 'the audit log', constants.O_RDWR);
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new Error('not a regular file');
      const log = new AuditLog(path, maxBytes, fd, info.size, 0, AUDIT_GENESIS);
      const tail = readTail(fd, info.size);
      // A record whose newline was all a crash cut off is whole: it is the last record.
      const whole = tail.torn === undefined ? undefined : parseRecord(tail.torn);
      if (whole && tail.torn !== undefined) {
        log.#write('\n');
        log.#seq = whole.seq;
        log.#prev = sha256(tail.torn);
        return log;
      }
      if (tail.last) {
        log.#seq = tail.last.seq;
        log.#prev = tail.last.hash;
      } else {
        // No whole record here (new, or cut off in its first write after a rotation): the chain
        // goes on from the newest rotated file.
        const rotated = rotatedFiles(path).at(-1);
        const last = rotated === undefined ? undefined : lastRecordOf(rotated);
        if (last) {
          log.#seq = last.seq;
          log.#prev = last.hash;
        }
      }
      if (tail.torn !== undefined) {
        // Finish the cut line, then say what it was: the chain skips it, verify checks the claim.
        log.#write('\n');
        log.append({ event: 'recovered', torn_bytes: tail.torn.length, torn_sha256: sha256(tail.torn) });
      }
      return log;
    } catch (error) {
      closeSync(fd);
      throw new Error(`cannot continue the audit log ${path}: ${(error as Error).message}`);
    }
  }

  /**
   * Appends one record: chained at once, written with the others of the same event-loop turn in
   * one write right after it (so a tool's answer does not wait for the disk; a crash can lose at
   * most that turn's records, never the chain before them). Never throws: a full disk must not
   * stop the server, and records that could not be written are tried again with the next ones.
   */
  append(fields: AuditFields): void {
    if (this.#fd < 0) return;
    // Behind records still to be built: in line after them.
    if (this.#builders.length > 0) this.#builders.push(() => fields);
    else this.#chain(fields);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  #chain(fields: AuditFields): void {
    const record = { seq: this.#seq + 1, time: new Date().toISOString(), ...fields, prev: this.#prev };
    const line = JSON.stringify(record);
    this.#pending.push(`${line}\n`);
    this.#seq = record.seq;
    this.#prev = sha256(line);
  }

  /**
   * Appends the record `build` returns, built once the current turn of the event loop is over
   * (after the tool's answer has been sent), in the order of the calls: what a record needs is
   * gathered then, not on the answer's path. A record whose build throws becomes an `audit_error`
   * record.
   */
  appendLater(build: () => AuditFields): void {
    if (this.#fd < 0) return;
    this.#builders.push(build);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes the records appended so far (close() does too). */
  flush(): void {
    this.#flushScheduled = false;
    const builders = this.#builders;
    this.#builders = [];
    for (const build of builders) {
      let fields: AuditFields;
      try {
        fields = build();
      } catch (error) {
        // The record is lost, not silently: the chain says one was.
        fields = { event: 'audit_error', message: error instanceof Error ? error.message.slice(0, 200) : 'a record could not be built' };
      }
      this.#chain(fields);
    }
    if ((this.#pending.length === 0 && !this.#unwritten) || this.#fd < 0) return;
    const fresh = Buffer.from(this.#pending.join(''), 'utf8');
    const bytes = this.#unwritten ? Buffer.concat([this.#unwritten, fresh]) : fresh;
    this.#pending = [];
    this.#unwritten = undefined;
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(this.#fd, bytes, done);
    } catch {
      this.#unwritten = bytes.subarray(done);
    }
    this.#size += done;
    if (!this.#unwritten && this.#size >= this.#maxBytes) this.#rotate();
  }

  close(): void {
    if (this.#fd < 0) return;
    this.flush();
    closeSync(this.#fd);
    this.#fd = -1;
  }

  #write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    let done = 0;
    while (done < bytes.length) done += writeSync(this.#fd, bytes, done);
    this.#size += bytes.length;
  }

  #rotate(): void {
    try {
      renameSync(this.path, `${this.path}.${new Date().toISOString().replace(/:/g, '-')}`);
      const fd = openSync(this.path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      closeSync(this.#fd);
      this.#fd = fd;
      this.#size = 0;
    } catch {
      // Rotation failed (the name is taken, the directory is read-only): keep appending here.
    }
  }
}

/** `text` cut to {@link AUDIT_MAX_TEXT} characters, with the whole text's SHA-256 when it was cut. */
export function auditText(text: string): { readonly text: string; readonly sha256?: string } {
  return text.length <= AUDIT_MAX_TEXT ? { text } : { text: text.slice(0, AUDIT_MAX_TEXT), sha256: sha256(text) };
}

export type AuditVerdict =
  | { readonly ok: true; readonly records: number; readonly lastSeq: number; readonly head: string; readonly files: readonly string[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problem: string; readonly files: readonly string[] };

/**
 * Checks the chain of `path` and its rotated files (`<path>.<time>`, oldest first): records
 * numbered from 1 without a gap, each `prev` the SHA-256 of the line before, a cut line only where
 * a `recovered` record names it, or as the very last line (a write cut off by a crash: a warning).
 * The verdict names the first record that was altered, removed or moved.
 */
export function verifyAuditLog(path: string): AuditVerdict {
  const files = [...rotatedFiles(path), path];
  const warnings: string[] = [];
  let expectedSeq = 1;
  let prev = AUDIT_GENESIS;
  let prevWhere = '';
  let torn: { hash: string; where: string } | undefined;
  let records = 0;
  for (const [fileIndex, file] of files.entries()) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return { ok: false, problem: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, files };
    }
    const lines = text.split('\n');
    const tail = lines.pop() as string;
    const complete = tail === '';
    if (!complete) lines.push(tail);
    for (const [index, line] of lines.entries()) {
      const where = `${basename(file)} line ${index + 1}`;
      const last = fileIndex === files.length - 1 && index === lines.length - 1;
      const record = parseRecord(line);
      if (!record) {
        if (last && !complete) {
          warnings.push(`${where}: an incomplete last line (a write cut off by a crash) is not part of the chain`);
          continue;
        }
        if (torn) return { ok: false, problem: `${torn.where}: not a record, and no recovered record covers it`, files };
        torn = { hash: sha256(line), where };
        continue;
      }
      if (record.seq !== expectedSeq) {
        return {
          ok: false,
          problem:
            record.seq > expectedSeq
              ? `${where}: record ${expectedSeq}${expectedSeq > 1 ? '' : ' (the first)'} is missing or out of place: found record ${record.seq}`
              : `${where}: record ${record.seq} is out of place (record ${expectedSeq} expected): records were reordered or copied`,
          files,
        };
      }
      if (record.prev !== prev) {
        return {
          ok: false,
          problem: expectedSeq === 1 ? `${where}: the first record does not start the chain (prev ${record.prev.slice(0, 12)}…)` : `${prevWhere}: record ${expectedSeq - 1} was altered (record ${expectedSeq} at ${where} does not carry its hash)`,
          files,
        };
      }
      if (torn) {
        if (record.event !== 'recovered' || record.torn_sha256 !== torn.hash) return { ok: false, problem: `${torn.where}: not a record, and no recovered record covers it`, files };
        torn = undefined;
      }
      prev = sha256(line);
      prevWhere = where;
      expectedSeq++;
      records++;
    }
  }
  if (torn) return { ok: false, problem: `${torn.where}: not a record, and no recovered record covers it`, files };
  return { ok: true, records, lastSeq: expectedSeq - 1, head: prev, files, warnings };
}

interface ParsedRecord {
  readonly seq: number;
  readonly prev: string;
  readonly event: string;
  readonly torn_sha256?: string;
}

function parseRecord(line: string): ParsedRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (!Number.isSafeInteger(record.seq) || typeof record.prev !== 'string' || typeof record.event !== 'string') return undefined;
  return record as unknown as ParsedRecord;
}

function sha256(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Rotated files of `path`, oldest first (their names sort by the time they were rotated). */
function rotatedFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix) && /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/.test(name.slice(prefix.length)))
    .sort()
    .map((name) => join(dir, name))
    .filter((file) => lstatSync(file).isFile());
}

/** The last complete record of a file, and a cut-off last line after it (no newline yet). */
function readTail(fd: number, size: number): { last?: { seq: number; hash: string }; torn?: string } {
  if (size === 0) return {};
  // Records are small (texts are capped): the last 256 KiB hold the last whole line.
  const length = Math.min(size, 256 * 1024);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  const text = buffer.toString('utf8');
  const end = text.lastIndexOf('\n');
  const torn = end === text.length - 1 ? undefined : text.slice(end + 1);
  const before = end < 0 ? '' : text.slice(0, end);
  const line = before.slice(before.lastIndexOf('\n') + 1);
  if (line === '') {
    if (size > length) throw new Error('its last record is longer than 256 KiB');
    return torn === undefined ? {} : { torn };
  }
  const record = parseRecord(line);
  if (!record) throw new Error('its last line is not an audit record (is this the right file?)');
  return { last: { seq: record.seq, hash: sha256(line) }, ...(torn === undefined ? {} : { torn }) };
}

function lastRecordOf(file: string): { seq: number; hash: string } | undefined {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readTail(fd, fstatSync(fd).size).last;
  } finally {
    closeSync(fd);
  }
}
