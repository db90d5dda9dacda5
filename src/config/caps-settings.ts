import type { DeployCaps } from '../rollout/deploy-caps.js';
import type { CapsSettings } from './caps-schema.js';

/** The campaign file's `caps:` (snake_case, seconds) → the core's caps; undefined when the file has none. */
export function toDeployCaps(caps: CapsSettings | undefined): DeployCaps | undefined {
  if (!caps) return undefined;
  return Object.freeze({
    ...(caps.max_in_flight !== undefined && { maxInFlight: caps.max_in_flight }),
    ...(caps.per_site !== undefined && { perSite: caps.per_site }),
    perHost: caps.per_host,
    sites: Object.freeze({ ...caps.sites }),
    ...(caps.connections_per_second !== undefined && { connectionsPerSecond: caps.connections_per_second }),
    ...(caps.site_connections_per_second !== undefined && {
      siteConnectionsPerSecond: caps.site_connections_per_second,
    }),
    leaseMs: Math.round(caps.lease_seconds * 1000),
  });
}

/** What `plan` simulates: the agents' concurrency bounded by `max_in_flight`, the per-site caps (a flag wins). */
export interface PlanCaps {
  readonly concurrency: number;
  readonly perSiteCap?: number;
  readonly siteCaps?: Readonly<Record<string, number>>;
}

export function toPlanCaps(
  caps: CapsSettings | undefined,
  flags: { readonly concurrency: number; readonly perSiteCap?: number | undefined },
): PlanCaps {
  const perSiteCap = flags.perSiteCap ?? caps?.per_site;
  const sites = caps?.sites ?? {};
  return {
    concurrency: Math.min(flags.concurrency, caps?.max_in_flight ?? flags.concurrency),
    ...(perSiteCap !== undefined && { perSiteCap }),
    ...(Object.keys(sites).length > 0 && { siteCaps: { ...sites } }),
  };
}
