import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** A request handler as the SDK keeps it (after its own parsing of the request). */
export type SdkRequestHandler = (request: { method: string; params?: Record<string, unknown> }, extra: { signal: AbortSignal }) => Promise<unknown>;

/**
 * Replaces the handler the MCP SDK installed for `method` by `wrap(original)`. The SDK builds
 * tools/list and answers tools/call from its registered tools and has no hook to shape either, so
 * its handler is wrapped in its (private) map. Call it once the tools are registered: the SDK
 * installs those handlers then.
 *
 * @throws Error naming `method` when the SDK keeps its handlers elsewhere (a changed SDK).
 */
export function wrapSdkHandler(server: McpServer, method: string, wrap: (original: SdkRequestHandler) => SdkRequestHandler): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, SdkRequestHandler> })._requestHandlers;
  const original = handlers?.get(method);
  if (!handlers || !original) throw new Error(`the MCP SDK has no ${method} handler where this server wraps it (register the tools first; a changed SDK: update src/sdk-handler.ts)`);
  handlers.set(method, wrap(original));
}
