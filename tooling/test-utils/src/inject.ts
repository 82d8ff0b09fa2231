import { inject } from 'vitest';
import type { SshdFacts } from './sshd';

export type SshdContext =
  | { readonly available: true; readonly facts: SshdFacts }
  | { readonly available: false; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    sshd: SshdContext;
  }
}

/** The loopback sshd of this run, or undefined when the machine is not provisioned (outside CI). */
export function sshdFacts(): SshdFacts | undefined {
  const context = inject('sshd');
  return context?.available ? context.facts : undefined;
}

/** Why the integration tests are skipped, for `describe.skipIf(...)` titles. */
export function sshdSkipReason(): string {
  const context = inject('sshd');
  if (context === undefined) return 'the sshd globalSetup did not run (use the integration project)';
  return context.available ? '' : context.reason;
}

/** The facts, or a thrown error naming the fix: for code that runs only when available. */
export function requireSshd(): SshdFacts {
  const facts = sshdFacts();
  if (!facts) throw new Error(sshdSkipReason());
  return facts;
}

/** Options to log in to the loopback sshd with the run's key, verifying its host key strictly. */
export function keyLogin(facts: SshdFacts): {
  host: string;
  port: number;
  username: string;
  auth: { privateKeys: { path: string }[] };
  hostKeys: { mode: 'strict'; knownHostsFiles: string[] };
} {
  return {
    host: facts.host,
    port: facts.port,
    username: facts.user,
    auth: { privateKeys: [{ path: facts.keyPath }] },
    hostKeys: { mode: 'strict', knownHostsFiles: [facts.knownHostsPath] },
  };
}
