// MCP tasks through the built bin with the SDK client: a task-aware client runs execute_command as
// a task (created at once, its id the command_id, polled, its result what execute_command would
// answer), cancels one, lists them, and sees a call that fails before it starts as a failed task;
// a client without tasks gets the plain answer as before.
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { startServer, type E2eServer } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`MCP tasks on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;

  beforeAll(async () => {
    server = await startServer(f);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('says which tools take a task, and that it serves tasks', async () => {
    expect(server.client.getServerCapabilities()?.tasks).toMatchObject({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const { tools } = await server.client.listTools();
    const optional = tools.filter((tool) => tool.execution?.taskSupport === 'optional').map((tool) => tool.name);
    expect(optional.sort()).toEqual(['execute_command', 'execute_command_async']);
  });

  it('runs execute_command as a task: created at once, working, then its result; the task id is the command_id', async () => {
    const messages: { type: string; task?: { taskId: string; status: string }; result?: unknown }[] = [];
    const stream = server.client.experimental.tasks.callToolStream({ name: 'execute_command', arguments: { host: 'testhost', command: 'sleep 1; echo done; (exit 3)' } }, CallToolResultSchema);
    let checked = false;
    for await (const message of stream) {
      messages.push(message as (typeof messages)[number]);
      if (message.type === 'taskCreated' && !checked) {
        checked = true;
        const id = message.task.taskId;
        expect(message.task.status).toBe('working');
        // The task is the job: the command tools work on its id.
        const status = await server.call('get_command_status', { command_id: id });
        expect(status.structuredContent).toMatchObject({ command_id: id, status: 'running' });
        expect((await server.client.experimental.tasks.getTask(id)).status).toBe('working');
      }
    }
    expect(messages[0]?.type).toBe('taskCreated');
    const last = messages.at(-1) as { type: string; result: { structuredContent: Record<string, unknown>; content: { text: string }[] } };
    expect(last.type).toBe('result');
    expect(last.result.structuredContent).toMatchObject({ status: 'completed', exit_code: 3, output: 'done\n' });
    expect(last.result.content[0]?.text).toBe('Exit Status: 3\n\nSTDOUT:\ndone\n');
    const id = messages[0]?.task?.taskId as string;
    await expect(server.client.experimental.tasks.getTask(id)).resolves.toMatchObject({ status: 'completed', statusMessage: 'exit status 3' });
    expect((await server.client.experimental.tasks.listTasks()).tasks.map((task) => task.taskId)).toContain(id);
  });

  it('cancels a task: the command is interrupted and the task cancelled; a finished one cannot be', async () => {
    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'execute_command_async', arguments: { host: 'testhost', command: 'sleep 30' }, task: { ttl: 60_000 } } },
      (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema,
    );
    expect(created.task).toMatchObject({ status: 'working', ttl: 60_000 });
    const cancelled = await server.client.experimental.tasks.cancelTask(created.task.taskId);
    expect(cancelled.status).toBe('cancelled');
    const result = await server.client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ status: 'interrupted', command_id: created.task.taskId });
    await expect(server.client.experimental.tasks.cancelTask(created.task.taskId)).rejects.toThrow(/terminal status: cancelled/);
    // The session is ready at once.
    const next = await server.call('execute_command', { host: 'testhost', command: 'echo after' });
    expect(next.structuredContent).toMatchObject({ exit_code: 0, output: 'after\n' });
  });

  it('a call that fails before it starts is a failed task with the error as its result; format json is refused as a task', async () => {
    const { CreateTaskResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'execute_command', arguments: { host: 'no-such-host.invalid', command: 'true' }, task: {} } },
      CreateTaskResultSchema,
    );
    // A task begins working; this one is failed by the next look.
    expect(created.task.status).toBe('working');
    await expect(server.client.experimental.tasks.getTask(created.task.taskId)).resolves.toMatchObject({
      status: 'failed',
      statusMessage: expect.stringMatching(/^Error (CONNECT_FAILED|HOST_KEY_UNKNOWN):/) as unknown,
    });
    const result = await server.client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.isError).toBe(true);
    await expect(
      server.client.request({ method: 'tools/call', params: { name: 'execute_command', arguments: { host: 'testhost', command: 'true', format: 'json' }, task: {} } }, CreateTaskResultSchema),
    ).rejects.toThrow(/format json is not available for a task/);
  });

  it('refuses a task for a tool that does not take one before it runs; a task\'s prompt is answered with send_input', async () => {
    const { CreateTaskResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const marker = `/tmp/mcp-task-refused-${process.pid}`;
    await expect(
      server.client.request({ method: 'tools/call', params: { name: 'write_file', arguments: { host: 'testhost', remote_path: marker, content: 'x' }, task: {} } }, CreateTaskResultSchema),
    ).rejects.toThrow(/-32601.*write_file does not run as a task/);
    const looked = await server.call('execute_command', { host: 'testhost', command: `test -e ${marker}; echo $?` });
    expect(looked.structuredContent?.output).toBe('1\n');

    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'execute_command', arguments: { host: 'testhost', command: 'read -p "name? " x; echo "hi $x"' }, task: {} } },
      CreateTaskResultSchema,
    );
    const id = created.task.taskId;
    // Never input_required (that would send the client to tasks/result for requests of the server):
    // the command's prompt is answered with send_input on the task's id.
    expect((await server.client.experimental.tasks.getTask(id)).status).toBe('working');
    const answered = await server.call('send_input', { command_id: id, input_text: 'ada\n' });
    expect(answered.structuredContent).toMatchObject({ command_id: id });
    const result = await server.client.experimental.tasks.getTaskResult(id, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ status: 'completed', output: expect.stringContaining('hi ada') as unknown });
  });

  it('a client without tasks gets the plain answer, as before', async () => {
    const plain = await server.call('execute_command', { host: 'testhost', command: 'echo plain' });
    expect(plain).toMatchObject({ structuredContent: { status: 'completed', exit_code: 0, output: 'plain\n' } });
    expect((plain as { task?: unknown }).task).toBeUndefined();
  });

  it('serves no tasks without execute_command_async (tasks run through it)', async () => {
    const only = await startServer(f, { args: ['--tools', 'execute_command'] });
    try {
      expect(only.client.getServerCapabilities()?.tasks).toBeUndefined();
      const { tools } = await only.client.listTools();
      expect(tools.map((tool) => [tool.name, tool.execution])).toEqual([['execute_command', undefined]]);
    } finally {
      await only.close();
    }
  });
});
