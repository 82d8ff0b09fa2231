import { stat } from 'node:fs/promises';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { JobManager } from 'ssh-async-jobs';
import { isSshError, type Redactor } from 'ssh-session-core';
import type { FileInfo } from 'ssh-sftp-files';
import { z } from 'zod';
import { permissionsMode } from './file-tools';
import type { LocalRoots } from './local-paths';
import type { Policy } from './policy';
import type { SessionManager } from './sessions';
import type { Approvals } from './approvals';
import { classifyCommand } from './classify';
import { listHosts } from './host-list';
import { approveOn, hostKeyConfirmer, commandApproval, connectionShape, deviceTypeSchema, guard, progressReporter, sessionNotices } from './tools';

/** Entries listed per call; a bigger directory says how many were left out. */
const MAX_ENTRIES = 1000;
/** Hosts per execute_command_on_hosts call. */
const MAX_HOSTS = 500;
/** Hosts connecting or running at once in execute_command_on_hosts, unless the call says otherwise. */
const DEFAULT_CONCURRENCY = 20;
/** Below the job manager's 64 running jobs, so one call never starves the others. */
const MAX_CONCURRENCY = 50;
const LOCAL_PATH = 'On the server machine, in its local roots';

/**
 * Output characters per host in execute_command_on_hosts (head + tail beyond it): 4 000 up to 50
 * hosts, then a share of 200 000 for the whole answer, never under 500 (the rest is paged by
 * get_command_status).
 */
function outputPerHost(hosts: number): number {
  return Math.max(500, Math.min(4000, Math.floor(200_000 / hosts)));
}

const entrySchema = z.object({
  name: z.string(),
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: z.number(),
  mode: z.string(),
  uid: z.number().int().nullable(),
  gid: z.number().int().nullable(),
  owner: z.string().nullable(),
  group: z.string().nullable(),
  modified_at: z.string().nullable(),
});
const listingSchema = z.object({ path: z.string(), entries: z.array(entrySchema), total: z.number().int(), omitted: z.number().int() });
const transferSchema = z.object({ local_path: z.string(), remote_path: z.string(), bytes: z.number(), duration_ms: z.number() });
const hostsSchema = z.object({
  config_path: z.string(),
  hosts: z.array(
    z.object({
      alias: z.string(),
      host: z.string(),
      user: z.string(),
      port: z.number().int(),
      proxy_jump: z.array(z.string()),
      source: z.enum(['ssh_config', 'environment']),
      credentials_in_environment: z.boolean(),
      session_open: z.boolean(),
    }),
  ),
  invalid_hosts: z.array(z.object({ alias: z.string(), error: z.string() })),
});
const multiSchema = z.object({
  command: z.string(),
  results: z.array(
    z.object({
      host: z.string(),
      session: z.string().nullable(),
      status: z.string(),
      exit_code: z.number().int().nullable(),
      output: z.string(),
      omitted_chars: z.number().int(),
      command_id: z.string().nullable(),
      error: z.object({ code: z.string(), message: z.string() }).nullable(),
      notice: z.string().nullable(),
    }),
  ),
  succeeded: z.number().int(),
  failed: z.number().int(),
  running: z.number().int(),
});

export interface HostToolContext {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly policy: Policy;
  readonly approvals: Approvals;
  readonly sshConfigPath: string;
  readonly homeDir: string;
  readonly localUser: string;
  readonly localRoots: LocalRoots;
}

/** Beyond the reference: list_directory, upload_file, download_file, list_hosts, execute_command_on_hosts. */
export function registerHostTools(server: McpServer, context: HostToolContext): void {
  const { sessions, jobs, redactor, policy, homeDir, localUser, localRoots } = context;
  const confirmHostKey = hostKeyConfirmer(server, context);

  server.registerTool(
    'list_directory',
    {
      title: 'List a remote directory',
      description: `A remote directory over SFTP: name, type, size, mode, owner, group, mtime, sorted (max ${MAX_ENTRIES}). Exacter than parsing ls.`,
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1).default('~'),
        show_hidden: z.boolean().default(true),
      },
      outputSchema: listingSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      guard(redactor, async () => {
        const session = await sessions.session(args, confirmHostKey);
        const path = await session.files.resolvePath(args.remote_path);
        const all = (await session.files.list(path)).filter((entry) => args.show_hidden || !entry.name.startsWith('.'));
        const shown = all.slice(0, MAX_ENTRIES);
        const lines = entryLines(shown);
        if (all.length > shown.length) lines.push(`[${all.length - shown.length} more entries not shown]`);
        return {
          content: [{ type: 'text', text: `${path}: ${all.length} entries\n${lines.join('\n')}` }],
          structuredContent: { path, entries: shown.map(entryFields), total: all.length, omitted: all.length - shown.length },
        };
      }),
  );

  server.registerTool(
    'upload_file',
    {
      title: 'Upload a local file to a host',
      description: 'Copies a file of the server machine to a host over SFTP: any size, binary-safe, into a temp file renamed into place.',
      inputSchema: {
        ...connectionShape,
        local_path: z.string().min(1).describe(LOCAL_PATH),
        remote_path: z.string().min(1),
        make_dirs: z.boolean().default(false),
        preserve_mode: z.boolean().default(false),
        permissions: z.union([z.number(), z.string()]).optional().describe('As write_file'),
      },
      outputSchema: transferSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('upload_file');
        const mode = args.permissions === undefined ? undefined : permissionsMode(args.permissions).mode;
        const local = await localRoots.source(args.local_path);
        const session = await sessions.session(args, confirmHostKey);
        // The grant is for this file as it is now (its size and time of change), not whatever the path holds later.
        const info = await stat(local);
        await approveOn(server, context, session, { host: args.host, tool: 'upload_file', action: `upload ${args.local_path} (${info.size} bytes) to ${args.remote_path}`, fingerprint: `${local}\n${info.size}\n${info.mtimeMs}\n${info.ino}`, class: 'change', signal: extra.signal });
        const report = progressReporter(extra);
        const result = await session.files.upload(local, args.remote_path, {
          makeDirs: args.make_dirs,
          preserveMode: args.preserve_mode,
          ...(mode === undefined ? {} : { mode }),
          ...(report ? { onProgress: (p: { bytes: number; totalBytes: number }) => report(p.bytes, p.totalBytes) } : {}),
          signal: extra.signal,
        });
        return transferResult('Uploaded', result);
      }),
  );

  server.registerTool(
    'download_file',
    {
      title: 'Download a file from a host',
      description: 'Copies a remote file to the server machine over SFTP: binary-safe, into a temp file renamed into place (none left on failure).',
      inputSchema: {
        ...connectionShape,
        remote_path: z.string().min(1),
        local_path: z.string().min(1).describe(LOCAL_PATH),
        make_dirs: z.boolean().default(false),
        overwrite: z.boolean().default(false),
        preserve_mode: z.boolean().default(false),
      },
      outputSchema: transferSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    (args, extra) =>
      guard(redactor, async () => {
        const local = await localRoots.destination(args.local_path, { makeDirs: args.make_dirs, overwrite: args.overwrite });
        const session = await sessions.session(args, confirmHostKey);
        const report = progressReporter(extra);
        const result = await session.files.download(args.remote_path, local, {
          makeDirs: args.make_dirs,
          preserveMode: args.preserve_mode,
          ...(report ? { onProgress: (p: { bytes: number; totalBytes: number }) => report(p.bytes, p.totalBytes) } : {}),
          signal: extra.signal,
        });
        return transferResult('Downloaded', result);
      }),
  );

  server.registerTool(
    'list_hosts',
    {
      title: 'Hosts this server knows',
      description: 'Hosts to name in host without details: ssh_config entries (resolved) and OVRD_<alias>_* aliases; which have credentials or a session.',
      inputSchema: {},
      outputSchema: hostsSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    () =>
      guard(redactor, async () => {
        const { hosts, invalid_hosts: invalid } = await listHosts({ sessions, sshConfigPath: context.sshConfigPath, homeDir, localUser });
        const lines = hosts.map(
          (h) => `${h.alias}  ${h.user}@${h.host}:${h.port}${h.proxy_jump.length ? ` via ${h.proxy_jump.join(',')}` : ''}${h.credentials_in_environment ? '  [credentials in env]' : ''}${h.session_open ? '  [session open]' : ''}`,
        );
        for (const entry of invalid) lines.push(`${entry.alias}  [invalid: ${entry.error}]`);
        const text =
          lines.length === 0
            ? `No hosts configured (${context.sshConfigPath} has no Host entries and no OVRD_<alias>_HOST is set). Any reachable host name or IP works too.`
            : lines.join('\n');
        return { content: [{ type: 'text', text }], structuredContent: { config_path: context.sshConfigPath, hosts, invalid_hosts: invalid } };
      }),
  );

  server.registerTool(
    'execute_command_on_hosts',
    {
      title: 'Run one command on several hosts in parallel',
      description:
        `One command on up to ${MAX_HOSTS} hosts in parallel, \`concurrency\` at a time (POSIX and devices may mix), each in its persistent session: every host's exit ` +
        'status and output; one failing does not stop the others. A host still running at timeout gives its command_id.',
      inputSchema: {
        hosts: z.array(z.string().min(1)).min(1).max(MAX_HOSTS),
        command: z.string().min(1),
        username: connectionShape.username,
        port: connectionShape.port,
        sudo_password: z.string().optional(),
        device_type: deviceTypeSchema.describe('For hosts without their own OVRD_<alias>_DEVICE_TYPE'),
        enable_password: z.string().optional(),
        enable_command: z.string().min(1).optional(),
        timeout: z.number().positive().max(86_400).default(30).describe('Seconds per host, from when its turn comes'),
        concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(DEFAULT_CONCURRENCY).describe('Hosts connecting or running at once'),
      },
      outputSchema: multiSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) =>
      guard(redactor, async () => {
        policy.checkCommand(args.command);
        const unique = [...new Set(args.hosts)];
        // Progress: one notification per host as it finishes (or is left running at its timeout).
        const report = progressReporter(extra);
        let finished = 0;
        const sent: Promise<void>[] = [];
        const done = (result: HostResult): HostResult => {
          const notified = report?.(++finished, unique.length, `${result.host}: ${result.status}${result.exit_code === null ? '' : ` (exit ${result.exit_code})`}`);
          if (notified) sent.push(notified);
          return result;
        };
        const runHost = async (host: string): Promise<HostResult> => {
          // A cancelled call starts no more hosts; those already running are interrupted by the signal.
          if (extra.signal.aborted) return done(failedHost(host, 'CANCELLED', 'The call was cancelled before this host\'s turn came'));
          try {
            // A host's own OVRD_<alias>_DEVICE_TYPE / _ENABLE_PASS win over the call's, which
            // serve the hosts without one (one list may mix vendors).
            const own = sessions.override(host);
            const session = await sessions.session({
              host,
              username: args.username,
              port: args.port,
              sudo_password: args.sudo_password,
              device_type: own?.deviceType ?? args.device_type,
              enable_password: own?.enablePassword ?? args.enable_password,
              enable_command: args.enable_command,
            }, confirmHostKey);
            const approval = await commandApproval(server, context, session, { host, tool: 'execute_command_on_hosts', action: args.command, class: () => classifyCommand(args.command, session.kind) });
            const run = await jobs.run(session.target, args.command, { timeoutMs: args.timeout * 1000, signal: extra.signal, ...(approval ? { approval } : {}) });
            const output = capped(run.output, outputPerHost(unique.length));
            return done({
              host,
              session: session.key,
              status: run.job.state,
              exit_code: run.job.exitCode,
              output: output.text,
              omitted_chars: output.omitted,
              command_id: run.job.id,
              error: run.job.error,
              notice: sessionNotices(session),
            });
          } catch (error) {
            const code = isSshError(error) ? error.code : 'INTERNAL_ERROR';
            const message = error instanceof Error ? error.message : String(error);
            return done(failedHost(host, code, message));
          }
        };
        const results = await inTurn(unique, args.concurrency, runHost);
        await Promise.all(sent);
        // A network device has no exit status: completed without a failure indicator is success.
        const succeeded = results.filter((r) => r.status === 'completed' && (r.exit_code === 0 || (r.exit_code === null && r.error === null))).length;
        const running = results.filter((r) => r.status === 'running' || r.status === 'awaiting_input' || r.status === 'awaiting_approval').length;
        const failed = results.length - succeeded - running;
        const blocks = results.map((r) => {
          const head =
            r.status === 'completed'
              ? `=== ${r.host}: Exit Status: ${r.exit_code ?? 'none (network device)'}`
              : r.status === 'error'
                ? `=== ${r.host}: Error ${r.error?.code}: ${r.error?.message}`
                : `=== ${r.host}: ${r.status} (command_id ${r.command_id})${r.error ? `: ${r.error.code}: ${r.error.message}` : ''}`;
          const omitted = r.omitted_chars > 0 ? `\n[… ${r.omitted_chars} characters omitted: get_command_status command_id=${r.command_id} since_offset=0 pages them]` : '';
          return `${head}${r.output ? `\n${r.output}` : ''}${omitted}${r.notice ? `\n${r.notice}` : ''}`;
        });
        const summary = `${results.length} hosts: ${succeeded} succeeded, ${failed} failed${running ? `, ${running} still running` : ''}.`;
        return {
          content: [{ type: 'text', text: `${summary}\n\n${blocks.join('\n\n')}` }],
          structuredContent: { command: args.command, results, succeeded, failed, running },
        } satisfies CallToolResult;
      }),
  );
}

type HostResult = z.infer<typeof multiSchema>['results'][number];

function failedHost(host: string, code: string, message: string): HostResult {
  return { host, session: null, status: 'error', exit_code: null, output: '', omitted_chars: 0, command_id: null, error: { code, message }, notice: null };
}

/** `run` over every item, at most `limit` at a time, in the items' order; `run` never rejects. */
async function inTurn<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function capped(text: string, max: number): { text: string; omitted: number } {
  if (text.length <= max) return { text, omitted: 0 };
  const half = Math.floor(max / 2);
  const omitted = text.length - 2 * half;
  return { text: `${text.slice(0, half)}\n[… ${omitted} characters omitted …]\n${text.slice(-half)}`, omitted };
}

function entryFields(entry: FileInfo) {
  return {
    name: entry.name,
    type: entry.type,
    size: entry.size,
    mode: entry.mode.toString(8).padStart(4, '0'),
    uid: entry.uid,
    gid: entry.gid,
    owner: entry.owner,
    group: entry.group,
    modified_at: entry.modifiedAt,
  };
}

/** `ls -l`-like lines: owner and group columns as wide as their longest name. */
function entryLines(entries: readonly FileInfo[]): string[] {
  const owner = (entry: FileInfo): string => entry.owner ?? '-';
  const group = (entry: FileInfo): string => entry.group ?? '-';
  const ownerWidth = Math.max(0, ...entries.map((entry) => owner(entry).length));
  const groupWidth = Math.max(0, ...entries.map((entry) => group(entry).length));
  return entries.map((entry) => {
    const kind = entry.type === 'directory' ? 'd' : entry.type === 'symlink' ? 'l' : entry.type === 'file' ? '-' : '?';
    const mode = entry.mode.toString(8).padStart(4, '0');
    return `${kind} ${mode} ${owner(entry).padEnd(ownerWidth)} ${group(entry).padEnd(groupWidth)} ${String(entry.size).padStart(10)} ${entry.modifiedAt ?? '-'}  ${entry.name}${entry.type === 'directory' ? '/' : ''}`;
  });
}

function transferResult(verb: string, result: { localPath: string; remotePath: string; bytes: number; durationMs: number }): CallToolResult {
  const rate = result.durationMs > 0 ? ` (${(result.bytes / 1024 / 1024 / (result.durationMs / 1000)).toFixed(1)} MB/s)` : '';
  const [from, to] = verb === 'Uploaded' ? [result.localPath, result.remotePath] : [result.remotePath, result.localPath];
  return {
    content: [{ type: 'text', text: `${verb} ${result.bytes} bytes: ${from} → ${to} in ${result.durationMs} ms${rate}.` }],
    structuredContent: { local_path: result.localPath, remote_path: result.remotePath, bytes: result.bytes, duration_ms: result.durationMs },
  };
}
