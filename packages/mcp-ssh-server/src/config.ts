import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { selectedTools } from './tool-list';
import { Policy } from './policy';

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
  deviceType: z.string().min(1).optional(),
});

const policySchema = z
  .object({
    allowedHosts: z.array(z.string().min(1)).optional(),
    deniedCommands: z.array(z.string().min(1)).optional(),
    allowedCommands: z.array(z.string().min(1)).optional(),
    readOnly: z.boolean().optional(),
    approval: z.enum(['off', 'changes', 'all']).optional(),
    hosts: z.record(z.string().min(1), z.object({ approval: z.enum(['off', 'changes', 'all']).optional() }).strict()).optional(),
  })
  .strict();

const httpSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8765),
  /** Bearer token every request must carry. */
  token: z.string().min(16, 'the HTTP token must be at least 16 characters'),
  /** Origins allowed besides the server's own (browsers send Origin; other clients do not). */
  allowedOrigins: z.array(z.string().min(1)).default([]),
});

export const serverConfigSchema = z.object({
  logLevel: logLevelSchema.default('info'),
  /** Also append logs to this file (created 0600). */
  logFile: z.string().min(1).optional(),
  /** ssh_config to read; default ~/.ssh/config. */
  sshConfigPath: z.string().min(1).optional(),
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  agent: z.string().min(1).optional(),
  /** OVRD_<alias>_HOST/_PORT/_USER/_PASS/_KEY/_SUDO_PASS/_ENABLE_PASS/_DEVICE_TYPE, by alias as written in the variable. */
  overrides: z.record(z.string(), overrideSchema).default({}),
  policy: policySchema.default({}),
  /** Where upload_file/download_file may read and write locally; default: the working directory. */
  localRoots: z.array(z.string().min(1)).optional(),
  /** Serve Streamable HTTP instead of stdio. */
  http: httpSchema.optional(),
  /** Append a hash-chained JSON Lines audit record per tool call and per job end to this file (0600). */
  auditLog: z.string().min(1).optional(),
  /** Rotate the audit log at this size in bytes. */
  auditMaxBytes: z.coerce.number().int().min(1024).optional(),
  /** How long a person has to answer an approval request (seconds); then it counts as denied. */
  approvalTimeoutSeconds: z.coerce.number().positive().max(86_400).optional(),
  /** Write one asciicast v2 recording per session into this directory (0700; files 0600). */
  recordDir: z.string().min(1).optional(),
  /** Serve only these tools: groups (core, files, screen, devices, hosts, all) and tool names, comma separated. */
  tools: z.string().min(1).optional(),
  /** List each tool's output schema in tools/list (off: smaller lists; results are checked either way). */
  outputSchemas: z.boolean().default(false),
  /** Keep each send_config's running configuration before and after in this directory (0700; files 0600), for config_diff across restarts. */
  configSnapshots: z.string().min(1).optional(),
  /** The local socket for out-of-band approval decisions; default one per server in $XDG_RUNTIME_DIR or the state dir. */
  approvalSocket: z.string().min(1).optional(),
  /** Ask a person before trusting a host key never seen (not in known_hosts). */
  confirmNewHosts: z.boolean().default(false),
  /** Serve the web dashboard on 127.0.0.1 (port 0: a free one). */
  dashboard: z.object({ port: z.coerce.number().int().min(0).max(65535).default(8766) }).optional(),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve'; readonly config: ServerConfig };

export const HELP_TEXT = `mcp-ssh-server: an MCP server giving AI agents persistent SSH sessions.

Usage:
  mcp-ssh-server [options]
  mcp-ssh-server audit verify <file>
  mcp-ssh-server pending [--json] | approve <id> [--for-session] | deny <id>   [--socket <path>]

Options:
  --tools <list>           serve only these tools: groups core, files, screen, devices, hosts (or all)
                           and tool names, comma-separated (env MCP_SSH_TOOLS; default all)
  --output-schemas         list each tool's output schema in tools/list (env MCP_SSH_OUTPUT_SCHEMAS;
                           default off: a smaller list; results carry structuredContent either way)
  --log-level <level>      debug | info | warn | error | silent (env MCP_SSH_LOG_LEVEL; default info)
  --log-file <path>        also append logs to this file, created 0600 (env MCP_SSH_LOG_FILE)
  --ssh-config <path>      ssh_config to read (env MCP_SSH_CONFIG; default ~/.ssh/config)

Policy (a guard rail, not a sandbox; env values are comma-separated, patterns newline-separated):
  --allow-hosts <globs>    only these hosts, e.g. "web-*,10.0.0.*" (* does not cross a dot)
                           (env MCP_SSH_ALLOWED_HOSTS)
  --deny-command <regex>   refuse matching commands; repeatable (env MCP_SSH_DENY_COMMANDS)
  --read-only              no commands, file writes, uploads or typed input (env MCP_SSH_READ_ONLY=1)
  --allow-command <regex>  in read-only mode, commands that may run; repeatable (env MCP_SSH_ALLOW_COMMANDS)
  --approval <mode>        ask a person before: off (default), changes (anything not read-only),
                           all (every command, write, upload, input) (env MCP_SSH_APPROVAL). Asked
                           through the client's form (MCP elicitation) when it has one, and always
                           decidable with mcp-ssh-server pending / approve <id> / deny <id>
  --approval-timeout <s>   seconds a person has to answer; then denied (env MCP_SSH_APPROVAL_TIMEOUT;
                           default 600)
  --approval-socket <path> the local socket those commands use (env MCP_SSH_APPROVAL_SOCKET; default
                           $XDG_RUNTIME_DIR/mcp-ssh-server/approvals-<pid>.sock, else under
                           ~/.local/state/mcp-ssh-server/; printed at start)
  --confirm-new-hosts      ask a person (the same way) before trusting a host key not in
                           known_hosts; it is recorded only when approved (env MCP_SSH_CONFIRM_NEW_HOSTS=1)
  --policy <file.json>     the same as JSON: {"allowedHosts":[…],"deniedCommands":[…],
                           "allowedCommands":[…],"readOnly":true,"approval":"changes",
                           "hosts":{"prod-*":{"approval":"all"}}} (env MCP_SSH_POLICY)

Streamable HTTP (instead of stdio):
  --http                   serve MCP at http://<host>:<port>/mcp (env MCP_SSH_HTTP=1)
  --http-host <addr>       address to bind (env MCP_SSH_HTTP_HOST; default 127.0.0.1)
  --http-port <port>       port (env MCP_SSH_HTTP_PORT; default 8765; 0 picks a free one)
  --http-token-file <path> file holding the bearer token (env MCP_SSH_HTTP_TOKEN_FILE),
                           or the token itself in env MCP_SSH_HTTP_TOKEN (never as a flag:
                           process arguments are visible to every local user)
  --allowed-origin <url>   a browser Origin allowed besides the server's own; repeatable
                           (env MCP_SSH_ALLOWED_ORIGINS)

Audit and recordings (see the README's oversight section):
  --audit-log <file>       append one hash-chained JSON Lines record per tool call and per job
                           end, created 0600 (env MCP_SSH_AUDIT_LOG)
  --audit-max-bytes <n>    rotate it at this size to <file>.<time> (env MCP_SSH_AUDIT_MAX_BYTES;
                           default 67108864)
  --record-dir <dir>       one asciicast v2 recording per session (commands, output, typed input;
                           secrets never), files 0600 (env MCP_SSH_RECORD_DIR)
  --config-snapshots <dir> keep the last 20 running configurations around send_config per device
                           here (files 0600), so config_diff works after a restart
                           (env MCP_SSH_CONFIG_SNAPSHOTS; default: in memory only)
  mcp-ssh-server audit verify <file>
                           check the chain of <file> and its rotated files: exit 0 when intact,
                           1 naming the first altered, removed or reordered record

Dashboard (see the README's dashboard section):
  --dashboard              serve a web page on 127.0.0.1 to watch sessions and jobs live, review
                           history and recordings, and approve or deny (env MCP_SSH_DASHBOARD=1).
                           A one-time login link is printed on stderr
  --dashboard-port <port>  its port (env MCP_SSH_DASHBOARD_PORT; default 8766; 0 picks a free one)

Local files (upload_file, download_file):
  --local-root <dir>       a directory they may read and write; repeatable (env
                           MCP_SSH_LOCAL_ROOTS, ':'-separated). Default: the working directory
                           (none when it is /). .ssh directories are always refused.

  -h, --help               show this help and exit
  -v, --version            print the version and exit

Environment: SSH_AUTH_SOCK (ssh-agent); per host alias, so secrets need not pass through the
model: OVRD_<alias>_HOST, _PORT, _USER, _PASS, _KEY, _SUDO_PASS, _ENABLE_PASS, _DEVICE_TYPE (<alias> as in
ssh_config, or upper-cased with other characters as _: web-1 → OVRD_WEB_1_PASS).

Over stdio the server speaks MCP on stdin/stdout; logs go to stderr only.
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
      'log-file': { type: 'string' },
      'ssh-config': { type: 'string' },
      'allow-hosts': { type: 'string' },
      'deny-command': { type: 'string', multiple: true },
      'allow-command': { type: 'string', multiple: true },
      'read-only': { type: 'boolean' },
      policy: { type: 'string' },
      http: { type: 'boolean' },
      'http-host': { type: 'string' },
      'http-port': { type: 'string' },
      'http-token-file': { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      'local-root': { type: 'string', multiple: true },
      'audit-log': { type: 'string' },
      'audit-max-bytes': { type: 'string' },
      'record-dir': { type: 'string' },
      'config-snapshots': { type: 'string' },
      tools: { type: 'string' },
      'output-schemas': { type: 'boolean' },
      approval: { type: 'string' },
      'approval-timeout': { type: 'string' },
      'approval-socket': { type: 'string' },
      'confirm-new-hosts': { type: 'boolean' },
      dashboard: { type: 'boolean' },
      'dashboard-port': { type: 'string' },
    },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const policyFile = values.policy ?? (env.MCP_SSH_POLICY || undefined);
  const fromFile = policyFile ? readPolicyFile(policyFile) : {};
  const policy = {
    ...fromFile,
    ...listOf(values['allow-hosts'] ?? env.MCP_SSH_ALLOWED_HOSTS, ',', 'allowedHosts', fromFile.allowedHosts),
    ...listOf(values['deny-command'] ?? env.MCP_SSH_DENY_COMMANDS, '\n', 'deniedCommands', fromFile.deniedCommands),
    ...listOf(values['allow-command'] ?? env.MCP_SSH_ALLOW_COMMANDS, '\n', 'allowedCommands', fromFile.allowedCommands),
    ...(values['read-only'] || flag(env.MCP_SSH_READ_ONLY, 'MCP_SSH_READ_ONLY') ? { readOnly: true } : {}),
    ...((values.approval ?? env.MCP_SSH_APPROVAL) ? { approval: values.approval ?? env.MCP_SSH_APPROVAL } : {}),
  };
  const http = values.http || flag(env.MCP_SSH_HTTP, 'MCP_SSH_HTTP');
  const tokenFile = values['http-token-file'] ?? env.MCP_SSH_HTTP_TOKEN_FILE;
  const parsed = serverConfigSchema.safeParse({
    logLevel: values['log-level'] ?? (env.MCP_SSH_LOG_LEVEL || undefined),
    logFile: values['log-file'] ?? (env.MCP_SSH_LOG_FILE || undefined),
    sshConfigPath: values['ssh-config'] ?? (env.MCP_SSH_CONFIG || undefined),
    agent: env.SSH_AUTH_SOCK || undefined,
    overrides: overridesFromEnv(env),
    policy,
    localRoots: values['local-root'] ?? splitList(env.MCP_SSH_LOCAL_ROOTS, delimiter),
    auditLog: values['audit-log'] ?? (env.MCP_SSH_AUDIT_LOG || undefined),
    auditMaxBytes: values['audit-max-bytes'] ?? (env.MCP_SSH_AUDIT_MAX_BYTES || undefined),
    recordDir: values['record-dir'] ?? (env.MCP_SSH_RECORD_DIR || undefined),
    configSnapshots: values['config-snapshots'] ?? (env.MCP_SSH_CONFIG_SNAPSHOTS || undefined),
    tools: values.tools ?? (env.MCP_SSH_TOOLS || undefined),
    outputSchemas: values['output-schemas'] || flag(env.MCP_SSH_OUTPUT_SCHEMAS, 'MCP_SSH_OUTPUT_SCHEMAS'),
    approvalTimeoutSeconds: values['approval-timeout'] ?? (env.MCP_SSH_APPROVAL_TIMEOUT || undefined),
    approvalSocket: values['approval-socket'] ?? (env.MCP_SSH_APPROVAL_SOCKET || undefined),
    confirmNewHosts: values['confirm-new-hosts'] || flag(env.MCP_SSH_CONFIRM_NEW_HOSTS, 'MCP_SSH_CONFIRM_NEW_HOSTS'),
    ...(values.dashboard || flag(env.MCP_SSH_DASHBOARD, 'MCP_SSH_DASHBOARD') ? { dashboard: { port: values['dashboard-port'] ?? env.MCP_SSH_DASHBOARD_PORT } } : {}),
    ...(http
      ? {
          http: {
            host: values['http-host'] ?? env.MCP_SSH_HTTP_HOST,
            port: values['http-port'] ?? env.MCP_SSH_HTTP_PORT,
            token: tokenFile ? readSecretFile(tokenFile) : env.MCP_SSH_HTTP_TOKEN,
            allowedOrigins: values['allowed-origin'] ?? splitList(env.MCP_SSH_ALLOWED_ORIGINS, ','),
          },
        }
      : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? 'option';
    if (path === 'http.token' && issue?.code === 'invalid_type') {
      throw new Error('--http needs a bearer token: set MCP_SSH_HTTP_TOKEN, or --http-token-file <file> (at least 16 characters; e.g. openssl rand -hex 32)');
    }
    throw new Error(`invalid ${path}: ${issue?.message ?? 'invalid value'}`);
  }
  // Compile the patterns and check the tool names now: a bad one stops the start, not a later call.
  new Policy(parsed.data.policy);
  if (parsed.data.tools !== undefined) selectedTools(parsed.data.tools);
  return { kind: 'serve', config: parsed.data };
}

/** A boolean variable: 1/true/yes/on or 0/false/no/off (or unset); anything else is an error, not a silent "off". */
function flag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || /^(0|false|no|off)$/i.test(value)) return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  throw new Error(`${name} must be 1/true/yes/on or 0/false/no/off, got ${JSON.stringify(value)}`);
}

function splitList(value: string | readonly string[] | undefined, separator: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = typeof value === 'string' ? value.split(separator) : value;
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** Flag or env values, added to what the policy file gave for the same field. */
function listOf(value: string | readonly string[] | undefined, separator: string, field: string, base: readonly string[] | undefined): Record<string, string[]> {
  const items = splitList(value, separator);
  if (items === undefined) return {};
  // An allow-list given empty must not mean "everything".
  if (items.length === 0) throw new Error(`${field} was given but is empty`);
  return { [field]: [...(base ?? []), ...items] };
}

function readPolicyFile(path: string): z.infer<typeof policySchema> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the policy file ${path}: ${(error as Error).message}`);
  }
  const result = policySchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid policy file ${path}: ${issue?.path.join('.') || 'policy'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read the HTTP token file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

const OVERRIDE_FIELDS: Readonly<Record<string, keyof z.infer<typeof overrideSchema>>> = {
  HOST: 'host',
  PORT: 'port',
  USER: 'user',
  PASS: 'password',
  KEY: 'key',
  SUDO_PASS: 'sudoPassword',
  ENABLE_PASS: 'enablePassword',
  DEVICE_TYPE: 'deviceType',
};

/** `OVRD_<alias>_<FIELD>` variables, grouped by alias. */
export function overridesFromEnv(env: NodeJS.ProcessEnv): Record<string, Record<string, string>> {
  const overrides: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(env)) {
    const match = /^OVRD_(.+?)_(HOST|PORT|USER|PASS|KEY|SUDO_PASS|ENABLE_PASS|DEVICE_TYPE)$/.exec(name);
    if (!match || value === undefined) continue;
    const [, alias = '', field = ''] = match;
    const key = OVERRIDE_FIELDS[field];
    if (key) (overrides[alias] ??= {})[key] = value;
  }
  return overrides;
}
