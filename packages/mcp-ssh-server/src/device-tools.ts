import { readFile } from 'node:fs/promises';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createTwoFilesPatch } from 'diff';
import type { JobManager } from 'ssh-async-jobs';
import { DeviceSession, type ConfigureResult, type Redactor } from 'ssh-session-core';
import { z } from 'zod';
import type { Approvals } from './approvals';
import type { ConfigChanges } from './config-changes';
import type { SessionRecorder } from './recorder';
import { ServerError } from './errors';
import type { LocalRoots } from './local-paths';
import type { Policy } from './policy';
import type { Session, SessionManager } from './sessions';
import { approveOn, connectionShape, deviceTypeSchema, guard, hostKeyConfirmer, sessionNotices, sessionShape } from './tools';

export interface DeviceToolContext {
  readonly sessions: SessionManager;
  readonly jobs: JobManager;
  readonly redactor: Redactor;
  readonly policy: Policy;
  readonly approvals: Approvals;
  readonly localRoots: LocalRoots;
  readonly recorder: SessionRecorder | undefined;
  readonly changes: ConfigChanges;
}

const MAX_CONFIG_LINES = 5_000;
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

const stepSchema = z.object({ command: z.string(), output: z.string(), ok: z.boolean(), failure: z.string().nullable() });
const configResultSchema = z.object({
  session: z.string(),
  ok: z.boolean(),
  applied: z.boolean(),
  lines: z.array(z.object({ line: z.string(), output: z.string(), ok: z.boolean(), failure: z.string().nullable() })),
  not_sent: z.array(z.string()),
  steps: z.array(stepSchema),
  compare: z.string().nullable(),
  confirm_by_minutes: z.number().int().nullable(),
  saved: z.boolean(),
  diff: z.string().nullable(),
  change_id: z.string().nullable(),
  mode: z.string(),
  prompt: z.string(),
  summary: z.string(),
});
const diffResultSchema = z.object({
  session: z.string(),
  change_id: z.string(),
  diff: z.string(),
  changed: z.boolean(),
  from: z.string(),
  to: z.string(),
  changes: z.array(z.object({ change_id: z.string(), at: z.string(), lines: z.number().int(), summary: z.string() })),
});

/** send_config, confirm_commit, config_diff: configuration changes on network devices. */
export function registerDeviceTools(server: McpServer, context: DeviceToolContext): void {
  const { sessions, jobs, redactor, policy, changes, recorder } = context;
  const confirmHostKey = hostKeyConfirmer(server, context);

  const deviceOf = (session: Session, tool: string): DeviceSession => {
    if (!(session.shell instanceof DeviceSession)) {
      throw new ServerError('INVALID_ARGUMENT', `${tool} is for network devices; ${session.key} is a POSIX host: change files with write_file, run commands with execute_command`);
    }
    const busy = jobs.runningOn(session.key).filter((job) => job.state !== 'awaiting_approval');
    if (busy[0]) {
      throw new ServerError('INVALID_ARGUMENT', `command ${busy[0].id} (${JSON.stringify(busy[0].command.slice(0, 60))}) is still ${busy[0].state} on ${session.key}: wait for it, answer it or interrupt it first`);
    }
    return session.shell;
  };
  const running = async (device: DeviceSession): Promise<string | undefined> => {
    const command = device.profile.runningConfig;
    if (!command) return undefined;
    const result = await device.run(command, { timeoutMs: 60_000 });
    return result.failure === undefined ? result.output : undefined;
  };

  server.registerTool(
    'send_config',
    {
      title: 'Change a network device\'s configuration',
      description:
        'Configures a network device: config mode, each line up to its prompt, STOPPING at the first rejected line (the rest unsent); ' +
        'each line\'s output and the running-config diff. Candidate platforms (Junos, IOS-XR, VyOS, PAN-OS; EOS sessions) apply only ' +
        'with commit (checked first; a failure or no commit discards the candidate).',
      inputSchema: {
        ...connectionShape,
        device_type: deviceTypeSchema,
        enable_password: z.string().optional(),
        enable_command: z.string().min(1).optional(),
        config_commands: z.array(z.string()).max(MAX_CONFIG_LINES).optional().describe('Without the config-mode command'),
        config_file: z.string().min(1).optional().describe('Instead: a file of lines on the server machine, in its local roots'),
        error_pattern: z.string().min(1).optional().describe('Regex that also fails a line'),
        commit: z.boolean().default(false),
        commit_confirmed_minutes: z.number().int().min(1).max(65_535).optional().describe('With commit: rolled back unless confirm_commit follows'),
        dry_run: z.boolean().default(false).describe('Candidate platforms: show the candidate diff, discard it'),
        save: z.boolean().default(false).describe('Save for the next boot once applied'),
        diff: z.boolean().default(true),
        line_timeout: z.number().positive().max(3_600).default(30).describe('Seconds per line'),
      },
      outputSchema: configResultSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('send_config');
        if ((args.config_commands === undefined) === (args.config_file === undefined)) throw new ServerError('INVALID_ARGUMENT', 'give config_commands or config_file (one of them)');
        const lines = args.config_commands ?? (await configFile(context.localRoots, args.config_file as string));
        for (const line of lines) policy.checkInput(line, 'a configuration line');
        if (lines.filter((line) => line.trim() !== '').length === 0) throw new ServerError('INVALID_ARGUMENT', 'no configuration lines (all are empty)');
        let errorPattern: RegExp | undefined;
        try {
          errorPattern = args.error_pattern === undefined ? undefined : new RegExp(args.error_pattern, 'm');
        } catch (error) {
          throw new ServerError('INVALID_ARGUMENT', `error_pattern is not a regular expression: ${(error as Error).message}`);
        }
        if (args.commit_confirmed_minutes !== undefined && !args.commit) throw new ServerError('INVALID_ARGUMENT', 'commit_confirmed_minutes needs commit: true');
        if (args.commit && args.dry_run) throw new ServerError('INVALID_ARGUMENT', 'commit and dry_run exclude each other');
        const session = await sessions.session(args, confirmHostKey);
        const device = deviceOf(session, 'send_config');
        const what = [args.dry_run ? 'dry run' : args.commit ? `commit${args.commit_confirmed_minutes ? ` confirmed ${args.commit_confirmed_minutes} min` : ''}` : '', args.save ? 'save' : ''].filter(Boolean).join(', ');
        await approveOn(server, context, session, { host: args.host, tool: 'send_config', action: `${lines.join('\n')}${what ? `\n(${what})` : ''}`, class: args.dry_run ? 'read-only' : 'change', signal: extra.signal });
        const before = args.diff ? await running(device) : undefined;
        const result = await device.configure(lines, {
          ...(errorPattern ? { errorPattern } : {}),
          commit: args.commit,
          ...(args.commit_confirmed_minutes === undefined ? {} : { commitConfirmedMinutes: args.commit_confirmed_minutes }),
          dryRun: args.dry_run,
          save: args.save,
          lineTimeoutMs: args.line_timeout * 1000,
        });
        const after = before === undefined ? undefined : await running(device);
        const diff = before !== undefined && after !== undefined ? unifiedDiff(before, after, 'before', 'after') : null;
        // Kept when it changed something: a run of dry runs or refused lines must not push the real changes out.
        const change =
          before !== undefined && after !== undefined && (result.applied || before !== after)
            ? changes.add({ session: session.key, summary: result.summary, lines: result.lines.length + result.notSent.length, before: redactor.redact(before), after: redactor.redact(after) })
            : undefined;
        recorder?.change(
          session.key,
          `send_config${change ? ` ${change.id}` : ''}`,
          [...result.lines.map((line) => ({ ...line, command: line.line })), ...result.steps].map((entry) => ({ prompt: entry.prompt, command: redactor.redact(entry.command), output: redactor.redact(entry.output) })),
          `send_config ${result.ok ? 'ok' : 'NOT OK'}: ${redactor.redact(result.summary)}${result.notSent.length > 0 ? ` (${result.notSent.length} not sent)` : ''}`,
        );
        return configResult(session, result, diff, change?.id ?? null, args.diff && device.profile.runningConfig === undefined ? `${device.profile.name} has no command to print its running configuration: no diff` : null);
      }),
  );

  server.registerTool(
    'confirm_commit',
    {
      title: 'Confirm a confirmed commit',
      description: 'Confirms a send_config commit_confirmed_minutes before the device rolls it back.',
      inputSchema: { ...connectionShape, device_type: deviceTypeSchema },
      outputSchema: stepSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) =>
      guard(redactor, async () => {
        policy.checkWrite('confirm_commit');
        // Any session may confirm: a reconnected one too.
        const session = await sessions.session(args, confirmHostKey);
        const device = deviceOf(session, 'confirm_commit');
        await approveOn(server, context, session, { host: args.host, tool: 'confirm_commit', action: 'confirm the pending commit', class: 'change', signal: extra.signal });
        const step = await device.confirmCommit().catch((error: unknown) => {
          recorder?.change(session.key, 'confirm_commit', [], `confirm_commit failed: ${redactor.redact((error as Error).message)}`);
          throw error;
        });
        recorder?.change(session.key, 'confirm_commit', [{ prompt: step.prompt, command: step.command, output: redactor.redact(step.output) }], 'confirm_commit ok');
        return {
          content: [{ type: 'text', text: `Confirmed (${step.command}).${step.output ? `\n${step.output}` : ''}` }],
          structuredContent: { command: step.command, output: step.output, ok: step.ok, failure: step.failure ?? null },
        };
      }),
  );

  server.registerTool(
    'config_diff',
    {
      title: 'What changed in a device\'s running configuration',
      description: 'Running-config diff of a send_config (default the newest; 20 kept per device): its before/after, or since_before: before it to now.',
      inputSchema: {
        ...sessionShape,
        change_id: z.string().min(1).max(16).optional(),
        against: z.enum(['the_change', 'since_before']).default('the_change'),
      },
      outputSchema: diffResultSchema.shape,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    async (args) =>
      guard(redactor, async () => {
        const session = await sessions.existing(args);
        const device = deviceOf(session, 'config_diff');
        const change = changes.get(session.key, args.change_id);
        if (!change) {
          throw new ServerError(
            'INVALID_ARGUMENT',
            args.change_id === undefined
              ? `no send_config with diff on ${session.key} yet${changes.dir ? '' : ' in this server (--config-snapshots keeps them across restarts)'}: nothing to compare with`
              : `no single kept change of ${session.key} has the id ${JSON.stringify(args.change_id)}; kept: ${changes.list(session.key).map((kept) => kept.id).join(', ') || 'none'}`,
          );
        }
        const since = args.against === 'since_before';
        const now = since ? await running(device) : change.after;
        if (now === undefined) throw new ServerError('INVALID_ARGUMENT', `the running configuration of ${session.key} could not be read`);
        const from = `before change ${change.id} (${change.at})`;
        const to = since ? 'now' : `after change ${change.id}`;
        const diff = unifiedDiff(change.before, since ? redactor.redact(now) : now, from, to);
        const kept = changes.list(session.key).map((entry) => ({ change_id: entry.id, at: entry.at, lines: entry.lines, summary: entry.summary }));
        return {
          content: [{ type: 'text', text: `${diff || 'No difference.'}\n\nKept changes (newest first): ${kept.map((entry) => `${entry.change_id} ${entry.at} (${entry.lines} lines: ${entry.summary})`).join('; ')}` }],
          structuredContent: { session: session.key, change_id: change.id, diff, changed: diff !== '', from, to, changes: kept },
        };
      }),
  );
}

/** The lines of a config file on the server machine (within the local roots, at most 1 MiB). */
async function configFile(roots: LocalRoots, path: string): Promise<string[]> {
  const real = await roots.source(path);
  const bytes = await readFile(real);
  if (bytes.length > MAX_CONFIG_FILE_BYTES) throw new ServerError('INVALID_ARGUMENT', `config_file ${JSON.stringify(path)} is over ${MAX_CONFIG_FILE_BYTES} bytes`);
  const lines = bytes.toString('utf8').split(/\r?\n/);
  if (lines.length > MAX_CONFIG_LINES) throw new ServerError('INVALID_ARGUMENT', `config_file ${JSON.stringify(path)} has over ${MAX_CONFIG_LINES} lines`);
  return lines;
}

/** A unified diff without its file header lines ('' when equal). */
export function unifiedDiff(before: string, after: string, from: string, to: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(from, to, before, after, undefined, undefined, { context: 3 }).replace(/^=+\n/m, '');
}

function configResult(session: Session, result: ConfigureResult, diff: string | null, changeId: string | null, note: string | null): CallToolResult {
  const lines = result.lines.map((line) => `${line.ok ? 'ok  ' : 'FAIL'} ${line.line}${line.output.trim() ? `\n${line.output.replace(/\n$/, '').replace(/^/gm, '     ')}` : ''}`);
  const text = [
    `${result.ok ? 'OK' : 'NOT OK'}: ${result.summary}.`,
    '',
    ...lines,
    ...(result.notSent.length > 0 ? ['', `Not sent (${result.notSent.length}):`, ...result.notSent.map((line) => `     ${line}`)] : []),
    ...result.steps.map((step) => `${step.ok ? 'ok  ' : 'FAIL'} ${step.command}${step.output.trim() ? `\n${step.output.replace(/\n$/, '').replace(/^/gm, '     ')}` : ''}`),
    ...(result.compare !== null ? ['', 'Candidate against the running configuration:', result.compare] : []),
    ...(diff !== null ? ['', diff === '' ? 'Running configuration: unchanged.' : `Running configuration diff:\n${diff}`] : []),
    ...(changeId !== null ? ['', `change_id ${changeId} (config_diff)`] : []),
    ...[note, sessionNotices(session)].filter((part): part is string => part !== null).flatMap((part) => ['', part]),
  ];
  return {
    content: [{ type: 'text', text: text.join('\n') }],
    structuredContent: {
      session: session.key,
      ok: result.ok,
      applied: result.applied,
      lines: result.lines.map((line) => ({ line: line.line, output: line.output, ok: line.ok, failure: line.failure ?? null })),
      not_sent: [...result.notSent],
      steps: result.steps.map((step) => ({ command: step.command, output: step.output, ok: step.ok, failure: step.failure ?? null })),
      compare: result.compare,
      confirm_by_minutes: result.confirmBy,
      saved: result.saved,
      diff,
      change_id: changeId,
      mode: result.mode,
      prompt: result.prompt,
      summary: result.summary,
    },
  };
}
