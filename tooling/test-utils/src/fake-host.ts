// In-process ssh2 Server for scripted fake hosts: network-device CLIs, abrupt disconnects, huge or
// slow output — what a real sshd cannot show. Writes are split deliberately (a prompt may arrive
// in several SSH packets) so every consumer is tested against fragmentation.
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';

const { Server, utils } = ssh2;

/** How the fake host splits what it writes. Chunk sizes cycle through the list. */
export type SplitPolicy = 'none' | { readonly chunkSizes: readonly number[] };

/** Default: sizes chosen so prompts, CRLFs and multi-byte characters land across packets. */
export const DEFAULT_SPLIT: SplitPolicy = { chunkSizes: [1, 3, 7, 2, 11, 5] };

export interface FakeHostOptions {
  readonly username?: string;
  /** Accepted password (also answered through keyboard-interactive). */
  readonly password?: string;
  /** Offered auth methods, in order. Default: password, keyboard-interactive. */
  readonly authMethods?: readonly ('password' | 'keyboard-interactive')[];
  /** Called for each interactive shell channel. Without it, shell requests are refused. */
  readonly onShell?: (shell: FakeChannel) => void;
  /** Called for each exec request. Without it, exec is refused (like many network devices). */
  readonly onExec?: (command: string, channel: FakeChannel) => void;
  /** Never answer exec requests (neither accept nor refuse): a peer that hangs. */
  readonly holdExec?: boolean;
  readonly split?: SplitPolicy;
}

/** Facts for connecting a client to a fake host. */
export interface FakeHostAddress {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The host public key, `ssh-ed25519 AAAA…`. */
  readonly hostPublicKey: string;
}

/** Connect options for a fake host: its password, any host key (the fake draws a new one each start). */
export function fakeLogin(address: FakeHostAddress): {
  host: string;
  port: number;
  username: string;
  auth: { password: string };
  hostKeys: { mode: 'insecureAcceptAnyHostKey' };
} {
  return { host: address.host, port: address.port, username: address.username, auth: { password: address.password }, hostKeys: { mode: 'insecureAcceptAnyHostKey' } };
}

/** One shell or exec channel of a fake host, as the script sees it. */
export class FakeChannel {
  /** Terminal requested by the client, if any. */
  readonly pty: { readonly term: string; readonly cols: number; readonly rows: number } | undefined;
  readonly #stream: ServerChannel;
  readonly #split: SplitPolicy;
  #chunkIndex = 0;
  #writing: Promise<void> = Promise.resolve();
  #pendingInput = '';
  readonly #lineWaiters: ((line: string) => void)[] = [];
  readonly #lines: string[] = [];
  /** Everything the client sent, raw. */
  received = '';

  constructor(
    stream: ServerChannel,
    split: SplitPolicy,
    pty: { term: string; cols: number; rows: number } | undefined,
  ) {
    this.#stream = stream;
    this.#split = split;
    this.pty = pty;
    stream.on('data', (data: Buffer) => this.#onInput(data.toString('utf8')));
    // The client may close while a split write is still going out: not the script's failure.
    stream.on('error', () => undefined);
  }

  /** Raw input from the client as it arrives. */
  onData(listener: (text: string) => void): void {
    this.#stream.on('data', (data: Buffer) => listener(data.toString('utf8')));
  }

  /** Resolves with the next input line (terminated by `\r`, `\n` or `\r\n`; terminator removed). */
  nextLine(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.#lineWaiters.push(resolve));
  }

  /**
   * Writes `text`, split into separate SSH packets by the host's split policy. Writes are queued, so
   * concurrent calls never interleave. Resolves once every chunk was handed to ssh2.
   */
  write(text: string | Buffer): Promise<void> {
    const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.#writing = this.#writing.then(() => this.#writeSplit(data));
    return this.#writing;
  }

  /** Writes to stderr (exec channels). */
  writeStderr(text: string): void {
    this.#stream.stderr.write(text);
  }

  /** Ends the channel after pending writes, with an exit status when given. */
  async end(exitCode?: number): Promise<void> {
    await this.#writing;
    if (exitCode !== undefined) this.#stream.exit(exitCode);
    this.#stream.end();
  }

  async #writeSplit(data: Buffer): Promise<void> {
    if (this.#split === 'none') {
      if (this.#stream.writable) this.#stream.write(data);
      return;
    }
    const sizes = this.#split.chunkSizes;
    for (let offset = 0; offset < data.length && this.#stream.writable; ) {
      const size = Math.max(1, sizes[this.#chunkIndex++ % sizes.length] ?? 1);
      this.#stream.write(data.subarray(offset, offset + size));
      offset += size;
      // Yield to the event loop so each chunk leaves as its own CHANNEL_DATA packet.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #onInput(text: string): void {
    this.received += text;
    this.#pendingInput += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#pendingInput);
      if (!match) break;
      const line = this.#pendingInput.slice(0, match.index);
      this.#pendingInput = this.#pendingInput.slice(match.index + match[0].length);
      const waiter = this.#lineWaiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    }
  }
}

/** A running fake host. */
export class FakeHost {
  readonly address: FakeHostAddress;
  /** Live client sockets (for fault injection). */
  readonly #sockets = new Set<Socket>();
  readonly #server: InstanceType<typeof Server>;
  /** How many connections were accepted so far. */
  connectionCount = 0;

  private constructor(server: InstanceType<typeof Server>, address: FakeHostAddress) {
    this.#server = server;
    this.address = address;
  }

  /** Starts a fake host on 127.0.0.1, on a free port. */
  static async start(options: FakeHostOptions = {}): Promise<FakeHost> {
    const username = options.username ?? 'admin';
    const password = options.password ?? 'fake-host-pass';
    const methods = options.authMethods ?? ['password', 'keyboard-interactive'];
    const split = options.split ?? DEFAULT_SPLIT;
    const keys = hostKeyPair();
    let host: FakeHost | undefined;

    const server = new Server({ hostKeys: [keys.private] }, (client: Connection) => {
      const socket = (client as unknown as { _sock: Socket })._sock;
      if (host) host.#track(socket);
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.username !== username || !methods.includes(ctx.method as 'password')) {
          ctx.reject([...methods]);
          return;
        }
        if (ctx.method === 'password') {
          if (ctx.password === password) ctx.accept();
          else ctx.reject([...methods]);
          return;
        }
        if (ctx.method === 'keyboard-interactive') {
          ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
            if (answers[0] === password) ctx.accept();
            else ctx.reject([...methods]);
          });
          return;
        }
        ctx.reject([...methods]);
      });
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let pty: { term: string; cols: number; rows: number } | undefined;
        session.on('pty', (accept, _reject, info) => {
          pty = { term: info.term, cols: info.cols, rows: info.rows };
          accept?.();
        });
        session.on('window-change', (accept) => accept?.());
        session.on('env', (accept) => accept?.());
        session.on('shell', (accept, reject) => {
          if (!options.onShell) {
            reject?.();
            return;
          }
          options.onShell(new FakeChannel(accept(), split, pty));
        });
        session.on('exec', (accept, reject, info) => {
          if (options.holdExec) return;
          if (!options.onExec) {
            reject?.();
            return;
          }
          options.onExec(info.command, new FakeChannel(accept(), split, pty));
        });
      });
    });

    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const hostPublicKey = keys.public.trim().split(' ').slice(0, 2).join(' ');
    host = new FakeHost(server, { host: '127.0.0.1', port, username, password, hostPublicKey });
    return host;
  }

  /** Resolves once no client connection is open (each socket's close is the event). */
  whenIdle(): Promise<void> {
    const open = [...this.#sockets].filter((socket) => !socket.destroyed);
    return Promise.all(open.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())))).then(() => undefined);
  }

  /** Cuts every client connection abruptly (no SSH disconnect message): a dropped link. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    // As devices do for their CLI: no Nagle delay on small writes such as a prompt.
    socket.setNoDelay(true);
    this.connectionCount++;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}

/** A line-oriented CLI script: echo, then the handler's reply, then the (possibly new) prompt. */
export interface ScriptedCli {
  /** Written once the shell opens, before the first prompt (a login banner). */
  readonly banner?: string;
  /** Initial prompt, e.g. `router1>`. */
  readonly prompt: string;
  /** Echo typed characters back, as a PTY or a device does. Default true. */
  readonly echo?: boolean;
  /** Line ending the device writes. Default `\r\n`. */
  readonly newline?: string;
  /**
   * Returns the reply to one line (without trailing newline; `undefined` for none) and optionally a
   * new prompt. Return `{ close: true }` to end the session (like `exit`).
   */
  readonly handle: (
    line: string,
    state: { readonly prompt: string },
  ) => { readonly output?: string; readonly prompt?: string; readonly close?: boolean } | string | undefined;
}

/** Builds an `onShell` callback that runs a {@link ScriptedCli}. */
export function scriptedCli(cli: ScriptedCli): (shell: FakeChannel) => void {
  const newline = cli.newline ?? '\r\n';
  return (shell) => {
    let prompt = cli.prompt;
    if (cli.echo ?? true) shell.onData((text) => void shell.write(text.replace(/\r(?!\n)|\n/g, newline)));
    void (async () => {
      await shell.write(`${cli.banner ?? ''}${prompt}`);
      for (;;) {
        const line = await shell.nextLine();
        const reply = cli.handle(line, { prompt });
        const result = typeof reply === 'string' ? { output: reply } : (reply ?? {});
        if (result.output !== undefined && result.output !== '') {
          await shell.write(`${result.output.replace(/\r?\n/g, newline)}${newline}`);
        }
        if (result.close) {
          await shell.end();
          return;
        }
        if (result.prompt !== undefined) prompt = result.prompt;
        await shell.write(prompt);
      }
    })();
  };
}

/**
 * An ed25519 host key pair ssh2 can read back. ssh2 1.17's generateKeyPairSync strips leading zero
 * bytes from the public key, so about 1 key in 256 is malformed (mscdex/ssh2#1513): draw again.
 */
function hostKeyPair(): { private: string; public: string } {
  for (;;) {
    const keys = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(keys.private) instanceof Error) && !(utils.parseKey(keys.public) instanceof Error)) return keys;
  }
}
