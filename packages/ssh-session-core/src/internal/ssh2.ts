// The only module that imports ssh2. ssh2 is CommonJS: `import { Client } from 'ssh2'` throws
// under plain Node ESM (vitest hides it), so take the default export once and destructure.
import ssh2 from 'ssh2';

export const { Client, utils } = ssh2;
export type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';

/**
 * Whether the client's transport is still usable. ssh2 closes channels before it emits the client's
 * 'close', so a channel closing because the link died must be told apart from a normal close here.
 */
export function isTransportAlive(client: InstanceType<typeof Client>): boolean {
  const sock = (client as unknown as { _sock?: { destroyed?: boolean; writable?: boolean } })._sock;
  return sock !== undefined && sock.destroyed !== true && sock.writable !== false;
}
