import { randomUUID } from 'node:crypto';
import type { CampaignFile } from '../config/campaign-schema.js';
import { toRolloutSchedule } from '../config/campaign-settings.js';
import { toDeployCaps } from '../config/caps-settings.js';
import { waitForConnectionToken } from '../jobs/deploy-slot.js';
import { type DeployCaps, renewEveryMs, resolveRateScopes, resolveSlotScopes } from '../rollout/deploy-caps.js';
import { decideSchedule, expectedDeployMs } from '../rollout/schedule.js';
import type { CampaignState } from '../rollout/states.js';
import type { DeploySlots, SlotLease } from '../store/deploy-slots.js';
import { toUserKey } from '../store/keys.js';
import type { RecordStore, UserRecord } from '../store/types.js';
import type { VerificationRecord, VerificationStore } from '../store/verification-store.js';
import type { Transport } from '../transport/transport.js';
import { stagedWhileRunning, type VerifyRow, type VerifySubject, verifyUsers } from './inspect-users.js';
import { requireCampaign } from './start-campaign.js';

/**
 * The verify use case (did Outlook take the staged PRF?), shared by the admin's `fleet-rollout verify` (every applied
 * user, the admin's own SSH flags) and the agent's scheduled re-verify (only users still waiting for Outlook's
 * restart, inside their site's window, with the campaign's transport and caps). Results are recorded beside the
 * user records (the verification store): the user stays `applied` either way.
 */

/** Which applied users to look at. */
export type VerifySelection =
  | { readonly kind: 'applied'; readonly user?: string }
  /** Users whose last verify said `pending-restart`, or never verified after an `applied-pending-restart` apply. */
  | { readonly kind: 'pending-restart' };

export interface VerifyCampaignOptions {
  readonly transport: Transport;
  readonly verifications: VerificationStore;
  readonly concurrency: number;
  readonly now: () => number;
  /** Only users whose site's window is open at `now()` (the scheduled re-verify). */
  readonly insideWindow?: boolean;
  /** Shared deploy slots: a look takes one like a deploy (campaigns with `caps:`); a user without one waits. */
  readonly slots?: DeploySlots;
  readonly agentId?: string;
}

export interface VerifyCampaignResult {
  readonly rows: readonly VerifyRow[];
  /** "3 verified, 1 pending-restart, 1 not-taken" */
  readonly summary: string;
  /** Sites whose window was shut: their users were left for the next run. */
  readonly closedSites: readonly string[];
  /** Users left because every deploy slot of their scope was taken. */
  readonly busy: number;
}

/** "3 verified, 1 pending-restart, 1 not-taken" */
export function summarizeVerification(rows: readonly VerifyRow[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([status, n]) => `${n} ${status}`);
  return parts.length > 0 ? parts.join(', ') : 'no applied user to verify';
}

/** True when the user still waits for Outlook's restart (its last verify said so, or it never ran after such an apply). */
export function awaitsRestart(last: VerificationRecord | undefined, attempts: VerifySubject['attempts']): boolean {
  if (last) return last.status === 'pending-restart';
  return stagedWhileRunning(attempts);
}

export async function verifyCampaignUsers(
  store: RecordStore,
  name: string,
  selection: VerifySelection,
  options: VerifyCampaignOptions,
): Promise<VerifyCampaignResult> {
  const campaign = await requireCampaign(store, name);
  const file = campaign.settings;
  const isOpen = windowCheck(file, options);
  const closed = new Set<string>();
  let busy = 0;
  const caps = options.slots ? toDeployCaps(file.caps) : undefined;
  const only = selection.kind === 'applied' && selection.user !== undefined ? toUserKey(selection.user) : undefined;

  async function* subjects(): AsyncIterable<VerifySubject> {
    for await (const batch of store.scanUsers(name, { state: 'applied' })) {
      const users = batch.filter((user) => {
        if (only !== undefined && user.userKey !== only) return false;
        if (isOpen(user.spec.site)) return true;
        closed.add(user.spec.site ?? '');
        return false;
      });
      // The scheduled run reads the last verdicts of a batch in one call: most users are settled, no history read.
      const last =
        selection.kind === 'pending-restart'
          ? await options.verifications.getMany(
              name,
              users.map((user) => user.userKey),
            )
          : [];
      for (const [index, user] of users.entries()) {
        const record = last[index];
        if (record && record.status !== 'pending-restart') continue;
        const attempts = await store.getAttempts(name, user.userKey);
        if (selection.kind === 'pending-restart' && !awaitsRestart(record, attempts)) continue;
        const lease = caps && options.slots ? await tryLease(options.slots, caps, user, options) : undefined;
        if (lease === null) {
          busy += 1;
          continue;
        }
        yield {
          userKey: user.userKey,
          spec: user.spec,
          attempts,
          ...(user.checksum && { checksum: user.checksum }),
          ...(lease && { lease }),
        };
      }
    }
  }

  const concurrency = Math.max(1, Math.min(options.concurrency, caps?.maxInFlight ?? options.concurrency));
  const rows = await verifyUsers(subjects(), {
    campaign: name,
    file,
    transport: options.transport,
    concurrency,
    timeoutMs: file.deploy.timeout_seconds * 1000,
  });
  const at = options.now();
  for (const row of rows) {
    await options.verifications.save(name, row.userKey, { status: row.status, reason: row.reason, host: row.host, at });
  }
  return { rows, summary: summarizeVerification(rows), closedSites: [...closed], busy };
}

/** Campaign states in which the scheduled re-verify leaves the hosts alone (an admin stopped it, or it never ran). */
const IDLE: readonly CampaignState[] = ['draft', 'paused', 'halted', 'cancelled'];

export interface ScheduledReverifyResult extends Omit<VerifyCampaignResult, 'rows'> {
  readonly checked: number;
  readonly skipped?: string;
}

/**
 * The agent's scheduled re-verify (same cron as `schedule.retry`): the users still waiting for Outlook's restart,
 * inside their site's window, through the campaign's own transport.
 */
export async function runScheduledReverify(
  store: RecordStore,
  name: string,
  getTransport: (deploy: CampaignFile['deploy']) => Promise<Transport>,
  options: Omit<VerifyCampaignOptions, 'transport' | 'insideWindow'>,
): Promise<ScheduledReverifyResult> {
  const campaign = await requireCampaign(store, name);
  if (IDLE.includes(campaign.state)) {
    return { checked: 0, summary: '', closedSites: [], busy: 0, skipped: `campaign ${campaign.state}` };
  }
  const transport = await getTransport(campaign.settings.deploy);
  const result = await verifyCampaignUsers(
    store,
    name,
    { kind: 'pending-restart' },
    { ...options, transport, insideWindow: true },
  );
  return { checked: result.rows.length, summary: result.summary, closedSites: result.closedSites, busy: result.busy };
}

function windowCheck(file: CampaignFile, options: VerifyCampaignOptions): (site: string | undefined) => boolean {
  const schedule = options.insideWindow ? toRolloutSchedule(file) : undefined;
  if (!schedule) return () => true;
  const at = options.now();
  // A look takes seconds: inside the window is enough (the shortest expected step, one minute).
  const expected = expectedDeployMs(undefined, undefined);
  const cache = new Map<string, boolean>();
  return (site) => {
    const key = site ?? '';
    if (!cache.has(key)) cache.set(key, decideSchedule(schedule, site, expected, at).kind === 'open');
    return cache.get(key) === true;
  };
}

type HeldLease = NonNullable<VerifySubject['lease']>;

/** A deploy slot for one look, or null when its scope is full (the user is looked at next time). */
async function tryLease(
  slots: DeploySlots,
  caps: DeployCaps,
  user: UserRecord,
  options: VerifyCampaignOptions,
): Promise<HeldLease | null | undefined> {
  if (!user.spec.host) return undefined;
  const site = user.spec.site;
  const lease: SlotLease = {
    id: `${options.agentId ?? 'verify'}:${randomUUID()}`,
    scopes: resolveSlotScopes(caps, site, user.spec.host),
    ...(site !== undefined && { site }),
    leaseMs: caps.leaseMs,
  };
  if ((await slots.acquire(lease)).kind !== 'acquired') return null;
  const timer = setInterval(() => void slots.renew(lease).catch(() => {}), renewEveryMs(lease.leaseMs));
  timer.unref();
  const rates = resolveRateScopes(caps, site);
  return {
    release() {
      clearInterval(timer);
      // A lost release costs one slot until its lease expires, never a wrong result.
      slots.release(lease).catch(() => {});
    },
    ...(rates.length > 0 && {
      beforeConnect: (signal: AbortSignal) => waitForConnectionToken(slots, rates, Math.random, signal),
    }),
  };
}
