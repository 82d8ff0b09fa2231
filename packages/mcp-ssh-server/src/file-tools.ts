import { createHash } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JobManager } from 'ssh-async-jobs';
import { DeviceSession, type Redactor, type ShellSession } from 'ssh-session-core';
import { encodeContent, parseMode, SftpFileError } from 'ssh-sftp-files';
import { z } from 'zod';
import type { Policy } from './policy';
import type { SessionManager } from './sessions';
import { ServerError } from './errors';
import type { Approvals } from './approvals';
import { approveOn, hostKeyConfirmer, connectionShape, guard, markRedacted, notices } from './tools';

const MAX_READ_BYTES = 2 * 1024 * 1024;
/** write_file content, after encoding (the reference's limit too); upload_file streams bigger files. */
const MAX_WRITE_BYTES = 2 * 1024 * 1024;

const encodingSchema = z.enum(['utf-8', 'utf8', 'latin1', 'ascii', 'utf16le', 'base64', 'hex']);
const errorsSchema = z.enum(['strict', 'replace', 'ignore']);

const readResultSchema = z.object({
  path: z.string(),
  content: z.string(),
  encoding: z.string(),
  binary: z.boolean(),
  bytes_read: z.number().int(),
  size: z.number().int(),
  truncated: z.boolean(),
  via_sudo: z.boolean(),
  decode_errors: z.number().int(),
});
const writeResultSchema = z.object({
  path: z.string(),
  bytes_written: z.number().int(),
  atomic: z.boolean(),
  via_sudo: z.boolean(),
  created: z.boolean(),
  mode: z.string(),
  notice: z.string().nullable(),
});
const screenSchema = z.object({
  lines: z.array(z.string()),
  cursor_x: z.number().int(),
  cursor_y: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  full_screen: z.boolean(),
});

export interface FileToolContext {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly policy: Policy;
  readonly approvals: Approvals;
}

/** read_file, write_file, send_keys, read_screen (the reference's names and parameters). */
export function registerFileAndScreenTools(server: McpServer, context: FileToolContext): void {
  const { sessions, jobs, redactor, policy } = context;
  const confirmHostKey = hostKeyConfirmer(server, context);

  server.registerTool(
    'read_file',
    {
      title: 'Read a remote file',
      description: 'Reads a remote file over SFTP, byte-exact (not valid text: base64, and it says so), up to 2 MiB. use_sudo for root-only files.',
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1).describe('~ is home'),
        encoding: encodingSchema.default('utf-8'),
        errors: errorsSchema.optional().describe('Decode invalid text anyway (as bytes.decode); absent: such a file comes back as base64'),
        max_bytes: z.number().int().min(1).max(MAX_READ_BYTES).optional(),
        use_sudo: z.boolean().default(false),
        sudo_password: z.string().optional(),
      },
      outputSchema: readResultSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        const session = await sessions.session(args, confirmHostKey);
        const read = await session.files.readFile(args.remote_path, {
          encoding: args.encoding,
          ...(args.errors === undefined ? {} : { errors: args.errors }),
          maxBytes: args.max_bytes ?? MAX_READ_BYTES,
          useSudo: args.use_sudo,
          ...(args.sudo_password ?? session.sudoPassword ? { sudoPassword: args.sudo_password ?? session.sudoPassword } : {}),
        });
        const notes: string[] = [];
        // Text is redacted like any output; encoded bytes are left exact (a secret's characters
        // occurring by chance in base64 must not corrupt them).
        const encoded = read.encoding === 'base64' || read.encoding === 'hex';
        const content = encoded ? read.content : redactor.redact(read.content);
        if (read.truncated) notes.push(`[truncated: read ${read.bytesRead} of ${read.size} bytes; max_bytes is at most ${MAX_READ_BYTES}]`);
        if (read.binary) notes.push(`[binary content, shown as ${read.encoding}]`);
        if (read.decodeErrors > 0) {
          notes.push(`[${read.decodeErrors} invalid ${read.encoding} sequence(s) ${args.errors === 'ignore' ? 'dropped' : 'replaced with U+FFFD'} (errors: ${args.errors ?? ''})]`);
        }
        return markRedacted({
          content: [{ type: 'text', text: [content, ...notes].join('\n') }],
          structuredContent: {
            path: redactor.redact(read.path),
            content,
            encoding: read.encoding,
            binary: read.binary,
            bytes_read: read.bytesRead,
            size: read.size,
            truncated: read.truncated,
            via_sudo: read.viaSudo,
            decode_errors: read.decodeErrors,
          },
        });
      }),
  );

  server.registerTool(
    'write_file',
    {
      title: 'Write a remote file',
      description: 'Writes a remote file atomically (temp + rename; mode and owner kept), up to 2 MiB (larger: upload_file). use_sudo for root-owned files.',
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1),
        content: z.string(),
        encoding: encodingSchema.default('utf-8').describe('Of content (base64 for bytes)'),
        errors: errorsSchema.default('strict').describe('Unencodable characters, as str.encode'),
        append: z.boolean().default(false),
        make_dirs: z.boolean().default(false),
        permissions: z.union([z.number(), z.string()]).optional().describe('420 (= 0644) or "644"'),
        max_bytes: z.number().int().min(1).optional().describe(`Refuse more (max ${MAX_WRITE_BYTES})`),
        use_sudo: z.boolean().default(false),
        sudo_password: z.string().optional(),
      },
      outputSchema: writeResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('write_file');
        // Everything that can refuse the write is checked before the session opens: a refused
        // write leaves nothing behind (no file, no directory, no temp file).
        const permissions = args.permissions === undefined ? undefined : permissionsMode(args.permissions);
        const bytes = encodeContent(args.content, args.encoding, args.errors);
        const limit = Math.min(args.max_bytes ?? MAX_WRITE_BYTES, MAX_WRITE_BYTES);
        if (bytes.length > limit) {
          throw new SftpFileError(
            'FILE_TOO_LARGE',
            `write_file ${args.remote_path}: the content is ${bytes.length} bytes (${args.encoding}), over ` +
              (limit < MAX_WRITE_BYTES ? `max_bytes (${limit})` : `write_file's limit of ${MAX_WRITE_BYTES} bytes (2 MiB)`) +
              '; nothing was written. For large files use upload_file (streams a local file of any size), or write in parts with append.',
            { details: { path: args.remote_path, bytes: bytes.length, maxBytes: limit } },
          );
        }
        const session = await sessions.session(args, confirmHostKey);
        // The content is not shown, but the grant is for these bytes only.
        const digest = createHash('sha256').update(bytes).digest('hex');
        await approveOn(server, context, session, { host: args.host, tool: 'write_file', action: `${args.append ? 'append' : 'write'} ${bytes.length} bytes (sha256 ${digest.slice(0, 16)}) to ${args.remote_path}${args.use_sudo ? ' (with sudo)' : ''}`, fingerprint: digest, class: args.use_sudo ? 'privileged' : 'change', signal: extra.signal });
        const written = await session.files.writeFile(args.remote_path, bytes, {
          append: args.append,
          makeDirs: args.make_dirs,
          ...(permissions === undefined ? {} : { permissions: permissions.mode }),
          maxBytes: limit,
          useSudo: args.use_sudo,
          ...(args.sudo_password ?? session.sudoPassword ? { sudoPassword: args.sudo_password ?? session.sudoPassword } : {}),
        });
        const mode = written.mode.toString(8).padStart(4, '0');
        const how = written.atomic ? 'atomically' : 'in place (not atomic)';
        const notice = notices(permissions?.notice ?? null, written.notice ?? null);
        const text = `Wrote ${written.bytesWritten} bytes to ${written.path} ${how}${written.viaSudo ? ' through sudo' : ''}, mode ${mode}.` + (notice ? `\n${notice}` : '');
        return {
          content: [{ type: 'text', text }],
          structuredContent: {
            path: written.path,
            bytes_written: written.bytesWritten,
            atomic: written.atomic,
            via_sudo: written.viaSudo,
            created: written.created,
            mode,
            notice,
          },
        };
      }),
  );

  server.registerTool(
    'send_keys',
    {
      title: 'Send keys to a running program',
      description: 'Keys to the full-screen program in a host\'s session (vim, less, top): text and <enter> <esc> <tab> <up> <pgdn> <f1> <ctrl-c>…, e.g. "iHi<esc>:wq<enter>". Returns the screen.',
      inputSchema: { ...connectionShape, keys: z.string().min(1) },
      outputSchema: screenSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('send_keys');
        policy.checkInput(args.keys);
        const session = await sessions.existing(args);
        await approveOn(server, context, session, { host: args.host, tool: 'send_keys', action: `keys ${JSON.stringify(args.keys)}`, class: 'change', signal: extra.signal });
        const shell = posixShell(session.shell);
        const running = jobs.runningOn(session.key).find((job) => job.shell === 'primary');
        if (!running || !shell.sendKeys(args.keys)) {
          throw new ServerError('NO_SESSION', `nothing is running in the session of ${args.host}: start the program with execute_command first`);
        }
        // Give the program a moment to react; a program that exits ends the wait at once.
        await jobs.wait(running.id, 400);
        return screenResult(await shell.readScreen());
      }),
  );

  server.registerTool(
    'read_screen',
    {
      title: 'Read the terminal screen',
      description: 'The screen of a host\'s session as text (a full-screen program, else the last output lines).',
      inputSchema: { ...connectionShape, max_lines: z.number().int().min(1).max(500).default(24) },
      outputSchema: screenSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        const session = await sessions.existing(args);
        return screenResult(await posixShell(session.shell).readScreen(args.max_lines));
      }),
  );
}

/**
 * `permissions` of write_file: an integer is the mode value, as in the reference (`420` is 0644,
 * `384` is 0600); a string is octal digits (`"644"`, `"0600"`, `"0o755"`). Until this release an
 * integer was read as octal digits (644 → 0644). The three-digit integers 512–777 whose digits are
 * all octal (600, 644, 700, 755…) are almost surely meant that way, and as mode values they would
 * be 01130–01411 (sticky bit, odd bits): they are refused as ambiguous instead of silently changing
 * meaning. Any other integer whose digits are all octal (420, 400, 1512) is taken as the mode value
 * and the result says how it was read.
 *
 * @throws ServerError `INVALID_ARGUMENT` for anything else (negative, not an integer, over
 *   0o7777, not octal digits).
 */
export function permissionsMode(value: number | string): { mode: number; notice: string | null } {
  const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;
  const forms = 'an integer mode value (420 for 0644, 384 for 0600) or octal digits as a string ("644", "0600")';
  if (typeof value === 'string') {
    // The library's reading of octal digits ("644", "0600", "0o755"), with the server's message.
    try {
      return { mode: parseMode(value.trim()), notice: null };
    } catch {
      throw new ServerError('INVALID_ARGUMENT', `permissions ${JSON.stringify(value)} is not octal digits; give ${forms}, at most 7777`);
    }
  }
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw new ServerError('INVALID_ARGUMENT', `permissions ${value} is not a mode value from 0 to 4095 (0o7777); give ${forms}`);
  }
  const digits = String(value);
  if (!/^[0-7]+$/.test(digits) || value < 8) return { mode: value, notice: null };
  if (value > 0o777 && digits.length === 3) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `permissions ${value} is ambiguous: as a mode value (the reference's meaning) it is ${octal(value)}, with the sticky bit; ` +
        `for ${digits.padStart(4, '0')} pass the string "${digits}" (or the mode value ${Number.parseInt(digits, 8)})`,
    );
  }
  return {
    mode: value,
    notice: `permissions ${value} is the mode value ${octal(value)} (integers are mode values, as in the reference); for ${digits.padStart(4, '0')} pass the string "${digits}".`,
  };
}

/** send_keys and read_screen drive a terminal emulator that only POSIX sessions have. */
function posixShell(shell: ShellSession | DeviceSession): ShellSession {
  if (shell instanceof DeviceSession) {
    throw new ServerError('INVALID_ARGUMENT', 'this host is a network device: answer its questions with send_input (its CLI has no full-screen programs)');
  }
  return shell;
}

function screenResult(screen: Awaited<ReturnType<import('ssh-session-core').ShellSession['readScreen']>>) {
  const header = screen.fullScreen ? `[full-screen program, ${screen.width}x${screen.height}, cursor ${screen.cursorX},${screen.cursorY}]` : '[no full-screen program: last output lines]';
  return {
    content: [{ type: 'text' as const, text: `${header}\n${screen.lines.join('\n')}` }],
    structuredContent: {
      lines: [...screen.lines],
      cursor_x: screen.cursorX,
      cursor_y: screen.cursorY,
      width: screen.width,
      height: screen.height,
      full_screen: screen.fullScreen,
    },
  };
}
