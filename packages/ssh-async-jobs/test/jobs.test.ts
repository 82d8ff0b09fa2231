import { describe, expect, it } from 'vitest';
import { shellQuote, unescapeInput } from '../src/index';

describe('unescapeInput', () => {
  it('turns the escapes a model writes into characters', () => {
    expect(unescapeInput('yes\\n')).toBe('yes\n');
    expect(unescapeInput('a\\r\\tb\\x1b[A\\\\n')).toBe('a\r\tb\x1b[A\\n');
    expect(unescapeInput('real\nnewline \\q')).toBe('real\nnewline \\q');
  });
});

describe('shellQuote', () => {
  it('quotes any text as one shell word', () => {
    expect(shellQuote("/tmp/it's here")).toBe(`'/tmp/it'\\''s here'`);
    expect(shellQuote('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
  });
});

describe('JobManager observer', () => {
  it('never passes on a known secret cut between two output chunks', async () => {
    const { JobManager } = await import('../src/index');
    const { OutputWindow, Redactor } = await import('ssh-session-core');
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    const listeners = new Set<(event: { type: 'output'; text: string }) => void>();
    let finish!: (result: { output: string; exitCode: number; totalChars: number; droppedChars: number; durationMs: number; freshShell: boolean }) => void;
    const window = new OutputWindow({ headChars: 1000, tailChars: 1000 });
    const handle = {
      command: 'print it',
      state: 'running' as const,
      awaitingInput: undefined,
      fullScreen: false,
      interrupt: () => Promise.resolve('idle' as const),
      subscribe: (listener: (event: { type: 'output'; text: string }) => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      done: new Promise<Parameters<typeof finish>[0]>((resolve) => (finish = resolve)),
      snapshot: () => window.snapshot(),
      output: window,
      write: () => true,
    };
    const shell = { start: () => handle, run: () => Promise.reject(new Error('unused')), workingDirectory: () => Promise.resolve(undefined), close: () => undefined };
    const seen: string[] = [];
    const jobs = new JobManager({ redactor, observer: { output: (_job, text) => seen.push(text) } });
    const running = jobs.run({ key: 'u@h:22', shell: shell as never }, 'print it', { detached: true });
    await running;
    for (const chunk of ['before hunt', 'er2-sec', 'ret after ', 'and hunter2-secret whole', ' end']) {
      window.append(chunk);
      for (const listener of listeners) listener({ type: 'output', text: chunk });
    }
    finish({ output: window.snapshot().text, exitCode: 0, totalChars: window.snapshot().totalChars, droppedChars: 0, durationMs: 1, freshShell: false });
    await new Promise((resolve) => setImmediate(resolve));
    const all = seen.join('');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('hunt');
    expect(all).toMatch(/^before .* after and .* whole end$/);
  });
});
