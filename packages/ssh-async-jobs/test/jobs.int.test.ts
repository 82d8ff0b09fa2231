// The job manager over real shells on the real sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { keyLogin, sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { Redactor, ShellSession, SshConnection } from 'ssh-session-core';
import { JobManager, type JobProgress, type JobTarget } from '../src/index';

const facts = sshdFacts();

describe.skipIf(!facts)(`JobManager on the real sshd ${facts ? '' : `(SKIPPED: ${sshdSkipReason()})`}`, () => {
  const f = facts as SshdFacts;
  let connection: SshConnection;
  let target: JobTarget;
  const jobs = new JobManager();

  beforeAll(async () => {
    connection = await SshConnection.connect(keyLogin(f));
    const shell = await ShellSession.open(connection);
    target = { key: connection.key, shell, openShell: () => ShellSession.open(connection) };
  });
  afterAll(() => {
    target?.shell.close();
    connection?.close();
  });

  it('returns a finished job with its result when the command ends within the timeout', async () => {
    const result = await jobs.run(target, 'echo hello; (exit 3)', { timeoutMs: 5_000 });
    expect(result).toMatchObject({ finished: true, output: 'hello\n', job: { state: 'completed', exitCode: 3, shell: 'primary' } });
    expect(jobs.history(1)[0]?.id).toBe(result.job.id);
  });

  it('keeps the exit status of a command that ends the shell (exit 7); the next job runs in a fresh shell', async () => {
    const shell = await ShellSession.open(connection);
    try {
      const own: JobTarget = { key: connection.key, shell };
      const exited = await jobs.run(own, 'echo bye; exit 7', { timeoutMs: 5_000 });
      // A login bash says "logout" as it goes.
      expect(exited).toMatchObject({ finished: true, output: expect.stringMatching(/^bye\n/) as unknown, job: { state: 'failed', exitCode: 7, error: { code: 'SHELL_EXITED' } } });
      expect(exited.job.error?.message).toMatch(/exited with status 7 .*fresh shell/);
      const next = await jobs.run(own, 'echo again', { timeoutMs: 5_000 });
      expect(next).toMatchObject({ finished: true, output: 'again\n', job: { state: 'completed', exitCode: 0, freshShell: true } });
    } finally {
      shell.close();
    }
  });

  it('goes async at the timeout and keeps running: sleep 4; echo late', async () => {
    const started = Date.now();
    const result = await jobs.run(target, 'sleep 4; echo late', { timeoutMs: 1_000 });
    const waited = Date.now() - started;
    expect(result).toMatchObject({ finished: false, output: '', job: { state: 'running', exitCode: null, sessionKey: connection.key } });
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(2_500);
    expect(jobs.running().map((job) => job.id)).toContain(result.job.id);
    const done = await jobs.wait(result.job.id, 10_000);
    expect(done).toMatchObject({ state: 'completed', exitCode: 0 });
    expect(jobs.status(result.job.id).output).toMatchObject({ text: 'late\n', nextOffset: 5, more: false });
  });

  it('interrupts a running job; the shell is back and the next command runs at once', async () => {
    const { job } = await jobs.run(target, 'sleep 30', { detached: true });
    const interrupted = await jobs.interrupt(job.id);
    expect(interrupted).toMatchObject({ state: 'interrupted', interrupt: 'interrupted', exitCode: 130 });
    await expect(jobs.interrupt(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_RUNNING' });
    const next = await jobs.run(target, 'echo next', { timeoutMs: 2_000 });
    expect(next).toMatchObject({ finished: true, output: 'next\n', job: { shell: 'primary' } });
  });

  it('reports a prompt as awaiting_input; input completes the job', async () => {
    const started = await jobs.run(target, "read -p 'Enter value: ' v; echo \"got $v\"", { timeoutMs: 20_000 });
    expect(started).toMatchObject({ finished: false, output: 'Enter value: ', job: { state: 'awaiting_input', awaitingInput: 'Enter value:' } });
    expect(jobs.running().find((job) => job.id === started.job.id)?.state).toBe('awaiting_input');
    const after = await jobs.sendInput(started.job.id, 'typed\\n');
    expect(after.job).toMatchObject({ state: 'completed', exitCode: 0 });
    expect(after.output.text).toBe('got typed\n');
  });

  it('keeps secret input out of everything it reports', async () => {
    const secret = 'S3cret-input-value';
    const started = await jobs.run(target, "read -s -p 'Password: ' pw; echo; echo \"you typed $pw\"", { timeoutMs: 20_000 });
    expect(started.job.state).toBe('awaiting_input');
    const after = await jobs.sendInput(started.job.id, `${secret}\n`, { secret: true });
    expect(after.job.state).toBe('completed');
    expect(after.output.text).toBe('\nyou typed ********\n');
    expect(JSON.stringify([jobs.history(), jobs.status(started.job.id)])).not.toContain(secret);
    // Paged in small pieces, no page shows part of the secret either.
    const pages: string[] = [];
    for (let offset = 0, more = true; more; ) {
      const { output } = jobs.status(started.job.id, { sinceOffset: offset, maxChars: 7 });
      pages.push(output.text);
      offset = output.nextOffset;
      more = output.more;
    }
    expect(pages.join('')).toBe('Password: \nyou typed ********\n');
    expect(pages.join('|')).not.toMatch(/S3c|ret-|value/);
    expect(jobs.status(started.job.id, { tailLines: 1 }).output.text).toBe('you typed ********\n');
  });

  it('never shows the first part of a known secret while the rest has not arrived', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-split');
    const own = new JobManager({ redactor });
    const started = await own.run(target, "printf 'a hun'; sleep 1; printf 'ter2-split b\\n'", { timeoutMs: 400 });
    expect(started).toMatchObject({ finished: false, output: 'a ' });
    expect(own.status(started.job.id).output).toMatchObject({ text: 'a ', nextOffset: 2, more: true });
    expect(own.status(started.job.id, { tailLines: 1 }).output.text).toBe('a ');
    await own.wait(started.job.id, 5_000);
    expect(own.status(started.job.id).output.text).toBe('a ******** b\n');
    // Read on from where the live read stopped: the secret is whole now, and redacted.
    expect(own.status(started.job.id, { sinceOffset: 2 }).output.text).toBe('******** b\n');
  });

  it('keeps a full-screen job awaiting input while keys are typed into it; waits without a timer for Infinity', async () => {
    const started = await jobs.run(target, 'less /etc/passwd', { timeoutMs: 20_000 });
    expect(started.job).toMatchObject({ state: 'awaiting_input', fullScreen: true });
    const after = await jobs.sendInput(started.job.id, ' ', { waitMs: 200 });
    expect(after.job).toMatchObject({ state: 'awaiting_input', fullScreen: true });
    (target.shell as ShellSession).sendKeys('q');
    await expect(jobs.wait(started.job.id, Infinity)).resolves.toMatchObject({ state: 'completed', exitCode: 0 });
  });

  it('reads a long output incrementally by offset, exactly', async () => {
    const expected = Array.from({ length: 30_000 }, (_, i) => `${i + 1}\n`).join('');
    const { job, finished } = await jobs.run(target, 'seq 1 30000', { timeoutMs: 10_000 });
    expect(finished).toBe(true);
    let offset = 0;
    let text = '';
    for (;;) {
      const { output } = jobs.status(job.id, { sinceOffset: offset, maxChars: 10_000 });
      expect(output.skippedChars).toBe(0);
      text += output.text;
      offset = output.nextOffset;
      if (!output.more) break;
    }
    expect(text).toBe(expected);
    expect(jobs.status(job.id, { tailLines: 2 }).output).toMatchObject({ text: '29999\n30000\n', nextOffset: expected.length });
  });

  it('keeps head and tail of a finished job and says what it skipped', async () => {
    const small = new JobManager({ historyOutput: { headChars: 10, tailChars: 10 }, historyBudgetChars: 100 });
    const { job } = await small.run(target, 'seq 1 1000', { timeoutMs: 10_000 });
    expect(job).toMatchObject({ state: 'completed', totalChars: 3893 });
    const status = small.status(job.id);
    expect(status.job.droppedChars).toBe(3873);
    expect(status.output).toMatchObject({ text: '1\n2\n3\n4\n5\n', nextOffset: 10, more: true });
    expect(small.status(job.id, { sinceOffset: 10 }).output).toMatchObject({ text: '\n999\n1000\n', skippedChars: 3873, more: false });
  });

  it('keeps a bounded history, newest first', async () => {
    const bounded = new JobManager({ historyLimit: 3 });
    for (let i = 1; i <= 5; i++) await bounded.run(target, `echo ${i}`, { timeoutMs: 5_000 });
    expect(bounded.history().map((job) => job.command)).toEqual(['echo 5', 'echo 4', 'echo 3']);
    expect(bounded.history(1).map((job) => job.command)).toEqual(['echo 5']);
    const oldest = jobs.history().at(-1);
    expect(oldest).toBeDefined();
  });

  it('counts concurrent starts once against maxRunning: as many jobs as the limit start at once, one more is refused', async () => {
    const limited = new JobManager({ maxRunning: 4 });
    const shells = await Promise.all(Array.from({ length: 5 }, () => ShellSession.open(connection)));
    try {
      const targets: JobTarget[] = shells.map((shell, index) => ({ key: `${connection.key}#${index}`, shell }));
      // All five start in the same tick, before any of them runs.
      const started = await Promise.allSettled(targets.map((own) => limited.run(own, 'sleep 0.3; echo done', { timeoutMs: 5_000 })));
      expect(started.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => (outcome as PromiseFulfilledResult<{ output: string }>).value.output)).toEqual(['done\n', 'done\n', 'done\n', 'done\n']);
      expect(started.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason)).toMatchObject([{ code: 'JOB_LIMIT_REACHED' }]);
      // The limit is free again once they ended.
      await expect(limited.run(targets[0] as JobTarget, 'echo again', { timeoutMs: 5_000 })).resolves.toMatchObject({ output: 'again\n' });
    } finally {
      for (const shell of shells) shell.close();
    }
  });

  it('runs a second job on a busy session in a second shell, in the same directory', async () => {
    await jobs.run(target, 'cd /usr/share', { timeoutMs: 5_000 });
    const first = await jobs.run(target, 'sleep 1; echo first', { detached: true });
    const second = await jobs.run(target, 'pwd; echo "$$"', { timeoutMs: 5_000 });
    expect(second).toMatchObject({ finished: true, job: { shell: 'extra', workingDirectory: '/usr/share', state: 'completed' } });
    expect(second.output.split('\n')[0]).toBe('/usr/share');
    await expect(jobs.wait(first.job.id, 5_000)).resolves.toMatchObject({ state: 'completed', shell: 'primary' });
    await jobs.run(target, 'cd', { timeoutMs: 5_000 });
  });

  it('refuses a job on a busy session that cannot open a second shell, naming the running job', async () => {
    const strict: JobTarget = { key: target.key, shell: target.shell };
    const first = await jobs.run(strict, 'sleep 0.5', { detached: true });
    await expect(jobs.run(strict, 'echo x')).rejects.toMatchObject({
      code: 'SESSION_BUSY',
      message: expect.stringContaining(first.job.id) as unknown,
    });
    await jobs.wait(first.job.id, 5_000);
  });

  it('reports progress while the caller waits: characters so far and the last line', async () => {
    const seen: JobProgress[] = [];
    const fast = new JobManager({ progressIntervalMs: 50 });
    await fast.run(target, 'for i in 1 2 3 4 5; do echo "line $i"; sleep 0.1; done', { timeoutMs: 5_000, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toMatchObject({ lastLine: expect.stringMatching(/^line [45]$/) as unknown });
    expect(seen.map((p) => p.totalChars)).toEqual([...seen.map((p) => p.totalChars)].sort((a, b) => a - b));
  });

  it('interrupts the job when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await jobs.run(target, 'sleep 30', { timeoutMs: 10_000, signal: controller.signal });
    expect(result.job.state).toBe('interrupted');
  });

  it('ends a job whose connection dies as connection_lost', async () => {
    const own = await SshConnection.connect(keyLogin(f));
    const shell = await ShellSession.open(own);
    const ownTarget: JobTarget = { key: own.key, shell };
    const pid = Number((await shell.run('echo $$')).output.trim());
    const { job } = await jobs.run(ownTarget, 'sleep 30', { detached: true });
    // The shell's parent is the unprivileged sshd process of this connection (same machine).
    const sshdChild = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    process.kill(sshdChild, 'SIGKILL');
    await expect(jobs.wait(job.id, 10_000)).resolves.toMatchObject({ state: 'connection_lost', error: { code: 'CONNECTION_CLOSED' } });
    own.close();
  });

  it('tells watchers as jobs start, print, wait for input and end; never the text', async () => {
    const own = new JobManager();
    const events: string[] = [];
    const stop = own.watch((event) => events.push(`${event.type} ${event.state}`));
    const result = await own.run(target, "echo one; read -r -p 'go? ' x; echo two", { timeoutMs: 5_000 });
    expect(result.job.state).toBe('awaiting_input');
    await own.sendInput(result.job.id, 'y\n');
    await own.wait(result.job.id, 5_000);
    stop();
    await own.run(target, 'echo unwatched', { timeoutMs: 5_000 });
    expect(events[0]).toBe('start running');
    expect(events).toContain('output running');
    expect(events).toContain('state awaiting_input');
    expect(events.at(-1)).toBe('end completed');
    expect(events.filter((event) => event.startsWith('start'))).toHaveLength(1);
  });

  describe('approval before running', () => {
    /** An approval the test decides: its resolve/reject, and the job id and signal it was asked with. */
    function deferredApproval() {
      let approve!: () => void;
      let deny!: (error: Error) => void;
      const asked: { id?: string; signal?: AbortSignal } = {};
      const decided = new Promise<void>((resolve, reject) => {
        approve = resolve;
        deny = reject;
      });
      return {
        approve,
        deny,
        asked,
        approval: (job: { readonly id: string; readonly signal: AbortSignal }) => {
          asked.id = job.id;
          asked.signal = job.signal;
          return decided;
        },
      };
    }
    const exists = async (path: string): Promise<boolean> => (await target.shell.run(`test -e ${path}`)).exitCode === 0;
    const file = `/tmp/mcp-jobs-approval-${process.pid}`;
    afterAll(async () => {
      await target.shell.run(`rm -f ${file}*`);
    });

    it('waits as awaiting_approval (listed, no output, not run), then runs once approved, under the same id', async () => {
      const ended: string[] = [];
      const own = new JobManager({ onJobEnd: (job) => ended.push(`${job.id} ${job.state}`) });
      const gate = deferredApproval();
      const waiting = await own.run(target, `echo ran > ${file}-a; echo approved`, { timeoutMs: 300, approval: gate.approval });
      expect(waiting).toMatchObject({ finished: false, output: '', job: { state: 'awaiting_approval', ranAt: null, exitCode: null } });
      expect(gate.asked.id).toBe(waiting.job.id);
      expect(own.running().map((job) => `${job.id} ${job.state}`)).toEqual([`${waiting.job.id} awaiting_approval`]);
      await expect(own.sendInput(waiting.job.id, 'x\n')).rejects.toMatchObject({ code: 'JOB_NOT_RUNNING', message: expect.stringContaining('awaits approval') as unknown });
      expect(await exists(`${file}-a`)).toBe(false);
      gate.approve();
      const done = await own.wait(waiting.job.id, 5_000);
      expect(done).toMatchObject({ id: waiting.job.id, state: 'completed', exitCode: 0, shell: 'primary' });
      expect(Date.parse(done.ranAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
      expect(own.status(done.id).output.text).toBe('approved\n');
      expect(await exists(`${file}-a`)).toBe(true);
      expect(ended).toEqual([`${done.id} completed`]);
    });

    it('counts the wait for approval in timeoutMs: approved in time, the caller gets the finished result', async () => {
      const gate = deferredApproval();
      setTimeout(gate.approve, 100);
      const result = await jobs.run(target, 'echo quick', { timeoutMs: 5_000, approval: gate.approval });
      expect(result).toMatchObject({ finished: true, output: 'quick\n', job: { state: 'completed', exitCode: 0 } });
    });

    it('never runs a denied command: failed with the denial code and message', async () => {
      const ended: string[] = [];
      const own = new JobManager({ onJobEnd: (job) => ended.push(`${job.state} ${job.error?.code}`) });
      const gate = deferredApproval();
      const waiting = await own.run(target, `touch ${file}-d`, { detached: true, approval: gate.approval });
      gate.deny(Object.assign(new Error('denied by the operator'), { code: 'APPROVAL_DENIED' }));
      await expect(own.wait(waiting.job.id, 5_000)).resolves.toMatchObject({ state: 'failed', ranAt: null, error: { code: 'APPROVAL_DENIED', message: 'denied by the operator' } });
      expect(ended).toEqual(['failed APPROVAL_DENIED']);
      expect(own.running()).toEqual([]);
      expect(await exists(`${file}-d`)).toBe(false);
      // A rejection without a code still ends it, as NOT_APPROVED.
      const other = deferredApproval();
      const second = await own.run(target, `touch ${file}-d`, { detached: true, approval: other.approval });
      other.deny(new Error('no'));
      await expect(own.wait(second.job.id, 5_000)).resolves.toMatchObject({ state: 'failed', error: { code: 'NOT_APPROVED' } });
      expect(await exists(`${file}-d`)).toBe(false);
    });

    it('interrupting a job that awaits approval, or closing its session, withdraws the approval: never run', async () => {
      const gate = deferredApproval();
      const waiting = await jobs.run(target, `touch ${file}-i`, { detached: true, approval: gate.approval });
      await expect(jobs.interrupt(waiting.job.id)).resolves.toMatchObject({ state: 'interrupted', error: { code: 'APPROVAL_WITHDRAWN' } });
      expect(gate.asked.signal?.aborted).toBe(true);
      // A late approval changes nothing.
      gate.approve();
      await new Promise((resolve) => setImmediate(resolve));
      expect(jobs.status(waiting.job.id).job.state).toBe('interrupted');

      const closing = deferredApproval();
      const onClosing: JobTarget = { key: 'closing-approval', shell: target.shell };
      const pending = await jobs.run(onClosing, `touch ${file}-i`, { detached: true, approval: closing.approval });
      await expect(jobs.endJobsOn('closing-approval', 'closed while awaiting approval')).resolves.toEqual([pending.job.id]);
      expect(jobs.status(pending.job.id).job).toMatchObject({ state: 'interrupted', error: { code: 'SESSION_CLOSED', message: 'closed while awaiting approval' } });
      expect(closing.asked.signal?.aborted).toBe(true);
      // The shell it would have used was not touched.
      expect(await exists(`${file}-i`)).toBe(false);

      // Aborting the caller's signal while it waits does the same.
      const controller = new AbortController();
      const aborted = deferredApproval();
      setTimeout(() => controller.abort(), 100);
      const result = await jobs.run(target, `touch ${file}-i`, { timeoutMs: 5_000, signal: controller.signal, approval: aborted.approval });
      expect(result.job).toMatchObject({ state: 'interrupted', error: { code: 'APPROVAL_WITHDRAWN' } });
    });

    it('an approved job finds the shell busy: it runs in a second shell', async () => {
      const gate = deferredApproval();
      const waiting = await jobs.run(target, 'echo second', { detached: true, approval: gate.approval });
      const busy = await jobs.run(target, 'sleep 0.5', { detached: true });
      gate.approve();
      await expect(jobs.wait(waiting.job.id, 5_000)).resolves.toMatchObject({ state: 'completed', shell: 'extra' });
      await jobs.wait(busy.job.id, 5_000);
    });
  });

  it('ends every job of a closed session (primary and extra shells) as interrupted with SESSION_CLOSED', async () => {
    const own = await SshConnection.connect(keyLogin(f));
    const ownTarget: JobTarget = { key: 'closing', shell: await ShellSession.open(own), openShell: () => ShellSession.open(own) };
    const first = await jobs.run(ownTarget, 'sleep 30', { detached: true });
    const second = await jobs.run(ownTarget, 'sleep 30', { detached: true });
    const other = await jobs.run(target, 'sleep 0.3; echo other', { detached: true });
    expect(second.job.shell).toBe('extra');
    const ended = await jobs.endJobsOn('closing', 'closed by the test');
    expect(ended.sort()).toEqual([first.job.id, second.job.id].sort());
    for (const id of ended) {
      expect(jobs.status(id).job).toMatchObject({ state: 'interrupted', error: { code: 'SESSION_CLOSED', message: 'closed by the test' } });
    }
    // Jobs of other sessions go on.
    await expect(jobs.wait(other.job.id, 5_000)).resolves.toMatchObject({ state: 'completed' });
    // dispose() ends what is left anywhere.
    const last = await jobs.run(target, 'sleep 30', { detached: true });
    expect(await jobs.dispose()).toEqual([last.job.id]);
    expect(jobs.running()).toEqual([]);
    own.close();
  });
});
