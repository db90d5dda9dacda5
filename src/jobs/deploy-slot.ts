import { randomUUID } from 'node:crypto';
import type { CampaignFile } from '../config/campaign-schema.js';
import { toDeployCaps } from '../config/caps-settings.js';
import { FleetError } from '../errors/index.js';
import {
  type DeployCaps,
  describeSlotWait,
  renewEveryMs,
  resolveRateScopes,
  resolveSlotScopes,
  slotRecheckMs,
} from '../rollout/deploy-caps.js';
import type { DeploySlots, SlotLease } from '../store/deploy-slots.js';
import type { UserRecord } from '../store/types.js';
import type { CampaignSettings, JobDeps, JobDisposition } from './types.js';

/** How long a job keeps asking for a slot in-process before it parks (a slot frees whenever any deploy ends). */
const IN_PROCESS_WAIT_MS = 2000;
const POLL_MIN_MS = 60;
const POLL_SPREAD_MS = 200;

/** A slot held for one deploy step: renewed until released. */
export interface HeldSlot {
  /** For the ssh transport: wait for a token of the connection rates before dialling. */
  readonly beforeConnect?: (signal: AbortSignal) => Promise<void>;
  /** Never rejects: a release lost to a Redis hiccup costs one slot until the lease expires. */
  release(): void;
}

export type SlotStep =
  | { readonly kind: 'held'; readonly slot: HeldSlot }
  | { readonly kind: 'park'; readonly disposition: JobDisposition };

const NO_SLOT: HeldSlot = Object.freeze({ release: () => {} });
const capsByFile = new WeakMap<CampaignFile, DeployCaps | undefined>();

function capsOf(file: CampaignFile): DeployCaps | undefined {
  if (!capsByFile.has(file)) capsByFile.set(file, toDeployCaps(file.caps));
  return capsByFile.get(file);
}

/**
 * The cross-agent slots of a deploy step (docs/concurrency.md), taken before the step starts so that waiting never
 * counts against the deploy timeout. No slot within a short in-process wait: the job is parked (no BullMQ attempt
 * spent) and the user shows why (`waiting for a slot: site LYON 3/3`). A campaign without `caps:` holds nothing.
 */
export async function takeDeploySlot(
  campaign: CampaignSettings,
  user: UserRecord,
  deps: JobDeps,
  signal: AbortSignal,
): Promise<SlotStep> {
  const caps = capsOf(campaign.file);
  const slots = deps.slots;
  if (!caps || !slots || !user.spec.host) return { kind: 'held', slot: NO_SLOT };
  const site = user.spec.site;
  const lease: SlotLease = {
    id: `${deps.agentId}:${randomUUID()}`,
    scopes: resolveSlotScopes(caps, site, user.spec.host),
    ...(site !== undefined && { site }),
    leaseMs: caps.leaseMs,
  };
  const giveUpAt = deps.now() + IN_PROCESS_WAIT_MS;
  for (;;) {
    const answer = await slots.acquire(lease);
    if (answer.kind === 'acquired') return { kind: 'held', slot: holdLease(slots, lease, caps, site, deps) };
    if (deps.now() >= giveUpAt || signal.aborted) {
      const reason = describeSlotWait(answer.scope, answer.inUse);
      return { kind: 'park', disposition: await parkUser(campaign.name, user, reason, deps) };
    }
    await sleep(POLL_MIN_MS + deps.random() * POLL_SPREAD_MS, signal);
  }
}

function holdLease(
  slots: DeploySlots,
  lease: SlotLease,
  caps: DeployCaps,
  site: string | undefined,
  deps: JobDeps,
): HeldSlot {
  const timer = setInterval(() => {
    slots.renew(lease).then(
      (lapsed) => {
        if (lapsed) deps.logger.warn({ lease: lease.id }, 'deploy slot lease had lapsed, counted again');
      },
      (error: unknown) => deps.logger.warn({ err: (error as Error).message }, 'deploy slot renewal failed'),
    );
  }, renewEveryMs(lease.leaseMs));
  timer.unref();
  const rates = resolveRateScopes(caps, site);
  return {
    ...(rates.length > 0 && {
      beforeConnect: (signal: AbortSignal) => waitForConnectionToken(slots, rates, deps.random, signal),
    }),
    release() {
      clearInterval(timer);
      // A release lost to a Redis hiccup costs one slot for at most the lease time, never a failed user.
      slots
        .release(lease)
        .catch((error: unknown) =>
          deps.logger.warn({ err: (error as Error).message }, 'deploy slot release failed (expires with its lease)'),
        );
    },
  };
}

/** Waits for a token in every connection bucket (the ssh transport calls it before dialling). */
export async function waitForConnectionToken(
  slots: DeploySlots,
  rates: Parameters<DeploySlots['takeConnection']>[0],
  random: () => number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof FleetError ? signal.reason : new FleetError('FR_ERR_CANCELLED');
    const waitMs = await slots.takeConnection(rates);
    if (waitMs === 0) return;
    await sleep(waitMs + random() * POLL_MIN_MS, signal);
  }
}

/** Park the job; record the reason on the user when it changed (one write, not one per look). */
async function parkUser(campaign: string, user: UserRecord, reason: string, deps: JobDeps): Promise<JobDisposition> {
  const now = deps.now();
  if (user.parkedReason !== reason && user.state !== 'deploying' && user.state !== 'rolling-back') {
    await deps.store.transition(
      campaign,
      user.userKey,
      { intent: 'wait-for-window', run: user.run, patch: { parkedReason: reason } },
      now,
    );
  }
  return { kind: 'delay', until: now + slotRecheckMs(deps.random()) };
}

/** Resolves after `ms`, or at once when the signal aborts (the caller looks at the signal). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}
