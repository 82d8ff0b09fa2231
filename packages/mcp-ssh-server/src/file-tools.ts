import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JobManager } from 'ssh-async-jobs';
import { DeviceSession, type Redactor, type ShellSession } from 'ssh-session-core';
import { parseMode } from 'ssh-sftp-files';
import { z } from 'zod';
import type { Policy } from './policy';
import type { SessionManager } from './sessions';
import { ServerError } from './errors';
import { connectionShape, guard, markRedacted } from './tools';

const MAX_READ_BYTES = 2 * 1024 * 1024;

const readResultSchema = z.object({
  path: z.string(),
  content: z.string(),
  encoding: z.string(),
  binary: z.boolean(),
  bytes_read: z.number().int(),
  size: z.number().int(),
  truncated: z.boolean(),
  via_sudo: z.boolean(),
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
}

/** read_file, write_file, send_keys, read_screen (the reference's names and parameters). */
export function registerFileAndScreenTools(server: McpServer, context: FileToolContext): void {
  const { sessions, jobs, redactor, policy } = context;

  server.registerTool(
    'read_file',
    {
      title: 'Read a remote file',
      description:
        'Reads a file on a host over SFTP (byte-exact; binary content comes back as base64 and says so). ' +
        'At most max_bytes (default and limit 2 MiB); the result says when it was truncated. use_sudo reads ' +
        'root-only files through sudo.',
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1).describe('Path on the host; ~ is the home directory'),
        encoding: z.enum(['utf-8', 'utf8', 'latin1', 'ascii', 'utf16le', 'base64', 'hex']).default('utf-8'),
        max_bytes: z.number().int().min(1).max(MAX_READ_BYTES).optional(),
        use_sudo: z.boolean().default(false),
        sudo_password: z.string().optional(),
      },
      outputSchema: readResultSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        const session = await sessions.session(args);
        const read = await session.files.readFile(args.remote_path, {
          encoding: args.encoding,
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
          },
        });
      }),
  );

  server.registerTool(
    'write_file',
    {
      title: 'Write a remote file',
      description:
        'Writes a file on a host atomically (temp file + rename: readers never see half a file; mode and ' +
        'owner kept). append adds to the end instead; make_dirs creates missing directories; permissions ' +
        'as octal ("644", "0600"). use_sudo writes root-owned files through sudo.',
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1),
        content: z.string(),
        encoding: z.enum(['utf-8', 'utf8', 'latin1', 'ascii', 'utf16le', 'base64', 'hex']).default('utf-8').describe('How content is encoded (base64 for bytes)'),
        append: z.boolean().default(false),
        make_dirs: z.boolean().default(false),
        permissions: z.union([z.string(), z.number().int()]).optional().describe('Octal mode, e.g. "644" (a number is read as octal digits)'),
        max_bytes: z.number().int().min(1).optional(),
        use_sudo: z.boolean().default(false),
        sudo_password: z.string().optional(),
      },
      outputSchema: writeResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        policy.checkWrite('write_file');
        const session = await sessions.session(args);
        // JSON has no octal: 644 from a model means 0o644.
        const permissions = args.permissions === undefined ? undefined : parseMode(String(args.permissions));
        const written = await session.files.writeFile(args.remote_path, args.content, {
          encoding: args.encoding,
          append: args.append,
          makeDirs: args.make_dirs,
          ...(permissions === undefined ? {} : { permissions }),
          ...(args.max_bytes === undefined ? {} : { maxBytes: args.max_bytes }),
          useSudo: args.use_sudo,
          ...(args.sudo_password ?? session.sudoPassword ? { sudoPassword: args.sudo_password ?? session.sudoPassword } : {}),
        });
        const mode = written.mode.toString(8).padStart(4, '0');
        const how = written.atomic ? 'atomically' : 'in place (not atomic)';
        const text = `Wrote ${written.bytesWritten} bytes to ${written.path} ${how}${written.viaSudo ? ' through sudo' : ''}, mode ${mode}.` + (written.notice ? `\n${written.notice}` : '');
        return {
          content: [{ type: 'text', text }],
          structuredContent: {
            path: written.path,
            bytes_written: written.bytesWritten,
            atomic: written.atomic,
            via_sudo: written.viaSudo,
            created: written.created,
            mode,
            notice: written.notice ?? null,
          },
        };
      }),
  );

  server.registerTool(
    'send_keys',
    {
      title: 'Send keys to a running program',
      description:
        'Types keys into the program running in a host\'s session (vim, less, top, a REPL): text plus ' +
        '<enter>, <esc>, <tab>, <space>, <backspace>, <up>/<down>/<left>/<right>, <pgup>/<pgdn>, <home>, <end>, ' +
        '<f1>…<f12>, <ctrl-c>, <ctrl-d>, <ctrl-x>… Example: "iHello<esc>:wq<enter>". Returns the screen afterwards.',
      inputSchema: { ...connectionShape, keys: z.string().min(1) },
      outputSchema: screenSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        policy.checkWrite('send_keys');
        policy.checkInput(args.keys);
        const session = await sessions.existing(args);
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
      description:
        'The screen of a host\'s session as text: the full-screen program running there (vim, less, top), ' +
        'or else the last lines of output.',
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
