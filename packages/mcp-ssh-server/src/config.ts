import { parseArgs } from 'node:util';
import { z } from 'zod';

const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

/** Server configuration: built from argv and the environment, validated once. */
const overrideSchema = z.object({
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  key: z.string().min(1).optional(),
  sudoPassword: z.string().optional(),
  enablePassword: z.string().optional(),
});

export const serverConfigSchema = z.object({
  logLevel: logLevelSchema.default('info'),
  /** ssh_config to read; default ~/.ssh/config. */
  sshConfigPath: z.string().min(1).optional(),
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  agent: z.string().min(1).optional(),
  /** OVRD_<alias>_HOST/_PORT/_USER/_PASS/_KEY/_SUDO_PASS/_ENABLE_PASS, by alias as written in the variable. */
  overrides: z.record(z.string(), overrideSchema).default({}),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve'; readonly config: ServerConfig };

export const HELP_TEXT = `mcp-ssh-server: an MCP server (stdio) giving AI agents persistent SSH sessions.

Usage:
  mcp-ssh-server [options]

Options:
  --log-level <level>  debug | info | warn | error | silent (env MCP_SSH_LOG_LEVEL; default info)
  --ssh-config <path>  ssh_config to read (env MCP_SSH_CONFIG; default ~/.ssh/config)
  -h, --help           show this help and exit
  -v, --version        print the version and exit

Environment: SSH_AUTH_SOCK (ssh-agent); per host alias, so secrets need not pass through the
model: OVRD_<alias>_HOST, _PORT, _USER, _PASS, _KEY, _SUDO_PASS, _ENABLE_PASS (<alias> as in
ssh_config, or upper-cased with other characters as _: web-1 → OVRD_WEB_1_PASS).

The server speaks MCP over stdin/stdout; logs go to stderr only.
Client setup (Claude Code):  claude mcp add ssh -- npx -y mcp-ssh-server
`;

/**
 * Reads argv and the environment into a command. The only place that reads `process.env`.
 *
 * @throws Error with a message fit for stderr when an argument or variable is invalid.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      'log-level': { type: 'string' },
      'ssh-config': { type: 'string' },
    },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const parsed = serverConfigSchema.safeParse({
    logLevel: values['log-level'] ?? env.MCP_SSH_LOG_LEVEL,
    sshConfigPath: values['ssh-config'] ?? env.MCP_SSH_CONFIG,
    agent: env.SSH_AUTH_SOCK || undefined,
    overrides: overridesFromEnv(env),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid ${issue?.path.join('.') ?? 'option'}: ${issue?.message ?? 'invalid value'}`);
  }
  return { kind: 'serve', config: parsed.data };
}

const OVERRIDE_FIELDS: Readonly<Record<string, keyof z.infer<typeof overrideSchema>>> = {
  HOST: 'host',
  PORT: 'port',
  USER: 'user',
  PASS: 'password',
  KEY: 'key',
  SUDO_PASS: 'sudoPassword',
  ENABLE_PASS: 'enablePassword',
};

/** `OVRD_<alias>_<FIELD>` variables, grouped by alias. */
export function overridesFromEnv(env: NodeJS.ProcessEnv): Record<string, Record<string, string>> {
  const overrides: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(env)) {
    const match = /^OVRD_(.+?)_(HOST|PORT|USER|PASS|KEY|SUDO_PASS|ENABLE_PASS)$/.exec(name);
    if (!match || value === undefined) continue;
    const [, alias = '', field = ''] = match;
    const key = OVERRIDE_FIELDS[field];
    if (key) (overrides[alias] ??= {})[key] = value;
  }
  return overrides;
}
