import type { Redis } from 'ioredis';
import { makeSpec, type SeededCampaign, seedCampaign } from '../../test/helpers/pipeline-campaign.js';
import type { BenchUser } from './bench-users.js';
import type { LoopbackHost } from './loopback-hosts.js';

/** The campaign's apply command on a loopback workstation: the shipped script, its root set to the host's folder. */
export function benchApplyCommand(host: LoopbackHost): string {
  return `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${host.ws.root}' {rollback}`;
}

/** The agents' own allow-list (what `--allow-apply-commands` gives): the stand-in needs each host's root. */
export function benchAllowList(hosts: readonly LoopbackHost[]): Map<string, string> {
  return new Map(hosts.map((host, i) => [`bench-${i}`, benchApplyCommand(host)]));
}

/** The same allow-list as the file an agent process is given (`name: 'template'` per line). */
export function benchAllowListFile(hosts: readonly LoopbackHost[]): string {
  const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
  return `${[...benchAllowList(hosts)].map(([name, template]) => `${name}: ${quote(template)}`).join('\n')}\n`;
}

/**
 * A running ssh campaign over `users` (one site per host: its port, staging folder and apply command), its generate
 * jobs not yet queued, so the caller starts the clock when it enqueues them.
 */
export async function seedBenchCampaign(
  redis: Redis,
  prefix: string,
  campaign: string,
  users: readonly BenchUser[],
  login: string,
): Promise<SeededCampaign> {
  const siteOf = new Map<LoopbackHost, string>();
  for (const u of users) if (!siteOf.has(u.host)) siteOf.set(u.host, `s${siteOf.size}`);
  const sites = Object.fromEntries(
    [...siteOf].map(([h, site]) => [
      site,
      { port: h.port, staging_dir: h.ws.staging, apply_command: benchApplyCommand(h) },
    ]),
  );
  const specs = users.map((u, i) =>
    makeSpec(i, u.host.host, { username: u.name, mailbox: u.name, site: siteOf.get(u.host) as string }),
  );
  const settings = {
    deploy: { transport: 'ssh', timeout_seconds: 120, ssh: { user: login, target_os: 'posix' }, sites },
  };
  return seedCampaign(redis, prefix, campaign, specs, settings, { enqueue: false });
}
