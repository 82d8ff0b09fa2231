// Figures from the reliability suite (calls made, faults injected, inputs tried, recovery times,
// leaks), appended as JSON lines to $RELIABILITY_OUT when set, so docs/reliability.md can quote a
// run. Without the variable, nothing is written.
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { memoryOf } from 'test-utils';

const exec = promisify(execFile);

export { recordFigure } from 'test-utils';

/** A process's RSS, open descriptors and sockets, from /proc. */
export function usage(pid: number): { rss: number; fds: number; sockets: number } {
  const fds = readdirSync(`/proc/${pid}/fd`);
  const sockets = fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
  return { rss: memoryOf(pid).rss, fds: fds.length, sockets };
}

/** Processes of the test user on the host, by command name (the host is this machine). */
export async function remoteProcesses(user: string): Promise<Record<string, number>> {
  const stdout = await ps(user, 'comm=');
  const counts: Record<string, number> = {};
  for (const name of stdout.split('\n').map((line) => line.trim()).filter(Boolean)) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** The test user's processes with their parents, states, ages and command lines: what a failed count names. */
export function remoteProcessList(user: string): Promise<string> {
  return ps(user, 'pid,ppid,stat,etime,args');
}

/** `ps -u user -o columns` (what it printed, even when it exits non-zero: no processes). */
async function ps(user: string, columns: string): Promise<string> {
  // Async: a synchronous spawn would stall the in-process proxies some suites run.
  const { stdout } = await exec('ps', ['-u', user, '-o', columns], { encoding: 'utf8' }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return stdout;
}
