import { parseArgs } from 'node:util';
import { z } from 'zod';

const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

/** Server configuration: built from argv and the environment, validated once. */
export const serverConfigSchema = z.object({
  logLevel: logLevelSchema.default('info'),
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
  -h, --help           show this help and exit
  -v, --version        print the version and exit

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
    },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const parsed = serverConfigSchema.safeParse({
    logLevel: values['log-level'] ?? env.MCP_SSH_LOG_LEVEL,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid ${issue?.path.join('.') ?? 'option'}: ${issue?.message ?? 'invalid value'}`);
  }
  return { kind: 'serve', config: parsed.data };
}
