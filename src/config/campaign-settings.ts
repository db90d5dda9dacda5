import type { ProfileOptions } from '../profile/profile-options.js';
import type { RetryPolicy } from '../rollout/retry-policy.js';
import type { CampaignFile } from './campaign-schema.js';

/** Pure mappers from the campaign file (snake_case, seconds) to the core's options (camelCase, milliseconds). */

export function toProfileOptions(file: CampaignFile, overrides: Partial<ProfileOptions> = {}): ProfileOptions {
  return Object.freeze({
    mode: file.profile.mode,
    defaultProfile: file.profile.default_profile,
    backupProfile: file.profile.backup_profile,
    cachedMode: file.profile.cached_mode,
    codepage: file.profile.codepage,
    encoding: file.profile.encoding,
    officePolicy: {
      office16: file.profile.office_policy.office_16,
      mailboxOnExchange2013OrLater: file.profile.office_policy.mailbox_on_exchange_2013_or_later,
    },
    ...overrides,
  });
}

export function toRetryPolicy(file: CampaignFile): RetryPolicy {
  return Object.freeze({
    maxAttempts: file.retry.max_attempts,
    baseDelayMs: Math.round(file.retry.base_delay_seconds * 1000),
    maxDelayMs: Math.round(file.retry.max_delay_seconds * 1000),
    jitter: file.retry.jitter,
    horizonMs: Math.round(file.retry.horizon_hours * 3_600_000),
  });
}
