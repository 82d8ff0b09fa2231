// The only module that imports ssh2. ssh2 is CommonJS: `import { Client } from 'ssh2'` throws
// under plain Node ESM (vitest hides it), so take the default export once and destructure.
import ssh2 from 'ssh2';

export const { Client, utils } = ssh2;
export type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';

/**
 * Whether the client's transport is still usable: a channel closing because the link died must be
 * told apart from a normal close.
 */
export function isTransportAlive(client: InstanceType<typeof Client>): boolean {
  const sock = (client as unknown as { _sock?: { destroyed?: boolean; writable?: boolean } })._sock;
  return sock !== undefined && sock.destroyed !== true && sock.writable !== false;
}

/**
 * Destroys the client's socket. ssh2's `end()` only half-closes it and its `destroy()` is a no-op
 * once the socket is not writable, so against a frozen peer neither ever leads to 'close'.
 */
export function destroyTransport(client: InstanceType<typeof Client>): void {
  (client as unknown as { _sock?: { destroy?: () => void } })._sock?.destroy?.();
}

/** ssh2's default server host key order (ssh2 1.17, with ed25519 support). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

/** The host key algorithm list with the types known for the host first (an `ssh-rsa` entry covers the rsa-sha2 signatures). */
export function hostKeyAlgorithmsPreferring(knownTypes: readonly string[]): string[] {
  const preferred: string[] = [];
  for (const type of knownTypes) {
    const algorithms = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const algorithm of algorithms) {
      if ((HOST_KEY_ALGORITHMS as readonly string[]).includes(algorithm) && !preferred.includes(algorithm)) preferred.push(algorithm);
    }
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((algorithm) => !preferred.includes(algorithm))];
}
