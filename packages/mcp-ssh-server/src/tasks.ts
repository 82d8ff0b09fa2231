import { randomBytes } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type CallToolResult,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import type { JobInfo, JobManager } from 'ssh-async-jobs';
import { isSshError, type Redactor } from 'ssh-session-core';
import { wrapSdkHandler } from './sdk-handler';
import { commandResult, headAndTail } from './tools';

/** The tools a client may run as MCP tasks (protocol 2025-11-25); without a task they answer as always. */
export const TASK_TOOLS: ReadonlySet<string> = new Set(['execute_command', 'execute_command_async']);

/** How long a task is kept after it is created, unless the client asks for another ttl (ms). */
const DEFAULT_TTL_MS = 60 * 60 * 1000;
/** Tasks kept per connection; the oldest go first. */
const MAX_TASKS = 200;
/** What a client is told about polling tasks/get (tasks/result waits by itself). */
const POLL_INTERVAL_MS = 1000;
/** The longest one wait on a job (setTimeout's limit); the end of a job is waited for again after it. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

interface TaskRecord {
  readonly taskId: string;
  /** The job that runs it; absent when the call failed before one started. */
  readonly jobId: string | undefined;
  readonly createdAt: string;
  readonly ttl: number | null;
  /** tasks/cancel was asked: the task is cancelled whatever the command does next. */
  cancelled?: string;
  /** Once terminal, the task and its result as they stay (the job may leave the history later). */
  final?: { readonly task: Task; readonly result: CallToolResult };
  /** Resolves when `final` is set. */
  readonly settled: Promise<void>;
}

/**
 * MCP tasks for commands: a `tools/call` of execute_command or execute_command_async with a `task`
 * starts the command as a job (as execute_command_async does) and answers with the task at once.
 * The task is the job: its id is the command_id (get_command_status, send_input and
 * interrupt_command_by_id work on it too); tasks/get maps the job's state (running, awaiting
 * approval or input: working, with a statusMessage; completed; failed and connection lost:
 * failed; interrupted: cancelled); tasks/result waits for the end and answers what
 * get_command_status then would; tasks/cancel interrupts it. A task keeps its end (status and
 * result) once reached, whatever the job history drops later. Waiting for input is `working`,
 * not `input_required`: that status means the server has requests for the client in
 * tasks/result, and a command's prompt is answered with send_input instead.
 * The SDK's own task support is not used: it would run every call without a task by polling.
 * One registry per connection. Call before the server connects (the capability cannot be added
 * later), and only when execute_command_async is served (tasks run through it).
 */
export function serveCommandTasks(server: McpServer, context: { readonly jobs: JobManager; readonly redactor: Redactor; readonly tools: ReadonlySet<string> }): void {
  const { jobs, redactor } = context;
  server.server.registerCapabilities({ tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } });
  const tasks = new Map<string, TaskRecord>();

  const jobOf = (record: TaskRecord): JobInfo | undefined => {
    if (record.jobId === undefined) return undefined;
    try {
      return jobs.status(record.jobId, { maxChars: 1 }).job;
    } catch {
      return undefined;
    }
  };
  const base = (record: TaskRecord): Pick<Task, 'taskId' | 'createdAt' | 'ttl' | 'pollInterval'> => ({ taskId: record.taskId, createdAt: record.createdAt, ttl: record.ttl, pollInterval: POLL_INTERVAL_MS });
  /** The task as the job shows it now (before its end is kept). */
  const live = (record: TaskRecord, job: JobInfo): Task => {
    const lastUpdatedAt = job.endedAt ?? job.startedAt;
    const task = { ...base(record), lastUpdatedAt };
    if (record.cancelled !== undefined) return { ...task, status: 'cancelled', statusMessage: record.cancelled };
    switch (job.state) {
      case 'running':
        return { ...task, status: 'working' };
      case 'awaiting_approval':
        return { ...task, status: 'working', statusMessage: `awaiting approval: mcp-ssh-server approve ${job.id.slice(0, 8)}` };
      case 'awaiting_input':
        return { ...task, status: 'working', statusMessage: redactor.redact(`waiting for input${job.awaitingInput ? ` at ${JSON.stringify(job.awaitingInput)}` : ''}: answer with send_input command_id=${job.id}`) };
      case 'completed':
        return { ...task, status: 'completed', ...(job.exitCode === null ? {} : { statusMessage: `exit status ${job.exitCode}` }) };
      case 'interrupted':
        return { ...task, status: 'cancelled', ...(job.ranAt === null ? { statusMessage: 'cancelled before it started: it never ran' } : {}) };
      default:
        return { ...task, status: 'failed', ...(job.error ? { statusMessage: redactor.redact(`${job.error.code}: ${job.error.message}`) } : {}) };
    }
  };
  const taskOf = (record: TaskRecord): Task => {
    if (record.final) return record.final.task;
    const job = jobOf(record);
    if (!job) return { ...base(record), status: 'working', lastUpdatedAt: record.createdAt };
    return live(record, job);
  };
  /** Keeps the task's end once its job has one, so it never changes again. */
  const settle = (record: TaskRecord, result: CallToolResult | undefined, resolve: () => void): void => {
    const job = jobOf(record);
    if (record.final || (!result && !job)) return resolve();
    const task = result ? { ...base(record), status: 'failed' as const, lastUpdatedAt: new Date().toISOString(), statusMessage: redactor.redact(textOf(result)) } : live(record, job as JobInfo);
    record.final = { task, result: redactor.redactValue(result ?? commandResult(job as JobInfo, headAndTail(jobs, (job as JobInfo).id), null)) };
    resolve();
  };
  const prune = (): void => {
    const now = Date.now();
    for (const [id, record] of tasks) if (record.ttl !== null && Date.parse(record.createdAt) + record.ttl < now) tasks.delete(id);
    while (tasks.size > MAX_TASKS) tasks.delete(tasks.keys().next().value as string);
  };
  const find = (taskId: string): TaskRecord => {
    prune();
    const record = tasks.get(taskId);
    if (!record) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${redactor.redact(taskId)}`);
    return record;
  };
  const related = (taskId: string): Record<string, unknown> => ({ [RELATED_TASK_META_KEY]: { taskId } });

  wrapSdkHandler(server, 'tools/call', (callTool) => async (request, extra) => {
    const params = request.params ?? {};
    if (params.task === undefined) return callTool(request, extra);
    // Refused before anything runs: a task for another tool must not make its change and then fail.
    if (typeof params.name !== 'string' || !TASK_TOOLS.has(params.name) || !context.tools.has(params.name)) {
      throw new McpError(ErrorCode.MethodNotFound, `${redactor.redact(String(params.name))} does not run as a task; tasks: ${[...TASK_TOOLS].filter((name) => context.tools.has(name)).join(', ')}`);
    }
    const task = (params.task ?? {}) as { ttl?: unknown };
    const args = { ...((params.arguments as Record<string, unknown> | undefined) ?? {}) };
    if (args.format !== undefined && args.format !== 'text') {
      throw new McpError(ErrorCode.InvalidParams, 'format json is not available for a task: call execute_command without a task, or read the output with get_command_status');
    }
    delete args.format;
    // As execute_command_async: the job starts (or awaits approval) and the answer comes at once.
    const forwarded: Record<string, unknown> = { ...params, name: 'execute_command_async', arguments: args };
    delete forwarded.task;
    const started = (await callTool({ ...request, params: forwarded }, extra)) as CallToolResult;
    const id = started.isError ? undefined : (started.structuredContent?.command_id as string | undefined);
    let resolveSettled: () => void = () => undefined;
    const record: TaskRecord = {
      taskId: id ?? randomBytes(8).toString('hex'),
      jobId: id,
      createdAt: new Date().toISOString(),
      ttl: typeof task.ttl === 'number' ? task.ttl : DEFAULT_TTL_MS,
      settled: new Promise<void>((resolve) => {
        resolveSettled = resolve;
      }),
    };
    tasks.set(record.taskId, record);
    prune();
    // A task begins working; one that failed before its command started ends at once.
    const created = { ...taskOf(record), status: 'working' as const, lastUpdatedAt: record.createdAt };
    if (id === undefined) settle(record, started, resolveSettled);
    else void waitForEnd(jobs, id).then(() => settle(record, undefined, resolveSettled));
    return { task: created };
  });

  // No related-task _meta on tasks/get: its taskId is the source of truth (the specification says so).
  server.server.setRequestHandler(GetTaskRequestSchema, (request) => taskOf(find(request.params.taskId)));

  server.server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const record = find(request.params.taskId);
    if (!record.final) {
      await new Promise<void>((resolve, reject) => {
        const stop = (): void => reject(new McpError(ErrorCode.ConnectionClosed, 'tasks/result was cancelled'));
        if (extra.signal.aborted) return stop();
        extra.signal.addEventListener('abort', stop, { once: true });
        void record.settled.then(() => {
          extra.signal.removeEventListener('abort', stop);
          resolve();
        });
      });
    }
    const final = record.final as { readonly result: CallToolResult };
    return { ...final.result, _meta: { ...final.result._meta, ...related(record.taskId) } };
  });

  server.server.setRequestHandler(ListTasksRequestSchema, () => {
    prune();
    return { tasks: [...tasks.values()].reverse().map(taskOf) };
  });

  server.server.setRequestHandler(CancelTaskRequestSchema, async (request) => {
    const record = find(request.params.taskId);
    const before = taskOf(record);
    if (before.status === 'completed' || before.status === 'failed' || before.status === 'cancelled') {
      throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${before.status}`);
    }
    // Cancelled from now on, even if the command ends otherwise before the interrupt lands.
    record.cancelled = 'cancelled by the client: the command was interrupted';
    await jobs.interrupt(record.jobId as string).catch((error: unknown) => {
      if (!(isSshError(error) && error.code === 'JOB_NOT_RUNNING')) throw error;
    });
    await record.settled;
    return taskOf(record);
  });
}

/** Resolves when job `id` has ended (or is no longer known). */
async function waitForEnd(jobs: JobManager, id: string): Promise<void> {
  for (;;) {
    const job = await jobs.wait(id, LONGEST_WAIT_MS).catch(() => undefined);
    if (!job || (job.state !== 'running' && job.state !== 'awaiting_input' && job.state !== 'awaiting_approval')) return;
  }
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}
