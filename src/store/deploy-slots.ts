import type { Redis } from 'ioredis';
import type { RateScope, SlotScope, SlotScopeKind } from '../rollout/deploy-caps.js';
import { RATE_TAKE_LUA, SLOT_ACQUIRE_LUA, SLOT_COUNT_LUA, SLOT_RELEASE_LUA, SLOT_RENEW_LUA } from './slot-scripts.js';

/**
 * Deploy slots shared by every agent on one Redis: a lease semaphore per scope (the fleet, a site, a host), each a
 * ZSET of lease ids scored by their expiry on the Redis clock. A holder renews its lease while its deploy runs and
 * removes it at the end; an agent that died stops renewing and its slots come back when the lease expires. The
 * connection rates are token buckets in the same Redis. Which scopes and caps apply is decided in the core
 * (src/rollout/deploy-caps.ts). All keys share one hash tag: the scripts touch several at once.
 */

export type SlotAnswer =
  | { readonly kind: 'acquired' }
  | { readonly kind: 'full'; readonly scope: SlotScope; readonly inUse: number };

/** A granted lease: what renew and release need. */
export interface SlotLease {
  readonly id: string;
  readonly scopes: readonly SlotScope[];
  readonly site?: string;
  readonly leaseMs: number;
}

export interface SlotCounts {
  /** Deploys holding a fleet-wide slot (counted only under a fleet cap: max_in_flight). */
  readonly global: number;
  /** Live leases per site, for the sites asked about and every site ever counted on this Redis. */
  readonly sites: Readonly<Record<string, number>>;
}

export interface DeploySlots {
  acquire(lease: SlotLease): Promise<SlotAnswer>;
  /** true when the lease had lapsed and was counted again. */
  renew(lease: SlotLease): Promise<boolean>;
  release(lease: SlotLease): Promise<void>;
  /** Milliseconds to wait before a token is available in every bucket; 0 = one was taken. */
  takeConnection(scopes: readonly RateScope[]): Promise<number>;
  counts(sites: readonly string[]): Promise<SlotCounts>;
}

/** Releases wait this long at most for others to share their script call. */
const RELEASE_BATCH_MS = 2;
const RELEASE_BATCH_MAX = 200;

interface PendingRelease {
  readonly keys: readonly string[];
  readonly id: string;
  readonly done: () => void;
  readonly fail: (error: unknown) => void;
}

export function createDeploySlots(redis: Redis, prefix: string): DeploySlots {
  const root = `${prefix}:fr:{slots}`;
  const slotKey = (kind: SlotScopeKind, name: string): string =>
    kind === 'global' ? `${root}:g` : `${root}:${kind}:${name}`;
  const siteIndex = `${root}:sites`;
  const rateKey = (scope: RateScope): string =>
    scope.kind === 'global' ? `${root}:rate` : `${root}:rate:${scope.name}`;
  const keysOf = (lease: SlotLease): string[] => [siteIndex, ...lease.scopes.map((s) => slotKey(s.kind, s.name))];
  const argsOf = (lease: SlotLease): (string | number)[] => [lease.id, lease.leaseMs, lease.site ?? ''];

  const scripts = {
    frSlotAcquire: SLOT_ACQUIRE_LUA,
    frSlotRenew: SLOT_RENEW_LUA,
    frSlotRelease: SLOT_RELEASE_LUA,
    frSlotCount: SLOT_COUNT_LUA,
    frRateTake: RATE_TAKE_LUA,
  };
  // EVALSHA (ioredis falls back to EVAL after a Redis restart); no numberOfKeys: each call says how many.
  for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { lua });
  const host = redis as unknown as Record<keyof typeof scripts, (...args: (string | number)[]) => Promise<unknown>>;
  const evalScript = (name: keyof typeof scripts, keys: readonly string[], args: readonly (string | number)[]) =>
    host[name].call(redis, keys.length, ...keys, ...args);

  // Releases are off the deploy's path: those of the next few milliseconds share one script call (a slot comes
  // back at most RELEASE_BATCH_MS later; at 2,000 deploys a second that is one call for many instead of one each).
  const releases: PendingRelease[] = [];
  let releaseTimer: NodeJS.Timeout | undefined;
  const flushReleases = (): void => {
    clearTimeout(releaseTimer);
    releaseTimer = undefined;
    const batch = releases.splice(0);
    if (batch.length === 0) return;
    const keys = batch.flatMap((r) => r.keys);
    const args = batch.flatMap((r) => [r.keys.length, r.id]);
    evalScript('frSlotRelease', keys, args).then(
      () => {
        for (const r of batch) r.done();
      },
      (error: unknown) => {
        for (const r of batch) r.fail(error);
      },
    );
  };

  return {
    async acquire(lease) {
      const caps = lease.scopes.map((s) => s.cap);
      const answer = (await evalScript('frSlotAcquire', keysOf(lease), [...argsOf(lease), ...caps])) as number[];
      const index = Number(answer[0]);
      if (index === 0) return { kind: 'acquired' };
      const scope = lease.scopes[index - 1];
      if (!scope) throw new Error(`slot script answered scope ${index} of ${lease.scopes.length}`);
      return { kind: 'full', scope, inUse: Number(answer[1]) };
    },
    async renew(lease) {
      return Number(await evalScript('frSlotRenew', keysOf(lease), argsOf(lease))) === 1;
    },
    release(lease) {
      return new Promise<void>((done, fail) => {
        releases.push({ keys: lease.scopes.map((scope) => slotKey(scope.kind, scope.name)), id: lease.id, done, fail });
        if (releases.length >= RELEASE_BATCH_MAX) flushReleases();
        else releaseTimer ??= setTimeout(flushReleases, RELEASE_BATCH_MS);
      });
    },
    async takeConnection(scopes) {
      if (scopes.length === 0) return 0;
      return Number(
        await evalScript(
          'frRateTake',
          scopes.map(rateKey),
          scopes.map((s) => s.perSecond),
        ),
      );
    },
    async counts(sites) {
      const seen = await redis.smembers(siteIndex);
      const names = [...new Set([...sites, ...seen])].sort();
      const keys = [slotKey('global', '*'), ...names.map((site) => slotKey('site', site))];
      const answer = (await evalScript('frSlotCount', keys, [])) as number[];
      return {
        global: Number(answer[0]),
        sites: Object.fromEntries(names.map((site, i) => [site, Number(answer[i + 1])])),
      };
    },
  };
}
