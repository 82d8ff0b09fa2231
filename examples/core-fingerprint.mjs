// ssh-session-core: print the SHA256 fingerprint of an OpenSSH public key, as `ssh-keygen -lf` does.
//   node examples/core-fingerprint.mjs [path/to/key.pub]   (default: this machine's ed25519 host key)
import { readFileSync } from 'node:fs';
import { parseOpenSshPublicKey } from 'ssh-session-core';

const path = process.argv[2] ?? '/etc/ssh/ssh_host_ed25519_key.pub';
const key = parseOpenSshPublicKey(readFileSync(path, 'utf8'));
console.log(`${key.type} ${key.fingerprint} ${path}`);
