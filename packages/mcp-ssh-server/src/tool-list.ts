import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { wrapSdkHandler } from './sdk-handler';

/** The tools by group, for `--tools`: `core` is what a shell session needs. */
export const TOOL_GROUPS = {
  core: [
    'execute_command',
    'execute_command_async',
    'get_command_status',
    'interrupt_command_by_id',
    'send_input',
    'send_input_by_session',
    'list_running_commands',
    'list_command_history',
    'list_sessions',
    'close_session',
    'close_all_sessions',
  ],
  files: ['read_file', 'write_file', 'list_directory', 'upload_file', 'download_file'],
  screen: ['send_keys', 'read_screen'],
  devices: ['send_config', 'confirm_commit', 'config_diff'],
  hosts: ['list_hosts', 'execute_command_on_hosts'],
} as const satisfies Record<string, readonly string[]>;

const ALL_TOOLS: readonly string[] = Object.values(TOOL_GROUPS).flat();

/**
 * The tool names a `--tools` value selects: groups (`core,files`) and single tool names, comma
 * separated; `all` is every tool.
 *
 * @throws RangeError naming the groups and tools there are, for an unknown entry or an empty list.
 */
export function selectedTools(spec: string): ReadonlySet<string> {
  const selected = new Set<string>();
  for (const entry of spec.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (entry === 'all') ALL_TOOLS.forEach((name) => selected.add(name));
    else if (entry in TOOL_GROUPS) TOOL_GROUPS[entry as keyof typeof TOOL_GROUPS].forEach((name) => selected.add(name));
    else if (ALL_TOOLS.includes(entry)) selected.add(entry);
    else throw new RangeError(`--tools: unknown group or tool ${JSON.stringify(entry)}; groups: all, ${Object.keys(TOOL_GROUPS).join(', ')}; or tool names`);
  }
  if (selected.size === 0) throw new RangeError(`--tools: no tool selected; groups: all, ${Object.keys(TOOL_GROUPS).join(', ')}`);
  return selected;
}

/** Registers only the `selected` tools from here on: the others are never listed nor callable. */
export function registerOnly(server: McpServer, selected: ReadonlySet<string>): void {
  const register = server.registerTool.bind(server) as (name: string, ...rest: unknown[]) => unknown;
  (server as unknown as { registerTool: typeof register }).registerTool = (name, ...rest) => (selected.has(name) ? register(name, ...rest) : undefined);
}

const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * Makes `tools/list` smaller without changing what it says: the list costs the model context on
 * every turn. Removed: `$schema` in every schema, the ±2^53 bounds zod puts on every integer, an
 * `execution` that states the default (`taskSupport: forbidden`; `taskTools` say `optional`,
 * served by src/tasks.ts), and, unless `outputSchemas`,
 * the output schemas — no model needs them to choose a tool, and the SDK still checks every
 * result against them. Call it once the tools are registered (the SDK installs its handler then).
 *
 * @throws Error when the SDK's handler is not where this version of the SDK keeps it.
 */
export function compactToolList(server: McpServer, options: { readonly outputSchemas: boolean; readonly taskTools?: ReadonlySet<string> }): void {
  wrapSdkHandler(server, 'tools/list', (original) => async (request, extra) => {
    const listed = (await original(request, extra)) as { tools: Record<string, unknown>[] };
    return {
      ...listed,
      tools: listed.tools.map((tool) => {
        const { execution, outputSchema, inputSchema, ...rest } = tool;
        const kept: Record<string, unknown> = { ...rest, inputSchema: compactSchema(inputSchema) };
        if (options.outputSchemas && outputSchema !== undefined) kept.outputSchema = compactSchema(outputSchema);
        if (execution !== undefined && (execution as { taskSupport?: string }).taskSupport !== 'forbidden') kept.execution = execution;
        if (typeof tool.name === 'string' && options.taskTools?.has(tool.name)) kept.execution = { taskSupport: 'optional' };
        return kept;
      }),
    };
  });
}

function compactSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compactSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if ((key === 'minimum' && value === -SAFE_INTEGER) || (key === 'maximum' && value === SAFE_INTEGER)) continue;
    out[key] = compactSchema(value);
  }
  return out;
}
