// End to end: MCP resources of the built bin (ssh://sessions, ssh://sessions/{session}[/screen],
// ssh://jobs/{command_id}/output, ssh://hosts), their templates, completion and subscriptions,
// read by the real SDK client while tools drive the loopback sshd.
import { ResourceUpdatedNotificationSchema, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { startServer, type E2eServer, type ToolResult } from './helpers';

const facts = sshdFacts();

describe.skipIf(!facts)(`mcp-ssh-server resources on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  const key = `${f.user}@${f.host}:${f.port}`;
  const sessionUri = `ssh://sessions/${encodeURIComponent(key)}`;
  let server: E2eServer;
  let client: E2eServer['client'];
  /** Every notifications/resources/updated, with when it arrived. */
  const updates: { uri: string; at: number }[] = [];
  const listeners = new Set<() => void>();
  const call = (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => server.call(name, args);
  const read = (uri: string): Promise<ReadResourceResult> => client.readResource({ uri });
  const textOf = (result: ReadResourceResult): string => {
    const first = result.contents[0];
    return first && 'text' in first ? first.text : '';
  };
  const metaOf = (result: ReadResourceResult): Record<string, unknown> => result.contents[0]?._meta ?? {};
  const jsonOf = (result: ReadResourceResult): Record<string, unknown> => JSON.parse(textOf(result)) as Record<string, unknown>;
  /** Resolves once `count` updates for `uri` have arrived (counting from `from`). */
  const updated = (uri: string, count = 1, from = 0): Promise<void> =>
    new Promise((resolve) => {
      const check = (): boolean => updates.slice(from).filter((update) => update.uri === uri).length >= count;
      if (check()) return resolve();
      const listener = (): void => {
        if (!check()) return;
        listeners.delete(listener);
        resolve();
      };
      listeners.add(listener);
    });
  /** Starts a command in the background and returns its id. */
  const startAsync = async (command: string): Promise<string> => {
    const started = await call('execute_command_async', { host: 'testhost', command });
    expect(started.structuredContent).toMatchObject({ status: 'running' });
    return started.structuredContent?.command_id as string;
  };
  /** Resolves once the job has ended (get_command_status waits on nothing: the subscription tells). */
  const ended = async (id: string): Promise<void> => {
    const uri = `ssh://jobs/${id}/output`;
    await client.subscribeResource({ uri });
    for (;;) {
      const from = updates.length;
      const page = await read(uri);
      if (!['running', 'awaiting_input'].includes(metaOf(page).status as string)) break;
      await updated(uri, 1, from);
    }
    await client.unsubscribeResource({ uri });
  };

  beforeAll(async () => {
    server = await startServer(f);
    client = server.client;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push({ uri: notification.params.uri, at: Date.now() });
      for (const listener of [...listeners]) listener();
    });
  });
  afterAll(async () => {
    if (server) await call('execute_command', { host: 'testhost', command: `rm -rf /tmp/mcp-res-${process.pid}-*` }).catch(() => undefined);
    await server?.call('close_all_sessions').catch(() => undefined);
    await server?.close();
  });

  it('offers subscriptions, lists the fixed resources and the templates', async () => {
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(expect.arrayContaining(['ssh://sessions', 'ssh://hosts']));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate).sort()).toEqual([
      'ssh://jobs/{command_id}/output',
      'ssh://jobs/{command_id}/output{?offset}',
      'ssh://sessions/{session}',
      'ssh://sessions/{session}/screen',
    ]);
    expect(resourceTemplates.find((template) => template.uriTemplate === 'ssh://sessions/{session}')).toMatchObject({ mimeType: 'application/json' });
  });

  it('shows the session execute_command opened in ssh://sessions (as list_sessions) and in the resource list', async () => {
    expect(jsonOf(await read('ssh://sessions'))).toEqual({ sessions: [] });
    await call('execute_command', { host: 'testhost', command: 'cd /tmp' });
    const listed = jsonOf(await read('ssh://sessions'));
    const tool = await call('list_sessions');
    expect(listed).toEqual(tool.structuredContent);
    expect(listed.sessions).toEqual([expect.objectContaining({ session: key, alias: 'testhost', connected: true })]);
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toContain(sessionUri);
  });

  it('reads one session: kind, cwd, state and its running jobs', async () => {
    await call('execute_command', { host: 'testhost', command: 'cd /tmp' });
    const idle = jsonOf(await read(sessionUri));
    expect(idle).toMatchObject({ session: key, kind: 'posix', cwd: '/tmp', state: 'idle', prompt: null, mode: null, running_jobs: [] });
    const id = await startAsync('sleep 30');
    const busy = jsonOf(await read(sessionUri));
    expect(busy).toMatchObject({ state: 'busy', running_jobs: [{ command_id: id, status: 'running', command: 'sleep 30' }] });
    await call('interrupt_command_by_id', { command_id: id });
    expect(jsonOf(await read(sessionUri))).toMatchObject({ state: 'idle', running_jobs: [] });
  });

  it('sends updates as a subscribed job prints, one when it ends, then reads its whole output and pages it by offset', async () => {
    const from = updates.length;
    const id = await startAsync('for i in 1 2 3; do echo line$i; sleep 0.3; done');
    const uri = `ssh://jobs/${id}/output`;
    await client.subscribeResource({ uri });
    // Each update says: read again. Read until the job has ended.
    let page = await read(uri);
    while (metaOf(page).status === 'running') {
      const seen = updates.length;
      await updated(uri, 1, seen);
      page = await read(uri);
    }
    const received = updates.slice(from).filter((update) => update.uri === uri);
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(textOf(page)).toBe('line1\nline2\nline3\n');
    expect(page.contents[0]).toMatchObject({ uri, mimeType: 'text/plain' });
    expect(metaOf(page)).toMatchObject({ command_id: id, status: 'completed', exit_code: 0, offset: 0, next_offset: 18, total_chars: 18, more: false, next_uri: `${uri}?offset=18` });
    const second = await read(`${uri}?offset=6`);
    expect(textOf(second)).toBe('line2\nline3\n');
    expect(metaOf(second)).toMatchObject({ offset: 6, next_offset: 18, more: false });
    expect(textOf(await read(`${uri}?offset=18`))).toBe('');
    // Unsubscribed: nothing more for it.
    await client.unsubscribeResource({ uri });
    const after = updates.length;
    await call('execute_command', { host: 'testhost', command: 'true' });
    expect(updates.slice(after).filter((update) => update.uri === uri)).toEqual([]);
  });

  it('throttles updates to about 4 per second per URI, and still sends the end', async () => {
    const id = await startAsync('for i in $(seq 1 60); do echo $i; sleep 0.02; done');
    const uri = `ssh://jobs/${id}/output`;
    const from = updates.length;
    const startedAt = Date.now();
    await ended(id);
    const duration = Date.now() - startedAt;
    const received = updates.slice(from).filter((update) => update.uri === uri);
    // 60 lines over more than a second: without throttling, about one update per line.
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received.length).toBeLessThanOrEqual(Math.ceil(duration / 250) + 2);
    // Between updates (but the last, the end) at least the interval, less timer slack.
    const gaps = received.slice(1, -1).map((update, index) => update.at - (received[index]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150);
    const page = await read(uri);
    expect(metaOf(page)).toMatchObject({ status: 'completed', total_chars: textOf(page).length });
    expect(textOf(page).split('\n').slice(-2)).toEqual(['60', '']);
  });

  it('updates ssh://sessions and the session when a job starts and ends there, and when sessions open and close', async () => {
    await client.subscribeResource({ uri: 'ssh://sessions' });
    await client.subscribeResource({ uri: sessionUri });
    try {
      let from = updates.length;
      const id = await startAsync('sleep 0.5');
      await Promise.all([updated('ssh://sessions', 1, from), updated(sessionUri, 1, from)]);
      from = updates.length;
      await ended(id);
      await Promise.all([updated('ssh://sessions', 1, from), updated(sessionUri, 1, from)]);
      from = updates.length;
      await call('close_session', { host: 'testhost' });
      await Promise.all([updated('ssh://sessions', 1, from), updated(sessionUri, 1, from)]);
      expect(jsonOf(await read('ssh://sessions'))).toEqual({ sessions: [] });
      from = updates.length;
      await call('execute_command', { host: 'testhost', command: 'true' });
      await Promise.all([updated('ssh://sessions', 1, from), updated(sessionUri, 1, from)]);
      expect(jsonOf(await read(sessionUri))).toMatchObject({ session: key, state: 'idle' });
    } finally {
      await client.unsubscribeResource({ uri: 'ssh://sessions' });
      await client.unsubscribeResource({ uri: sessionUri });
    }
  });

  it('completes {session} with the open session keys and {command_id} with running and recent jobs', async () => {
    await call('execute_command', { host: 'testhost', command: 'true' });
    const sessions = await client.complete({ ref: { type: 'ref/resource', uri: 'ssh://sessions/{session}' }, argument: { name: 'session', value: f.user.slice(0, 2) } });
    expect(sessions.completion.values).toEqual([key]);
    const none = await client.complete({ ref: { type: 'ref/resource', uri: 'ssh://sessions/{session}/screen' }, argument: { name: 'session', value: 'nobody-such@' } });
    expect(none.completion.values).toEqual([]);
    const finished = await call('execute_command', { host: 'testhost', command: 'echo done' });
    const finishedId = finished.structuredContent?.command_id as string;
    const running = await startAsync('sleep 30');
    try {
      const all = await client.complete({ ref: { type: 'ref/resource', uri: 'ssh://jobs/{command_id}/output' }, argument: { name: 'command_id', value: '' } });
      expect(all.completion.values).toEqual(expect.arrayContaining([running, finishedId]));
      const one = await client.complete({ ref: { type: 'ref/resource', uri: 'ssh://jobs/{command_id}/output{?offset}' }, argument: { name: 'command_id', value: running.slice(0, 8) } });
      expect(one.completion.values).toEqual([running]);
    } finally {
      await call('interrupt_command_by_id', { command_id: running });
    }
  });

  it('shows a full-screen program in ssh://sessions/{session}/screen, else says none runs', async () => {
    const started = await call('execute_command', { host: 'testhost', command: 'less /etc/passwd', timeout: 10 });
    expect(started.structuredContent).toMatchObject({ status: 'awaiting_input', full_screen: true });
    const screen = await read(`${sessionUri}/screen`);
    expect(textOf(screen)).toMatch(/^\[full-screen program, 200x\d+, cursor \d+,\d+\]\n/);
    expect(textOf(screen).split('\n').some((line) => line.startsWith('root:x:0:0'))).toBe(true);
    expect(metaOf(screen)).toMatchObject({ full_screen: true, width: 200 });
    await call('send_keys', { host: 'testhost', keys: 'q' });
    const none = await read(`${sessionUri}/screen`);
    expect(textOf(none)).toBe(`No full-screen program is running in ${key}.`);
    expect(metaOf(none)).toMatchObject({ full_screen: false });
  });

  it('serves ssh://hosts as list_hosts returns it', async () => {
    const hosts = jsonOf(await read('ssh://hosts'));
    expect(hosts).toEqual((await call('list_hosts')).structuredContent);
    expect(hosts.hosts).toEqual(expect.arrayContaining([expect.objectContaining({ alias: 'testhost', port: f.port, session_open: true })]));
  });

  it('never shows a secret given in a call: not in the directory, the screen, the output, the jobs or the lists', async () => {
    const secret = f.password;
    const dir = `/tmp/mcp-res-${process.pid}-${secret}`;
    // The sudo password registers the secret; the directory, the file and the output carry it.
    const made = await call('execute_command', { host: 'testhost', command: `mkdir -p ${dir} && cd ${dir} && echo ${secret} > ${dir}/note && echo ${secret}`, sudo_password: secret });
    expect(made.structuredContent).toMatchObject({ exit_code: 0 });
    const id = made.structuredContent?.command_id as string;
    const session = await read(sessionUri);
    expect(jsonOf(session)).toMatchObject({ cwd: `/tmp/mcp-res-${process.pid}-********` });
    const job = await read(`ssh://jobs/${id}/output`);
    expect(textOf(job)).toBe('********\n');
    const paged = await read(`ssh://jobs/${id}/output?offset=2`);
    const less = await call('execute_command', { host: 'testhost', command: `less ${dir}/note`, timeout: 10 });
    expect(less.structuredContent).toMatchObject({ full_screen: true });
    const running = await read(sessionUri);
    const screen = await read(`${sessionUri}/screen`);
    expect(textOf(screen)).toContain('********');
    await call('send_keys', { host: 'testhost', keys: 'q' });
    const everything = [session, job, paged, running, screen, await read('ssh://sessions'), await read('ssh://hosts'), await client.listResources()].map((result) => JSON.stringify(result));
    for (const shown of everything) expect(shown).not.toContain(secret);
    expect(JSON.stringify(await client.complete({ ref: { type: 'ref/resource', uri: 'ssh://sessions/{session}' }, argument: { name: 'session', value: '' } }))).not.toContain(secret);
  });

  it('answers an unknown session or job, a bad offset and an unknown URI with a clear MCP error', async () => {
    await expect(read(`ssh://sessions/${encodeURIComponent('nobody@192.0.2.1:22')}`)).rejects.toMatchObject({
      code: -32002,
      message: expect.stringMatching(/Error NO_SESSION: there is no open session "nobody@192\.0\.2\.1:22" \(open: /),
    });
    await expect(read(`ssh://sessions/${encodeURIComponent('nobody@192.0.2.1:22')}/screen`)).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('NO_SESSION') });
    await expect(read('ssh://jobs/no-such-job/output')).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('Error JOB_NOT_FOUND: no job "no-such-job"') });
    await expect(client.subscribeResource({ uri: 'ssh://jobs/no-such-job/output' })).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('JOB_NOT_FOUND') });
    const done = await call('execute_command', { host: 'testhost', command: 'true' });
    await expect(read(`ssh://jobs/${done.structuredContent?.command_id as string}/output?offset=-1`)).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('Error INVALID_ARGUMENT: offset "-1" is not a non-negative integer'),
    });
    await expect(client.subscribeResource({ uri: 'ssh://nothing/here' })).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('NOT_FOUND') });
  });
});
