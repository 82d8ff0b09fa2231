// Shared by the examples: connection options from the environment, with strict host key checking.
//   SSH_HOST (default 127.0.0.1), SSH_PORT (22), SSH_USER ($USER), SSH_KEY (~/.ssh/id_ed25519),
//   SSH_KNOWN_HOSTS (~/.ssh/known_hosts)
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export function connectOptionsFromEnv(env = process.env) {
  return {
    host: env.SSH_HOST ?? '127.0.0.1',
    port: Number(env.SSH_PORT ?? 22),
    username: env.SSH_USER ?? userInfo().username,
    // A key named in SSH_KEY must be there (else the connect fails at once, naming it); the
    // default one is skipped when missing, so the agent alone works.
    auth: {
      privateKeys: [env.SSH_KEY ? { path: env.SSH_KEY } : { path: join(homedir(), '.ssh', 'id_ed25519'), optional: true }],
      agent: env.SSH_AUTH_SOCK,
    },
    hostKeys: { mode: 'strict', knownHostsFiles: [env.SSH_KNOWN_HOSTS ?? join(homedir(), '.ssh', 'known_hosts')] },
  };
}
