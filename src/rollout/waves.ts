import { createHash } from 'node:crypto';

/**
 * The wave planner (pure): which wave each user of a campaign belongs to. A canary first (N users or a percentage),
 * then waves of a size or a percentage, the last taking what is left. Percentages are of the whole campaign
 * (Ansible's `serial: "25%"`), rounded up, at least one user. Order: CSV order, site by site, or a seeded random
 * order in which each user's place depends only on the seed and its username, so adding rows to the CSV never
 * moves the other users between waves.
 */

export type WaveSize = { readonly count: number } | { readonly percent: number };
export type WaveOrder = 'csv' | 'site' | 'random';

export interface WavePlanSettings {
  readonly canary?: WaveSize;
  /** Every wave after the canary; absent: one wave with everyone left. */
  readonly size?: WaveSize;
  readonly order: WaveOrder;
  readonly seed: string;
  /** `order: site`: these sites first, in this order; the others after, in order of first appearance. */
  readonly siteOrder?: readonly string[];
}

export interface WaveMember {
  readonly username: string;
  readonly site?: string;
}

export interface WaveAssignment {
  /** Wave number (1-based) of each member, by its index in the input. */
  readonly waveOf: readonly number[];
  /** Members' indices in rollout order (wave 1 first). */
  readonly order: readonly number[];
  /** Users per wave: sizes[0] is wave 1. */
  readonly sizes: readonly number[];
  /** Whether wave 1 is a canary. */
  readonly canary: boolean;
}

/** Users a size stands for in a campaign of `total` users: at least 1, at most `total`. */
export function resolveWaveSize(size: WaveSize, total: number): number {
  const wanted = 'count' in size ? size.count : Math.ceil((total * size.percent) / 100);
  return Math.max(1, Math.min(total, Math.floor(wanted)));
}

/** `5%` → percent, `50` → count; a string is a problem in words. */
export function parseWaveSize(value: number | string): WaveSize | string {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 1
      ? { count: value }
      : `${value}: a whole number of users (≥ 1) or a percentage like "10%"`;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent > 0 && percent <= 100))
    return `"${value}": a whole number of users (≥ 1) or a percentage like "10%" (0 < % ≤ 100)`;
  return { percent };
}

function randomKey(seed: string, username: string): string {
  return createHash('sha256').update(`${seed}\u0000${username.toLowerCase()}`).digest('hex');
}

function orderMembers(members: readonly WaveMember[], settings: WavePlanSettings): number[] {
  const indices = members.map((_, index) => index);
  if (settings.order === 'random') {
    const keys = members.map((member) => randomKey(settings.seed, member.username));
    return indices.sort((a, b) => {
      const ka = keys[a] as string;
      const kb = keys[b] as string;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
  }
  if (settings.order === 'site') {
    const rank = new Map<string, number>();
    for (const site of settings.siteOrder ?? []) if (!rank.has(site)) rank.set(site, rank.size);
    for (const member of members) {
      const site = member.site ?? '';
      if (!rank.has(site)) rank.set(site, rank.size);
    }
    // Stable sort: CSV order within a site.
    return indices.sort((a, b) => (rank.get(members[a]?.site ?? '') ?? 0) - (rank.get(members[b]?.site ?? '') ?? 0));
  }
  return indices;
}

export function assignWaves(members: readonly WaveMember[], settings: WavePlanSettings): WaveAssignment {
  const total = members.length;
  const order = orderMembers(members, settings);
  const sizes: number[] = [];
  let left = total;
  const canary = settings.canary !== undefined && total > 0;
  if (settings.canary && total > 0) {
    const first = resolveWaveSize(settings.canary, total);
    sizes.push(first);
    left -= first;
  }
  const each = settings.size ? resolveWaveSize(settings.size, total) : left;
  while (left > 0) {
    const next = Math.min(each, left);
    sizes.push(next);
    left -= next;
  }
  const waveOf = new Array<number>(total).fill(0);
  let position = 0;
  sizes.forEach((size, wave) => {
    for (let i = 0; i < size; i += 1) waveOf[order[position++] as number] = wave + 1;
  });
  return { waveOf, order, sizes, canary };
}
