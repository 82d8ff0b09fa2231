// Promise wrappers over a raw ssh2 Client, for tests that prove the harness itself (the product's
// own connection layer lives in ssh-session-core).
import ssh2 from 'ssh2';
import type { Client as Ssh2Client, ClientChannel, ConnectConfig, PseudoTtyOptions } from 'ssh2';

const { Client } = ssh2;

/** Connects and resolves once authenticated; rejects with ssh2's error otherwise. */
export function connectClient(config: ConnectConfig): Promise<Ssh2Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let ready = false;
    client.once('ready', () => {
      ready = true;
      resolve(client);
    });
    // After ready, a dropped link shows as 'close'; an 'error' without a listener would crash the run.
    client.on('error', (error) => {
      if (ready) return;
      client.end();
      reject(error);
    });
    client.connect({ readyTimeout: 10_000, ...config });
  });
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs one command on an exec channel (no PTY) and collects its output. */
export function execCommand(client: Ssh2Client, command: string, stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(error);
        return;
      }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      channel.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
      channel.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
      channel.on('exit', (exitCode: number | null) => (code = exitCode));
      channel.on('close', () => resolve({ stdout, stderr, code }));
      if (stdin !== undefined) channel.end(stdin);
    });
  });
}

/** Opens an interactive shell with a PTY. */
export function openShell(client: Ssh2Client, pty: PseudoTtyOptions = { term: 'dumb', cols: 200, rows: 50 }): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.shell(pty, (error, channel) => (error ? reject(error) : resolve(channel)));
  });
}

/**
 * Resolves with everything read from `stream` once `pattern` matches the accumulated text;
 * rejects after `timeoutMs` with what was read, so a failing test shows the output.
 */
export function readUntil(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (data: Buffer | string): void => {
      text += data.toString();
      if (pattern.test(text)) {
        cleanup();
        resolve(text);
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`stream closed before ${pattern}; read: ${JSON.stringify(text)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`waited ${timeoutMs} ms for ${pattern}; read: ${JSON.stringify(text.slice(-500))}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.on('close', onClose);
  });
}
