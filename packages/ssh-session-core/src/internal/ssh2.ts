// The only module that imports ssh2. ssh2 is CommonJS: `import { Client } from 'ssh2'` throws
// under plain Node ESM (vitest hides it), so take the default export once and destructure.
import ssh2 from 'ssh2';

export const { Client, utils } = ssh2;
export type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
