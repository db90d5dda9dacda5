import { describe, expect, it } from 'vitest';
import { capsSchema } from '../../src/config/caps-schema.js';
import { toPlanCaps } from '../../src/config/caps-settings.js';
import { formatPlanText } from '../../src/rollout/format-plan.js';
import { planRollout } from '../../src/rollout/plan-rollout.js';

/** `plan` simulates the agents under the campaign file's `caps:` (max_in_flight, per_site, sites), not flags only. */
const MIN = 60_000;
const users = (n: number, site: string) => Array.from({ length: n }, (_, i) => ({ username: `${site}${i + 1}`, site }));

describe('plan with the campaign caps', () => {
  it('bounds the concurrency by max_in_flight, takes per_site and the named sites, and a flag replaces per_site', () => {
    const caps = capsSchema.parse({ max_in_flight: 6, per_site: 4, sites: { lyon: 1 } });
    expect(toPlanCaps(caps, { concurrency: 20 })).toEqual({ concurrency: 6, perSiteCap: 4, siteCaps: { lyon: 1 } });
    expect(toPlanCaps(caps, { concurrency: 3, perSiteCap: 2 })).toEqual({
      concurrency: 3,
      perSiteCap: 2,
      siteCaps: { lyon: 1 },
    });
    expect(toPlanCaps(undefined, { concurrency: 20 })).toEqual({ concurrency: 20 });
  });

  it('estimates a later finish under the caps: a site capped at 1 deploys one user at a time', () => {
    const base = { users: [...users(4, 'lyon'), ...users(4, 'paris')], soakMs: 0, perUserMs: 10 * MIN, now: 0 };
    const free = planRollout({ ...base, ...toPlanCaps(undefined, { concurrency: 20 }) });
    expect(free.finishAt).toBe(10 * MIN);
    const caps = capsSchema.parse({ max_in_flight: 6, per_site: 4, sites: { lyon: 1 } });
    const capped = planRollout({ ...base, ...toPlanCaps(caps, { concurrency: 20 }) });
    // lyon one at a time: 4 × 10 min; paris 4 at once, within the fleet's 6.
    expect(capped.finishAt).toBe(40 * MIN);
    expect(capped).toMatchObject({ concurrency: 6, perSiteCap: 4, siteCaps: { lyon: 1 } });
    expect(formatPlanText(capped).split('\n')[0]).toContain('6 deploys at once, at most 4 per site, lyon 1');
  });
});
