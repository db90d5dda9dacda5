import type { ProfileOptions } from '../profile/profile-options.js';
import type { RetryPolicy } from '../rollout/retry-policy.js';
import {
  parseDays,
  parseStartAt,
  parseWindowHours,
  type RolloutSchedule,
  type SiteSchedule,
} from '../rollout/schedule.js';
import type { WaveRule } from '../rollout/wave-health.js';
import { parseWaveSize, type WavePlanSettings, type WaveSize } from '../rollout/waves.js';
import type { CampaignFile, ScheduleSettings } from './campaign-schema.js';

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

function toSiteSchedule(timezone: string, windows: ScheduleSettings['windows']): SiteSchedule {
  return Object.freeze({
    timezone,
    windows: Object.freeze(
      windows.map((window) => {
        const days = parseDays(window.days);
        const hours = parseWindowHours(window.hours);
        // The schema validated both: a string here is a bug.
        if (typeof days === 'string' || typeof hours === 'string') throw new Error(`invalid window ${window.hours}`);
        return Object.freeze({ days: Object.freeze(days), ...hours });
      }),
    ),
  });
}

/** The campaign's schedule for the deploy gate and the planner; undefined when the file has none. */
export function toRolloutSchedule(file: CampaignFile): RolloutSchedule | undefined {
  const schedule = file.schedule;
  if (!schedule) return undefined;
  const zone = schedule.timezone ?? 'UTC';
  const sites: Record<string, SiteSchedule> = {};
  for (const [site, own] of Object.entries(schedule.sites)) {
    sites[site] = toSiteSchedule(own.timezone ?? zone, own.windows ?? schedule.windows);
  }
  const startAt = schedule.start_at !== undefined ? parseStartAt(schedule.start_at.trim(), zone) : undefined;
  return Object.freeze({
    ...(startAt !== undefined && { startAt }),
    campaign: toSiteSchedule(zone, schedule.windows),
    sites: Object.freeze(sites),
  });
}

/** Floor of a deploy's expected duration, in milliseconds (5 minutes when the file has no schedule). */
export function toMinDeployMs(file: CampaignFile): number {
  return Math.round((file.schedule?.min_deploy_minutes ?? 5) * 60_000);
}

/** Expected duration of one deploy before any was measured, in milliseconds (60 s when the file has no schedule). */
export function toDeployEstimateMs(file: CampaignFile): number {
  return Math.round((file.schedule?.deploy_estimate_seconds ?? 60) * 1000);
}

/** The wave planner's settings; undefined when the file has no waves (one wave: everyone). */
export function toWavePlanSettings(file: CampaignFile, campaignName: string): WavePlanSettings | undefined {
  const waves = file.waves;
  if (!waves) return undefined;
  const size = (value: number | string | undefined): WaveSize | undefined => {
    if (value === undefined) return undefined;
    const parsed = parseWaveSize(value);
    if (typeof parsed === 'string') throw new Error(`invalid wave size ${value}`);
    return parsed;
  };
  const canary = size(waves.canary);
  const each = size(waves.size);
  return Object.freeze({
    ...(canary && { canary }),
    ...(each && { size: each }),
    order: waves.order,
    seed: waves.seed ?? file.name ?? campaignName,
    ...(waves.site_order && { siteOrder: waves.site_order }),
  });
}

/** The halt and promotion rule of every wave, and the soak time between waves. */
export function toWaveRule(file: CampaignFile): WaveRule & { readonly soakMs: number } {
  const waves = file.waves;
  return Object.freeze({
    ...(waves?.max_fail_percent !== undefined && { maxFailPercent: waves.max_fail_percent }),
    countRetryingAsFailed: waves?.count_retrying_as_failed ?? false,
    ...(waves?.auto_promote_percent !== undefined && { autoPromotePercent: waves.auto_promote_percent }),
    soakMs: Math.round((waves?.soak_minutes ?? 0) * 60_000),
  });
}
