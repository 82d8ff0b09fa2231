export type { SshMcpServerOptions } from './server';
export { createSshMcpServer } from './server';
export { VERSION } from './version';
