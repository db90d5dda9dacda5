import type { CampaignFile } from '../config/campaign-schema.js';
import { toWaveRule } from '../config/campaign-settings.js';
import { isUserState, type UserState } from '../rollout/states.js';
import type { WaveProgress } from './types.js';

/** The waves' fields of the campaign hash and the per-wave counters, to and from Redis (see wave-lua.ts). */

/** `max|countRetrying|autoPromote|soakMs` (-1 = unset), or '' when the campaign has no waves. */
export function encodeWaveRule(settings: CampaignFile): string {
  if (!settings.waves) return '';
  const rule = toWaveRule(settings);
  return [
    rule.maxFailPercent ?? -1,
    rule.countRetryingAsFailed ? 1 : 0,
    rule.autoPromotePercent ?? -1,
    rule.soakMs,
  ].join('|');
}

export function decodeWaveProgress(hash: Record<string, string>): { waves?: WaveProgress } {
  const count = Number(hash['wCount'] ?? 0);
  if (!(hash['wRule'] ?? '') || !(count > 0)) return {};
  const opensAt = Number(hash['wAt'] ?? Number.NaN);
  const accepted = Number(hash['wAck'] ?? Number.NaN);
  return {
    waves: {
      count,
      open: Number(hash['wOpen'] ?? 1),
      ...(Number.isFinite(opensAt) && { opensAt }),
      ...(Number.isFinite(accepted) && { accepted }),
    },
  };
}

export function decodeHalt(hash: Record<string, string>): { halt?: { wave: number; users: string[] } } {
  if (hash['state'] !== 'halted' || hash['haltWave'] === undefined) return {};
  const users = (hash['haltUsers'] ?? '').split(',').filter((name) => name !== '');
  return { halt: { wave: Number(hash['haltWave']), users } };
}

/** `<wave>:<state>` → count, as a map of wave → counts (zeros left out). */
export function decodeWaveCounts(hash: Record<string, string>): Map<number, Partial<Record<UserState, number>>> {
  const waves = new Map<number, Partial<Record<UserState, number>>>();
  for (const [field, value] of Object.entries(hash)) {
    const at = field.indexOf(':');
    const wave = Number(field.slice(0, at));
    const state = field.slice(at + 1);
    const count = Number(value);
    if (!Number.isInteger(wave) || !isUserState(state) || count === 0) continue;
    const counts = waves.get(wave) ?? {};
    counts[state] = count;
    waves.set(wave, counts);
  }
  return new Map([...waves].sort(([a], [b]) => a - b));
}
