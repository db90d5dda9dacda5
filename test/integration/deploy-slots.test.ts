import { afterAll, describe, expect, it } from 'vitest';
import { type DeployCaps, resolveRateScopes, resolveSlotScopes } from '../../src/rollout/deploy-caps.js';
import { createDeploySlots, type SlotLease } from '../../src/store/deploy-slots.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';

const prefix = createTestPrefix('deploy-slots');
// Three connections stand for three agents: the scripts, not a process-local lock, must keep the caps.
const redises = [connectTestRedis(), connectTestRedis(), connectTestRedis()];
const agents = redises.map((redis) => createDeploySlots(redis, prefix));

afterAll(async () => {
  await deletePrefix(redises[0]!, prefix);
  for (const redis of redises) redis.disconnect();
});

const caps = (overrides: Partial<DeployCaps> = {}): DeployCaps => ({
  perHost: 2,
  sites: { LYON: 3 },
  perSite: 4,
  maxInFlight: 6,
  leaseMs: 30_000,
  ...overrides,
});

function lease(id: string, c: DeployCaps, site: string | undefined, host: string): SlotLease {
  return { id, scopes: resolveSlotScopes(c, site, host), ...(site !== undefined && { site }), leaseMs: c.leaseMs };
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('deploy slots on Redis', { timeout: 60_000 }, () => {
  it('many concurrent acquirers never exceed any cap, and every cap is reached', async () => {
    const c = caps({ sites: { LYON: 3 }, perSite: 4, maxInFlight: 6, perHost: 2 });
    const sites = ['LYON', 'PARIS', 'NICE'];
    const hosts = (site: string) => [0, 1, 2, 3].map((i) => `${site}-ws${i}`);
    const live = new Map<string, number>();
    const peak = new Map<string, number>();
    const bump = (key: string, by: number) => {
      const n = (live.get(key) ?? 0) + by;
      live.set(key, n);
      peak.set(key, Math.max(peak.get(key) ?? 0, n));
    };
    let granted = 0;
    let refused = 0;
    async function worker(index: number): Promise<void> {
      const slots = agents[index % agents.length]!;
      for (let round = 0; round < 25; round += 1) {
        const site = sites[(index + round) % sites.length]!;
        const host = hosts(site)[(index * 7 + round) % 4]!;
        const l = lease(`w${index}-${round}`, c, site, host);
        const answer = await slots.acquire(l);
        if (answer.kind === 'full') {
          refused += 1;
          await pause(1 + Math.random() * 4);
          continue;
        }
        granted += 1;
        for (const key of ['*', site, host]) bump(key, 1);
        await pause(2 + Math.random() * 8);
        for (const key of ['*', site, host]) bump(key, -1);
        await slots.release(l);
      }
    }
    await Promise.all(Array.from({ length: 40 }, (_, i) => worker(i)));
    expect(granted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
    expect(peak.get('*')).toBe(6);
    expect(peak.get('LYON')).toBeLessThanOrEqual(3);
    expect(Math.max(peak.get('PARIS') ?? 0, peak.get('NICE') ?? 0)).toBeLessThanOrEqual(4);
    expect(Math.max(...sites.map((s) => peak.get(s) ?? 0))).toBeGreaterThanOrEqual(3);
    const hostPeaks = sites.flatMap(hosts).map((h) => peak.get(h) ?? 0);
    expect(Math.max(...hostPeaks)).toBe(2);
    expect((await agents[0]!.counts(['LYON'])).global).toBe(0);
  });

  it('names the full scope and its count; a retried acquire of the same lease is not a second slot', async () => {
    const c = caps({ sites: { LYON: 1 } });
    const first = lease('a1', c, 'LYON', 'ly-1');
    expect(await agents[0]!.acquire(first)).toEqual({ kind: 'acquired' });
    expect(await agents[1]!.acquire(first)).toEqual({ kind: 'acquired' });
    const second = await agents[1]!.acquire(lease('a2', c, 'LYON', 'ly-2'));
    expect(second).toMatchObject({ kind: 'full', scope: { kind: 'site', name: 'LYON', cap: 1 }, inUse: 1 });
    const counts = await agents[2]!.counts(['PARIS']);
    expect(counts.sites).toMatchObject({ LYON: 1, PARIS: 0 });
    await agents[0]!.release(first);
    expect(await agents[1]!.acquire(lease('a2', c, 'LYON', 'ly-2'))).toEqual({ kind: 'acquired' });
    await agents[1]!.release(lease('a2', c, 'LYON', 'ly-2'));
  });

  it('a holder that stops renewing (its agent died) loses the slot within the lease; a renewing one keeps it', async () => {
    const c = caps({ sites: { TTL: 1 }, leaseMs: 1200 });
    const dead = lease('dead', c, 'TTL', 'ttl-1');
    expect((await agents[0]!.acquire(dead)).kind).toBe('acquired');
    const waiter = lease('waiter', c, 'TTL', 'ttl-2');
    const started = Date.now();
    while ((await agents[1]!.acquire(waiter)).kind !== 'acquired') await pause(50);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(900);
    expect(waited).toBeLessThan(1200 + 1000);

    // The waiter renews every 400 ms: nobody else gets the site's slot for 3 lease times.
    const timer = setInterval(() => void agents[1]!.renew(waiter), 400);
    const rival = lease('rival', c, 'TTL', 'ttl-3');
    const until = Date.now() + 3600;
    while (Date.now() < until) {
      expect((await agents[2]!.acquire(rival)).kind).toBe('full');
      await pause(100);
    }
    clearInterval(timer);
    await agents[1]!.release(waiter);
    expect((await agents[2]!.acquire(rival)).kind).toBe('acquired');
    await agents[2]!.release(rival);
  });

  it('releases of one moment share a script call and free exactly their own slots, whatever their scopes', async () => {
    const slots = agents[0]!;
    const withFleetCap = caps({ perHost: 1, perSite: 10, maxInFlight: 10 });
    const noFleetCap = caps({ perHost: 1, perSite: 10, maxInFlight: undefined });
    const held = [
      ...[0, 1, 2].map((i) => lease(`batch-a${i}`, withFleetCap, 'LILLE', `LILLE-b${i}`)),
      ...[3, 4].map((i) => lease(`batch-b${i}`, noFleetCap, 'LILLE', `LILLE-b${i}`)),
      lease('batch-kept', withFleetCap, 'LILLE', 'LILLE-b5'),
    ];
    for (const l of held) expect((await slots.acquire(l)).kind).toBe('acquired');
    expect((await slots.counts(['LILLE'])).sites['LILLE']).toBe(6);
    // Released together (one batch), the kept lease stays counted and every released host is free again.
    await Promise.all(held.slice(0, 5).map((l) => slots.release(l)));
    expect((await slots.counts(['LILLE'])).sites['LILLE']).toBe(1);
    for (const l of held.slice(0, 5))
      expect((await slots.acquire({ ...l, id: `${l.id}-again` })).kind).toBe('acquired');
    expect((await slots.acquire({ ...held[5]!, id: 'batch-kept-again' })).kind).toBe('full');
  });

  it('connection rates: tokens per second shared by agents, global and per site together', async () => {
    const c = caps({ connectionsPerSecond: 20, siteConnectionsPerSecond: 5 });
    const lyon = resolveRateScopes(c, 'RL');
    const paris = resolveRateScopes(c, 'RP');
    // A full bucket: a burst of 5 for the site, then about 5 a second.
    let taken = 0;
    for (let i = 0; i < 5; i += 1) taken += (await agents[i % 3]!.takeConnection(lyon)) === 0 ? 1 : 0;
    expect(taken).toBe(5);
    const wait = await agents[0]!.takeConnection(lyon);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(200);
    // Another site is not held back by this one's bucket.
    expect(await agents[1]!.takeConnection(paris)).toBe(0);
    const started = Date.now();
    let more = 0;
    while (more < 5) {
      const ms = await agents[more % 3]!.takeConnection(lyon);
      if (ms === 0) more += 1;
      else await pause(ms);
    }
    // 5 more tokens at 5 a second: about a second, never a burst.
    expect(Date.now() - started).toBeGreaterThan(800);
  });
});
