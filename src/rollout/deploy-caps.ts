/**
 * Concurrency caps shared by every agent (pure): which slots a deploy must hold — the fleet's, its site's and its
 * host's — and which connection rates it draws from. The store (src/store/deploy-slots.ts) counts them in Redis.
 */

/** A campaign's caps, resolved from its file (`caps:`); absent caps mean no limit at that scope. */
export interface DeployCaps {
  /** Deploys on workstations at once, all sites together. */
  readonly maxInFlight?: number;
  /** Deploys at once per site, for sites without their own entry in `sites`. */
  readonly perSite?: number;
  /** Deploys at once per workstation (below sshd's MaxSessions/MaxStartups of 10). */
  readonly perHost: number;
  /** Per-site caps by CSV `site` value. */
  readonly sites: Readonly<Record<string, number>>;
  /** New SSH connections per second, all agents together. */
  readonly connectionsPerSecond?: number;
  /** New SSH connections per second per site. */
  readonly siteConnectionsPerSecond?: number;
  /** A slot not renewed for this long is free again (its agent died). */
  readonly leaseMs: number;
}

export const DEFAULT_PER_HOST_CAP = 8;
export const DEFAULT_LEASE_MS = 60_000;

export type SlotScopeKind = 'global' | 'site' | 'host';

/** The cap of a site counted for the status but not limited. */
export const UNCAPPED = 2 ** 31 - 1;

/** One counter a deploy holds a slot of, with the cap that applies to it. */
export interface SlotScope {
  readonly kind: SlotScopeKind;
  /** `*` for global, the site or the host. */
  readonly name: string;
  readonly cap: number;
}

/** One token bucket a new connection draws from. */
export interface RateScope {
  readonly kind: 'global' | 'site';
  readonly name: string;
  readonly perSecond: number;
}

/** A site's cap: its own entry, else the campaign's per-site default, else none. */
export function siteCap(caps: DeployCaps, site: string): number | undefined {
  return caps.sites[site] ?? caps.perSite;
}

/**
 * The slots a deploy of `host` at `site` must hold together (all or none), widest first. The fleet is counted only
 * under a fleet cap; a site always is (the status shows it), with UNCAPPED when no cap applies to it.
 */
export function resolveSlotScopes(caps: DeployCaps, site: string | undefined, host: string): SlotScope[] {
  const scopes: SlotScope[] = [];
  if (caps.maxInFlight !== undefined) scopes.push({ kind: 'global', name: '*', cap: caps.maxInFlight });
  if (site !== undefined) scopes.push({ kind: 'site', name: site, cap: siteCap(caps, site) ?? UNCAPPED });
  scopes.push({ kind: 'host', name: host, cap: caps.perHost });
  return scopes;
}

/** The buckets a new connection to a workstation of `site` draws a token from (all or none). */
export function resolveRateScopes(caps: DeployCaps, site: string | undefined): RateScope[] {
  const scopes: RateScope[] = [];
  if (caps.connectionsPerSecond !== undefined) {
    scopes.push({ kind: 'global', name: '*', perSecond: caps.connectionsPerSecond });
  }
  if (site !== undefined && caps.siteConnectionsPerSecond !== undefined) {
    scopes.push({ kind: 'site', name: site, perSecond: caps.siteConnectionsPerSecond });
  }
  return scopes;
}

/** What an admin reads on a user waiting for a slot: `waiting for a slot: site LYON 3/3`. */
export function describeSlotWait(scope: SlotScope, inUse: number): string {
  const where = scope.kind === 'global' ? 'all sites' : `${scope.kind} ${scope.name}`;
  return `waiting for a slot: ${where} ${inUse}/${scope.cap}`;
}

/** How often a renewing holder refreshes its lease: three chances before it lapses. */
export function renewEveryMs(leaseMs: number): number {
  return Math.max(200, Math.floor(leaseMs / 3));
}

/**
 * When a job that found no slot looks again: soon (a slot frees when any deploy ends), spread by `random` in [0, 1)
 * so that waiting jobs of every agent do not ask at the same instant.
 */
export function slotRecheckMs(random: number, baseMs = 1000): number {
  return Math.round(baseMs * (0.5 + random));
}
