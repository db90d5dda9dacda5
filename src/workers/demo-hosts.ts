import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CampaignFile } from '../config/campaign-schema.js';

/** The demo's retry policy: the same policy code, with delays short enough to watch (seconds, not hours). */
export const DEMO_RETRY: CampaignFile['retry'] = {
  max_attempts: 5,
  base_delay_seconds: 0.3,
  max_delay_seconds: 1,
  jitter: 0.2,
  horizon_hours: 1,
};

/** The example campaign file, set to deploy on simulated workstations under `root`. */
export function toDemoSettings(file: CampaignFile, root: string): CampaignFile {
  return {
    ...file,
    retry: DEMO_RETRY,
    deploy: { ...file.deploy, transport: 'local', local_root: root, timeout_seconds: 30 },
  };
}

export interface DemoFaults {
  /** Hosts that answer 75 (busy) twice, then apply. */
  readonly transient: readonly string[];
  /** The host that answers 77 (permission denied) every time. */
  readonly permanent: string;
}

/**
 * Fresh simulated workstations: every host of the roster gets its directory; a few are made to fail through the
 * POSIX agent's fault switches (a file `<root>/<host>/fault`), so the demo shows retries and a permanent failure.
 */
export function prepareDemoHosts(root: string, hosts: readonly string[]): DemoFaults {
  rmSync(root, { recursive: true, force: true });
  const sorted = [...new Set(hosts)].sort();
  for (const host of sorted) mkdirSync(join(root, host), { recursive: true });
  const pick = (i: number): string => sorted[Math.floor((i * sorted.length) / 5) % sorted.length] ?? '';
  const transient = [pick(1), pick(2), pick(3)].filter((h, i, all) => h !== '' && all.indexOf(h) === i);
  const permanent = pick(4);
  for (const host of transient)
    writeFileSync(join(root, host, 'fault'), '# demo: busy twice, then fine\nexit=75\ntimes=2\n');
  writeFileSync(join(root, permanent, 'fault'), '# demo: the deploy account may not write this registry\nexit=77\n');
  return { transient, permanent };
}
