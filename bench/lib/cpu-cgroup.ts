import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU of a whole process tree through a cgroup: everything forked from a member stays in the group, so the figure
 * includes what /proc cannot see. sshd's privilege-separation monitor exits without reaping its session child, so
 * the session's crypto and the commands it ran never reach the daemon's cutime; Ansible's ControlPersist masters
 * daemonise out of ansible-playbook's tree. Needs root and a writable cgroup (v2, or v1 cpuacct); else undefined.
 */
export interface CpuGroup {
  /** Moves a process (and its future children) into the group. */
  add(pid: number): void;
  /** CPU seconds used by every process that was ever in the group. */
  cpuSeconds(): number;
  /** Waits (up to `timeoutMs`) for its processes to exit, then removes the group. */
  remove(timeoutMs?: number): Promise<void>;
}

interface Hierarchy {
  readonly root: string;
  readonly usage: (dir: string) => number;
}

const CGROUP = '/sys/fs/cgroup';

function findHierarchy(): Hierarchy | undefined {
  const v2Usage = (dir: string): number =>
    Number(/usage_usec (\d+)/.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? 0) / 1e6;
  // Pure cgroup v2, then the v2 tree of a hybrid setup, then v1's cpuacct controller.
  if (existsSync(join(CGROUP, 'cgroup.controllers'))) return { root: CGROUP, usage: v2Usage };
  if (existsSync(join(CGROUP, 'unified', 'cgroup.controllers')))
    return { root: join(CGROUP, 'unified'), usage: v2Usage };
  if (existsSync(join(CGROUP, 'cpuacct', 'cpuacct.usage'))) {
    return {
      root: join(CGROUP, 'cpuacct'),
      usage: (dir) => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9,
    };
  }
  return undefined;
}

export function createCpuGroup(name: string): CpuGroup | undefined {
  const hierarchy = findHierarchy();
  if (!hierarchy) return undefined;
  const dir = join(hierarchy.root, `fleet-bench-${process.pid}-${name}`);
  try {
    mkdirSync(dir);
    hierarchy.usage(dir);
  } catch {
    return undefined; // read-only cgroupfs (unprivileged container) or not root
  }
  return {
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`),
    cpuSeconds: () => hierarchy.usage(dir),
    async remove(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        rmdirSync(dir);
      } catch {
        // a process outlived the wait: the empty group is left behind, harmless
      }
    },
  };
}
