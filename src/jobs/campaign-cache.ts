import type { CampaignFile } from '../config/campaign-schema.js';
import type { ProfileOptions } from '../profile/profile-options.js';
import type { RetryPolicy } from '../rollout/retry-policy.js';
import type { RecordStore } from '../store/types.js';
import type { CampaignSettings } from './types.js';

export interface SettingsDerivation {
  readonly toProfileOptions: (file: CampaignFile) => ProfileOptions;
  readonly toRetryPolicy: (file: CampaignFile) => RetryPolicy;
}

/**
 * Campaign records read at most once per `ttlMs` per campaign: every deploy job needs the settings, and
 * 100k HGETALLs of the same record would be most of the Redis traffic. A state change (pause, cancel) is
 * seen within `ttlMs`; the queue pause itself is immediate.
 */
export function createCampaignCache(
  store: RecordStore,
  derive: SettingsDerivation,
  now: () => number,
  ttlMs = 1000,
): (name: string, options?: { readonly fresh?: boolean }) => Promise<CampaignSettings | undefined> {
  const entries = new Map<string, { at: number; value: Promise<CampaignSettings | undefined> }>();

  async function load(name: string): Promise<CampaignSettings | undefined> {
    const record = await store.getCampaign(name);
    if (!record) return undefined;
    return {
      name: record.name,
      state: record.state,
      imports: record.imports,
      file: record.settings,
      profileOptions: derive.toProfileOptions(record.settings),
      retryPolicy: derive.toRetryPolicy(record.settings),
      ...(record.waves && { waves: record.waves }),
    };
  }

  return (name, options) => {
    const entry = entries.get(name);
    if (entry && options?.fresh !== true && now() - entry.at < ttlMs) return entry.value;
    const value = load(name);
    entries.set(name, { at: now(), value });
    // A failed read must not stick for ttlMs.
    value.catch(() => entries.delete(name));
    return value;
  };
}
