// mcp-ssh-server: start the built server over stdio with the official MCP client, as Claude or the
// Inspector would, and print what it announces.
//   node examples/server-handshake.mjs
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const require = createRequire(import.meta.url);
const cli = require.resolve('mcp-ssh-server/package.json').replace(/package\.json$/, 'dist/cli.js');
const transport = new StdioClientTransport({ command: process.execPath, args: [cli], env: { ...process.env } });
const client = new Client({ name: 'example', version: '1.0.0' });
await client.connect(transport);
console.log('server:', client.getServerVersion());
console.log('capabilities:', Object.keys(client.getServerCapabilities() ?? {}).join(', '));
await client.close();
