import { toRolloutSchedule, toWaveRule } from '../config/campaign-settings.js';
import { windowStateAt } from '../rollout/schedule.js';
import { countWave, type WaveCounters } from '../rollout/wave-health.js';
import type { RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

/** Where a campaign's schedule stands now: each site's window, the current wave and its failure rate, a halt. */
export interface ScheduleStatus {
  readonly startAt?: number;
  /** One entry per site with its own schedule, and '' for the campaign's (every other site). */
  readonly windows: ReadonlyArray<{
    readonly site: string;
    readonly timezone: string;
    readonly open: boolean;
    /** Open: when it closes (absent: always open). Shut: when it opens next (absent: not within 30 days). */
    readonly closesAt?: number;
    readonly opensAt?: number;
  }>;
  readonly waves?: {
    readonly count: number;
    readonly open: number;
    /** The open wave's users may start from then on (soak time after the previous one). */
    readonly opensAt?: number;
    readonly current: WaveCounters & { readonly wave: number; readonly failures: number; readonly ratePercent: number };
    readonly maxFailPercent?: number;
    readonly countRetryingAsFailed: boolean;
  };
  readonly halt?: { readonly wave: number; readonly reason: string; readonly users: readonly string[] };
}

export async function scheduleStatus(store: RecordStore, name: string, now: number): Promise<ScheduleStatus> {
  const campaign = await requireCampaign(store, name);
  const schedule = toRolloutSchedule(campaign.settings);
  const windows: Array<ScheduleStatus['windows'][number]> = [];
  if (schedule) {
    const sites: Array<[string, (typeof schedule)['campaign']]> = [
      ['', schedule.campaign],
      ...Object.entries(schedule.sites),
    ];
    for (const [site, own] of sites) {
      const state = windowStateAt(own, now);
      windows.push({
        site,
        timezone: own.timezone,
        open: state.open,
        ...(state.open && Number.isFinite(state.closesAt) && { closesAt: state.closesAt }),
        ...(!state.open && state.opensAt !== undefined && { opensAt: state.opensAt }),
      });
    }
  }
  let waves: ScheduleStatus['waves'];
  if (campaign.waves) {
    const rule = toWaveRule(campaign.settings);
    const counts = await store.waveCounts(name);
    const wave = campaign.halt?.wave ?? campaign.waves.open;
    const counters = countWave(counts.get(wave) ?? {});
    const failures = counters.failed + (rule.countRetryingAsFailed ? counters.retrying : 0);
    waves = {
      count: campaign.waves.count,
      open: campaign.waves.open,
      ...(campaign.waves.opensAt !== undefined && campaign.waves.opensAt > now && { opensAt: campaign.waves.opensAt }),
      current: { ...counters, wave, failures, ratePercent: counters.size > 0 ? (failures * 100) / counters.size : 0 },
      ...(rule.maxFailPercent !== undefined && { maxFailPercent: rule.maxFailPercent }),
      countRetryingAsFailed: rule.countRetryingAsFailed,
    };
  }
  return {
    ...(schedule?.startAt !== undefined && { startAt: schedule.startAt }),
    windows,
    ...(waves && { waves }),
    ...(campaign.halt && { halt: { ...campaign.halt, reason: campaign.stateReason } }),
  };
}
