import { createHash } from 'node:crypto';
import { utils } from './internal/ssh2';

/** A public key as OpenSSH shows it. */
export interface PublicKeyInfo {
  /** Key type, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly type: string;
  /** The key in SSH wire format (what a server offers as its host key). */
  readonly blob: Buffer;
  /** `SHA256:<base64>` exactly as `ssh-keygen -lf` and `ssh` print it. */
  readonly fingerprint: string;
}

/** The OpenSSH SHA-256 fingerprint of a key in SSH wire format: `SHA256:` + unpadded base64. */
export function fingerprintSha256(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Parses one public key in OpenSSH text form (`ssh-ed25519 AAAA… comment`, as in
 * `id_ed25519.pub` or the key part of a known_hosts line).
 *
 * @throws TypeError when the text is not a public key ssh2 can read.
 */
export function parseOpenSshPublicKey(text: string): PublicKeyInfo {
  const parsed = utils.parseKey(text.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) {
    throw new TypeError(`not an OpenSSH public key: ${key instanceof Error ? key.message : 'empty'}`);
  }
  const blob = key.getPublicSSH();
  return { type: key.type, blob, fingerprint: fingerprintSha256(blob) };
}
