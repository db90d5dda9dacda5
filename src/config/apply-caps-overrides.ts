import { FleetError } from '../errors/index.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';

/** The `caps:` settings given as flags on `run`/`import`, as commander hands them over (strings). */
export interface CapsOverrideFlags {
  readonly maxInFlight?: string | number;
  readonly perSiteCap?: string | number;
  readonly perHostCap?: string | number;
  /** `--site-cap LYON=3`, repeatable. */
  readonly siteCap?: readonly string[];
  readonly connectionsPerSecond?: string | number;
  readonly siteConnectionsPerSecond?: string | number;
  readonly slotLeaseSeconds?: string | number;
}

/** Flag → key of `caps` (the flag name is what an error message shows). */
const FLAGS: ReadonlyArray<readonly [keyof CapsOverrideFlags, string, string]> = [
  ['maxInFlight', 'max_in_flight', '--max-in-flight'],
  ['perSiteCap', 'per_site', '--per-site-cap'],
  ['perHostCap', 'per_host', '--per-host-cap'],
  ['connectionsPerSecond', 'connections_per_second', '--connections-per-second'],
  ['siteConnectionsPerSecond', 'site_connections_per_second', '--site-connections-per-second'],
  ['slotLeaseSeconds', 'lease_seconds', '--slot-lease-seconds'],
];

/** `"3"` → 3, `"0.5"` → 0.5; anything else stays a string so the schema says what is wrong with it. */
function toNumber(value: string | number): string | number {
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function parseSiteCaps(entries: readonly string[]): Record<string, string | number> {
  const sites: Record<string, string | number> = {};
  for (const entry of entries) {
    const at = entry.lastIndexOf('=');
    if (at <= 0) throw new FleetError('FR_ERR_USAGE', `--site-cap ${JSON.stringify(entry)}: use SITE=N (LYON=3)`);
    sites[entry.slice(0, at)] = toNumber(entry.slice(at + 1));
  }
  return sites;
}

/**
 * The campaign file with the caps flags laid over its `caps:` (pure); any flag turns the shared caps on. Checked by
 * the campaign file's own schema, so a flag obeys the rules of its key; a bad value is one FR_ERR_USAGE naming it.
 */
export function applyCapsOverrides(settings: CampaignFile, flags: CapsOverrideFlags): CampaignFile {
  const overrides: Record<string, unknown> = {};
  const given = new Map<string, string>();
  for (const [option, key, flag] of FLAGS) {
    const raw = flags[option];
    if (raw === undefined || Array.isArray(raw)) continue;
    overrides[key] = toNumber(raw as string | number);
    given.set(key, `${flag} ${JSON.stringify(String(raw))}`);
  }
  const siteFlags = flags.siteCap ?? [];
  if (siteFlags.length > 0) {
    overrides['sites'] = { ...settings.caps?.sites, ...parseSiteCaps(siteFlags) };
    given.set('sites', '--site-cap');
  }
  if (given.size === 0) return settings;
  const merged = { ...settings, caps: { ...settings.caps, ...overrides } };
  const result = campaignFileSchema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const [section, key] = issue.path;
    const source = section === 'caps' ? given.get(String(key)) : undefined;
    const reason = issue.code === 'invalid_type' ? 'expected a number' : issue.message;
    return source ? `${source}: ${reason}` : `${issue.path.join('.')}: ${issue.message}`;
  });
  throw new FleetError('FR_ERR_USAGE', problems.join('; '));
}
