import type { LogLevel, Logger } from 'ssh-session-core';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A logger that writes one line per entry to stderr: stdout carries the MCP protocol and
 * nothing else.
 */
export function createStderrLogger(minLevel: LogLevel | 'silent'): Logger {
  const threshold = minLevel === 'silent' ? Number.POSITIVE_INFINITY : ORDER[minLevel];
  return {
    log(level, message, fields) {
      if (ORDER[level] < threshold) return;
      const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      process.stderr.write(`${new Date().toISOString()} ${level} ${message}${suffix}\n`);
    },
  };
}
