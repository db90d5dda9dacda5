import { readdirSync, readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself hold spaces. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(') ') + 2).split(' ');
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU seconds (utime + stime) a process has used. With `children`, also what its finished, reaped children used
 * (cutime + cstime): sshd runs each session in child processes, so a daemon's own figure alone would be near zero.
 */
export function cpuSeconds(pid: number, options: { readonly children?: boolean } = {}): number {
  const f = statFields(pid);
  // After `(comm) `: state=0 … utime=11 stime=12 cutime=13 cstime=14.
  const own = Number(f[11]) + Number(f[12]);
  const reaped = options.children ? Number(f[13]) + Number(f[14]) : 0;
  return (own + reaped) / TICKS_PER_SECOND;
}

/** Pids whose parent is one of `parents` (live children, not yet reaped). */
export function childPids(parents: ReadonlySet<number>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parents.has(Number(statFields(Number(entry))[1]))) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Peak resident set (VmHWM) of a live process, in bytes. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
