#!/usr/bin/env node
// After `changeset version`: gives packages/mcp-ssh-server/server.json (the MCP registry entry)
// the package's new version, at the top and in its npm package entry.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../packages/mcp-ssh-server/', import.meta.url));
const { version, name } = JSON.parse(readFileSync(`${dir}package.json`, 'utf8'));
const entry = JSON.parse(readFileSync(`${dir}server.json`, 'utf8'));
entry.version = version;
for (const pkg of entry.packages) if (pkg.registryType === 'npm' && pkg.identifier === name) pkg.version = version;
writeFileSync(`${dir}server.json`, `${JSON.stringify(entry, null, 2)}\n`);
