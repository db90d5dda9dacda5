import { chown, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ClientKey,
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type TestAccount,
  type Workstation,
} from '../../test/helpers/sshd.js';
import { createCpuGroup } from './cpu-cgroup.js';
import { childPids, cpuSeconds } from './proc-cpu.js';

/** One simulated workstation: a loopback address:port served by one of the daemons. */
export interface LoopbackHost {
  readonly host: string;
  readonly port: number;
  readonly ws: Workstation;
}

export interface LoopbackFleet {
  readonly account: TestAccount;
  /** Scratch folder of the run (keys, known_hosts, workstations); removed by close(). */
  readonly dir: string;
  readonly key: ClientKey;
  readonly hosts: readonly LoopbackHost[];
  readonly daemons: readonly Sshd[];
  /** OpenSSH known_hosts text and file for every host. */
  readonly knownHostsText: string;
  readonly knownHostsPath: string;
  /** CPU seconds the daemons and their sessions used so far (call when no session is open). */
  sshdCpuSeconds(): number;
  /** What sshdCpuSeconds counts: every sshd process and the commands they ran, or (no cgroup) the handshakes only. */
  readonly sshdCpuScope: 'cgroup: daemons, sessions and the commands they ran' | 'proc: daemons and handshakes only';
  /** Waits until no session process is left under the daemons, so their CPU is counted (reaped). */
  waitForSessionsToEnd(timeoutMs?: number): Promise<void>;
  /** Makes `<staging>/<campaign>` on every host, owned by the login (arms that do not create it themselves). */
  makeCampaignDirs(campaign: string): Promise<void>;
  close(): Promise<void>;
}

export interface LoopbackFleetOptions {
  readonly daemons: number;
  /** ≤ 16: OpenSSH 9.2 accepts at most 16 ListenAddress per daemon (DESIGN §6). */
  readonly hostsPerDaemon: number;
  /** Second octet of the 127.x.y.z addresses, so two benchmarks' hosts never share an address. */
  readonly network: number;
}

/** The apply script every arm runs: the one the transport pushes. */
export const APPLY_SCRIPT = new URL('../../agent/posix/apply-profile.sh', import.meta.url);

/**
 * Where every arm runs it from: where the fleet transport keeps its copy (`<staging>/.fleet/`, remote-paths.ts),
 * installed beforehand so no arm pushes it. The same file at the same place does the same work for every arm
 * (its staging-folder check included): what differs between the arms is theirs alone.
 */
export function installedScript(host: LoopbackHost): string {
  return join(host.ws.staging, '.fleet', 'apply-profile.sh');
}

/**
 * Starts `daemons` real sshd daemons on loopback, `hostsPerDaemon` addresses each (127.<network>.<d>.<i+2>), a
 * workstation per address with the apply script installed, one client key authorized everywhere.
 */
export async function startLoopbackFleet(options: LoopbackFleetOptions): Promise<LoopbackFleet> {
  const account = ensureTestAccount();
  const dir = await makeTempDir('fleet-bench-hosts-');
  const key = await generateKey(dir, 'bench_key');
  const daemons: Sshd[] = [];
  const sshdGroup = createCpuGroup('sshd');
  try {
    for (let d = 0; d < options.daemons; d++) {
      const addresses = Array.from(
        { length: Math.min(16, options.hostsPerDaemon) },
        (_, i) => `127.${options.network}.${d}.${i + 2}`,
      );
      // Each address stands for its own machine: a daemon's default MaxStartups (10) would drop connections
      // no single workstation would ever see at once.
      const sshd = await Sshd.create({ addresses, extraConfig: ['MaxStartups 200:30:400'] });
      await sshd.authorize([key.publicLine]);
      daemons.push(sshd);
      // Before any session: every process the daemon forks from now on is counted in the group.
      if (sshd.pid !== undefined) sshdGroup?.add(sshd.pid);
    }
  } catch (error) {
    for (const d of daemons) await d.close();
    await sshdGroup?.remove();
    throw error;
  }
  const hosts: LoopbackHost[] = [];
  for (const sshd of daemons) {
    for (const e of sshd.endpoints) {
      const ws = await makeWorkstation(dir, e);
      const fleetScriptDir = join(ws.staging, '.fleet');
      await mkdir(fleetScriptDir);
      await copyFile(APPLY_SCRIPT, installedScript({ ...e, ws }));
      for (const path of [fleetScriptDir, installedScript({ ...e, ws })]) {
        await chown(path, account.uid, account.gid);
      }
      hosts.push({ ...e, ws });
    }
  }
  const knownHostsText = `${daemons.flatMap((s) => s.endpoints.map((e) => s.knownHostsLine(e))).join('\n')}\n`;
  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(knownHostsPath, knownHostsText);
  const daemonPids = (): Set<number> => new Set(daemons.flatMap((d) => (d.pid === undefined ? [] : [d.pid])));

  return {
    account,
    dir,
    key,
    hosts,
    daemons,
    knownHostsText,
    knownHostsPath,
    sshdCpuSeconds: () =>
      sshdGroup
        ? sshdGroup.cpuSeconds()
        : [...daemonPids()].reduce((sum, pid) => sum + cpuSeconds(pid, { children: true }), 0),
    sshdCpuScope: sshdGroup
      ? 'cgroup: daemons, sessions and the commands they ran'
      : 'proc: daemons and handshakes only',
    async waitForSessionsToEnd(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (childPids(daemonPids()).length > 0) {
        if (Date.now() > deadline) throw new Error('sshd sessions still open: their CPU would not be counted');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async makeCampaignDirs(campaign) {
      for (const h of hosts) {
        const d = join(h.ws.staging, campaign);
        await mkdir(d, { recursive: true });
        await chown(d, account.uid, account.gid);
      }
    },
    async close() {
      for (const d of daemons) await d.close();
      await sshdGroup?.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
