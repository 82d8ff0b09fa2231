import packageJson from '../package.json';

/** This package's version, for the MCP handshake and `--version`. */
export const VERSION: string = packageJson.version;
