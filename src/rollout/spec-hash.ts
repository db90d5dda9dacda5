import { createHash } from 'node:crypto';
import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import type { ProfileOptions } from '../profile/profile-options.js';

/**
 * Hash of everything that changes what lands on a user's workstation: the spec, the campaign's PRF options and
 * the deploy target that applies to the user's site. Re-importing an unchanged row gives the same hash (nothing
 * re-queued); editing a row, the profile options or the user's site target gives a new one. Every spec field
 * counts (a display-name edit re-queues the user so its record stays current; the agent answers already-applied).
 */
export function computeSpecHash(spec: UserSpec, profile: ProfileOptions, deploy: CampaignFile['deploy']): string {
  const target = {
    transport: deploy.transport,
    ssh: { ...deploy.ssh, ...(spec.site !== undefined ? deploy.sites[spec.site] : undefined) },
    localRoot: deploy.local_root,
  };
  return createHash('sha256').update(toCanonicalJson({ spec, profile, target })).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted at every level, so equal values always hash the same. */
export function toCanonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toCanonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${toCanonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
