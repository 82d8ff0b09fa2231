/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Where the libraries send diagnostics. They never write to stdout or use `console`: the embedding
 * application decides (the MCP server sends logs to stderr). Messages and fields are already
 * redacted when they arrive here.
 */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** The default logger: drops everything. */
export const noopLogger: Logger = Object.freeze({ log: () => undefined });
