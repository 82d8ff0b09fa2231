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
import type { Redactor } from 'ssh-session-core';
import { commandResult, headAndTail } from './tools';

/** The tools a client may run as MCP tasks (protocol 2025-11-25); without a task they answer as always. */
export const TASK_TOOLS: ReadonlySet<string> = new Set(['execute_command', 'execute_command_async']);

/** How long a task is kept after it is created, unless the client asks for another ttl (ms). */
const DEFAULT_TTL_MS = 60 * 60 * 1000;
/** What a client is told about polling tasks/get (tasks/result waits by itself). */
const POLL_INTERVAL_MS = 1000;
/** The longest one wait on a job (setTimeout's limit); tasks/result waits again after it. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

interface TaskRecord {
  readonly taskId: string;
  /** The job that runs it; absent when the call failed before one started. */
  readonly jobId: string | undefined;
  /** The answer of a call that failed before a job started (isError). */
  readonly failed: CallToolResult | undefined;
  readonly createdAt: string;
  readonly ttl: number | null;
}

type Handler = (request: { method: string; params?: Record<string, unknown> }, extra: { signal: AbortSignal }) => Promise<unknown>;

/**
 * MCP tasks for commands: a `tools/call` of execute_command or execute_command_async with a `task`
 * starts the command as a job (as execute_command_async does) and answers with the task at once.
 * The task is the job: its id is the command_id (get_command_status, send_input and
 * interrupt_command_by_id work on it too); tasks/get maps the job's state (running and awaiting
 * approval: working, awaiting input: input_required, completed, failed and connection lost:
 * failed, interrupted: cancelled); tasks/result waits for the end and answers what
 * execute_command would have; tasks/cancel interrupts it. The SDK's own task support is not
 * used: it would run every call without a task by polling. One registry per connection.
 * Call before the server connects (the capability cannot be added later).
 */
export function serveCommandTasks(server: McpServer, context: { readonly jobs: JobManager; readonly redactor: Redactor }): void {
  const { jobs, redactor } = context;
  server.server.registerCapabilities({ tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } });
  const tasks = new Map<string, TaskRecord>();

  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  const callTool = handlers?.get('tools/call');
  if (!handlers || !callTool) throw new Error('serveCommandTasks: register the tools first (the MCP SDK installs its tools/call handler then)');

  /** The job of a task, or undefined once the job manager no longer keeps it. */
  const jobOf = (record: TaskRecord): JobInfo | undefined => {
    if (record.jobId === undefined) return undefined;
    try {
      return jobs.status(record.jobId, { maxChars: 1 }).job;
    } catch {
      return undefined;
    }
  };
  const taskOf = (record: TaskRecord): Task => {
    const job = jobOf(record);
    const base = { taskId: record.taskId, createdAt: record.createdAt, ttl: record.ttl, pollInterval: POLL_INTERVAL_MS };
    if (record.failed) return { ...base, status: 'failed', lastUpdatedAt: record.createdAt, statusMessage: redactor.redact(textOf(record.failed)) };
    if (!job) return { ...base, status: 'failed', lastUpdatedAt: record.createdAt, statusMessage: 'the command is no longer kept (the last 100 are)' };
    const lastUpdatedAt = job.endedAt ?? job.startedAt;
    switch (job.state) {
      case 'running':
        return { ...base, status: 'working', lastUpdatedAt };
      case 'awaiting_approval':
        return { ...base, status: 'working', lastUpdatedAt, statusMessage: `awaiting approval: mcp-ssh-server approve ${job.id.slice(0, 8)}` };
      case 'awaiting_input':
        return { ...base, status: 'input_required', lastUpdatedAt, statusMessage: redactor.redact(`waiting for input${job.awaitingInput ? ` at ${JSON.stringify(job.awaitingInput)}` : ''}: answer with send_input command_id=${job.id}`) };
      case 'completed':
        return { ...base, status: 'completed', lastUpdatedAt, ...(job.exitCode === null ? {} : { statusMessage: `exit status ${job.exitCode}` }) };
      case 'interrupted':
        return { ...base, status: 'cancelled', lastUpdatedAt };
      default:
        // Cancelled while it awaited approval: it never ran.
        if (job.error?.code === 'APPROVAL_WITHDRAWN') return { ...base, status: 'cancelled', lastUpdatedAt, statusMessage: 'cancelled before it was approved: it never ran' };
        return { ...base, status: 'failed', lastUpdatedAt, ...(job.error ? { statusMessage: redactor.redact(`${job.error.code}: ${job.error.message}`) } : {}) };
    }
  };
  /** The task asked for, once expired ones are forgotten. */
  const find = (taskId: string): TaskRecord => {
    const now = Date.now();
    for (const [id, record] of tasks) if (record.ttl !== null && Date.parse(record.createdAt) + record.ttl < now) tasks.delete(id);
    const record = tasks.get(taskId);
    if (!record) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${redactor.redact(taskId)}`);
    return record;
  };
  const related = (taskId: string): Record<string, unknown> => ({ [RELATED_TASK_META_KEY]: { taskId } });

  handlers.set('tools/call', async (request, extra) => {
    const params = request.params ?? {};
    const task = params.task as { ttl?: number } | undefined;
    if (task === undefined || typeof params.name !== 'string' || !TASK_TOOLS.has(params.name)) return callTool(request, extra);
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
    const record: TaskRecord = {
      taskId: id ?? randomBytes(8).toString('hex'),
      jobId: id,
      failed: id === undefined ? started : undefined,
      createdAt: new Date().toISOString(),
      ttl: typeof task.ttl === 'number' ? task.ttl : DEFAULT_TTL_MS,
    };
    tasks.set(record.taskId, record);
    return { task: taskOf(record) };
  });

  // No related-task _meta on tasks/get: its taskId is the source of truth (the specification says so).
  server.server.setRequestHandler(GetTaskRequestSchema, (request) => taskOf(find(request.params.taskId)));

  server.server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const record = find(request.params.taskId);
    if (record.failed) return { ...record.failed, _meta: related(record.taskId) };
    let job = jobOf(record);
    while (job && (job.state === 'running' || job.state === 'awaiting_input' || job.state === 'awaiting_approval')) {
      if (extra.signal.aborted) throw new McpError(ErrorCode.ConnectionClosed, 'tasks/result was cancelled');
      const id = job.id;
      job = await new Promise<JobInfo | undefined>((resolve) => {
        const stop = (): void => resolve(jobOf(record));
        extra.signal.addEventListener('abort', stop, { once: true });
        void jobs
          .wait(id, LONGEST_WAIT_MS)
          .then(resolve, () => resolve(undefined))
          .finally(() => extra.signal.removeEventListener('abort', stop));
      });
    }
    if (!job) throw new McpError(ErrorCode.InvalidParams, `Task ${request.params.taskId}: the command is no longer kept (the last 100 are)`);
    const result = commandResult(job, headAndTail(jobs, job.id), null);
    return redactor.redactValue({ ...result, _meta: related(record.taskId) });
  });

  server.server.setRequestHandler(ListTasksRequestSchema, () => {
    const listed = [...tasks.values()].reverse().map(taskOf);
    return { tasks: listed };
  });

  server.server.setRequestHandler(CancelTaskRequestSchema, async (request) => {
    const record = find(request.params.taskId);
    const before = taskOf(record);
    if (before.status === 'completed' || before.status === 'failed' || before.status === 'cancelled') {
      throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${before.status}`);
    }
    await jobs.interrupt(record.jobId as string);
    return taskOf(record);
  });
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}
