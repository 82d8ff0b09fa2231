// The fuzz run behind fuzz.int.test.ts (`pnpm test`: 1 000 calls) and `pnpm fuzz` (10 000): seeded,
// replayable tool calls through the built bin with the real SDK client, against the loopback sshd.
// Every tool, with arguments drawn per schema property: well-formed values, boundaries, wrong
// types, huge strings, control characters, lone surrogates (what invalid UTF-8 becomes in JSON);
// calls run in concurrent batches on the same sessions, close_session racing them. Commands come
// from a fixed, harmless set with random quoted data: the fuzz host is this machine.
import fc from 'fast-check';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** A tool call of the run, and how long it may take at most before it counts as a hang. */
export interface FuzzCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly deadlineMs: number;
}

const CONTROL = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)), maxLength: 40 });
/** Lone surrogates and other code units that are not valid text once encoded. */
const BROKEN = fc.string({ unit: 'binary', maxLength: 40 });
const HUGE = fc.integer({ min: 100_000, max: 400_000 }).map((length) => 'x'.repeat(length));
const WEIRD_NUMBERS = fc.constantFrom(0, -1, 1, 0.5, -0.0001, 65_535, 65_536, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308);

/** Anything at all, for a property given the wrong type. */
const ANY: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  CONTROL,
  BROKEN,
  WEIRD_NUMBERS,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Commands that do nothing harmful wherever they run, some with random data in them. */
const quoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const COMMAND = fc.oneof(
  fc.constantFrom('true', 'false', 'echo hi', 'exit 3', 'sleep 0.3', 'cat /etc/hostname', 'seq 1 2000', 'read x', 'printf "a\\rb\\n"', 'pwd', 'cd /tmp', 'ls /nonexistent'),
  fc.string({ maxLength: 60 }).map((text) => `printf '%s\\n' ${quoted(text)}`),
  BROKEN.map((text) => `echo ${quoted(text)}`),
  CONTROL.map((text) => `printf '%s' ${quoted(text)}`),
);

/** Where writes may go: a directory of the run, never elsewhere. */
const remotePath = (root: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.stringMatching(/^[a-z0-9._-]{1,12}$/).map((name) => `${root}/${name}`),
    fc.constantFrom(`${root}`, `${root}/sub/deeper/file`, `${root}/..${root.slice(root.lastIndexOf('/'))}/x`),
  );

export interface FuzzPlaces {
  /** Directory on the host the run may write in (removed after). */
  readonly remoteRoot: string;
  /** The server's local root (uploads from, downloads to). */
  readonly localRoot: string;
}

/** Stands for a command id the run has seen, filled in when the call is made. */
export const RECENT = '<recent command id>';

/** Values for one property of a tool's input schema: mostly sensible, sometimes anything. */
function propertyValue(tool: string, name: string, schema: Record<string, unknown>, places: FuzzPlaces): fc.Arbitrary<unknown> {
  const writes = ['write_file', 'upload_file'].includes(tool);
  const sensible: fc.Arbitrary<unknown> = (() => {
    switch (name) {
      case 'host':
        return fc.constantFrom('testhost', 'testhost', 'testhost', 'closed', 'no-such-host.invalid');
      case 'hosts':
        return fc.array(fc.constantFrom('testhost', 'closed', 'no-such-host.invalid'), { minLength: 1, maxLength: 4 });
      case 'command':
        return COMMAND;
      case 'remote_path':
        return writes ? remotePath(places.remoteRoot) : fc.oneof(remotePath(places.remoteRoot), fc.constantFrom('/etc/hostname', '/nonexistent', '~', '/root/secret', '/proc/self/status', '/dev/zero'));
      case 'local_path':
        return fc.oneof(fc.stringMatching(/^[a-z0-9._-]{1,12}$/), fc.constantFrom(`${places.localRoot}/in.bin`, '/etc/passwd', '../escape', `${places.localRoot}/.ssh/id`));
      case 'command_id':
        // RECENT: replaced when the call is made by a command id the run has seen.
        return fc.oneof({ weight: 3, arbitrary: fc.constant(RECENT) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
      case 'content':
        return fc.oneof(fc.string({ maxLength: 200 }), BROKEN, HUGE);
      case 'input_text':
      case 'keys':
        return fc.oneof(fc.constantFrom('\n', 'q', '<enter>', '<ctrl-c>', '\\x03', 'yes\\n'), fc.string({ maxLength: 30 }), CONTROL);
      case 'timeout':
      case 'line_timeout':
        return fc.constantFrom(0.001, 0.2, 1, 3);
      case 'device_type':
        return fc.constantFrom('linux', 'autodetect', 'cisco_ios', 'bogus', '');
      case 'config_commands':
        return fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 });
      case 'config_file':
        return fc.constantFrom('nope.cfg', '/etc/passwd');
      case 'error_pattern':
        return fc.constantFrom('(', '.*', 'x{2,1}', 'error');
      default:
        break;
    }
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : 0;
    const max = typeof schema.maximum === 'number' ? Math.min(schema.maximum, 100_000) : 100_000;
    switch (schema.type) {
      case 'string':
        return Array.isArray(schema.enum) ? fc.constantFrom(...(schema.enum as string[])) : fc.oneof(fc.string({ minLength, maxLength: 20 }), CONTROL, BROKEN).filter((text) => text.length >= minLength);
      case 'integer':
      case 'number':
        // In range mostly, its edges and beyond sometimes.
        return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min, max, min - 1, max + 1) }, { weight: 1, arbitrary: WEIRD_NUMBERS });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 });
      default:
        return ANY;
    }
  })();
  // Rarely wrong: a call with one wrong-typed property is refused before it does anything, so most stay well-typed.
  return fc.oneof({ weight: 30, arbitrary: sensible }, { weight: 1, arbitrary: ANY });
}

/** One call: a tool and its arguments, each property present or not, required ones mostly present. */
export function toolCall(tools: readonly Tool[], places: FuzzPlaces): fc.Arbitrary<FuzzCall> {
  return fc.constantFrom(...tools).chain((tool) => {
    const properties = (tool.inputSchema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const required = new Set(tool.inputSchema.required ?? []);
    const entries = Object.entries(properties).map(([name, schema]) => {
      // Writing tools never get a wrong-typed path: it could name a place outside the run.
      const value = propertyValue(tool.name, name, schema, places);
      // Login details are rare: most calls use the host's ssh_config entry, and get past the login.
      const rare = ['username', 'password', 'key_filename', 'port', 'sudo_password', 'enable_password', 'enable_command'].includes(name);
      const present = required.has(name)
        ? fc.oneof({ weight: 40, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
        : rare
          ? fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
          : fc.boolean();
      return fc.tuple(fc.constant(name), present, value);
    });
    const extra = fc.option(fc.tuple(fc.string({ maxLength: 8 }), ANY), { freq: 10 });
    return fc.tuple(fc.tuple(...entries), extra).map(([chosen, unknown]) => {
      const args: Record<string, unknown> = {};
      for (const [name, present, value] of chosen) if (present) args[name] = value;
      if (unknown && !(unknown[0] in properties)) args[unknown[0]] = unknown[1];
      // Writes stay in the run's places whatever was drawn.
      if (['write_file', 'upload_file'].includes(tool.name) && (typeof args.remote_path !== 'string' || !args.remote_path.startsWith(places.remoteRoot))) args.remote_path = `${places.remoteRoot}/forced`;
      if (tool.name === 'send_config') args.host = 'closed';
      const timeout = typeof args.timeout === 'number' && args.timeout > 0 && args.timeout <= 3 ? args.timeout : 30;
      return { name: tool.name, args, deadlineMs: (timeout + 20) * 1000 };
    });
  });
}
