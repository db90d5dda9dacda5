import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import { type ActionResult, retryUsers, rollbackUsers, type UserSelection } from '../campaign/act-on-users.js';
import { type CampaignInsights, campaignInsights } from '../campaign/campaign-insights.js';
import { campaignSlots, type SlotsView } from '../campaign/campaign-slots.js';
import { campaignStatus, listCampaigns } from '../campaign/campaign-status.js';
import {
  type CancelResult,
  cancelCampaign,
  controlCampaign,
  pauseCampaign,
  resumeCampaign,
} from '../campaign/control-campaign.js';
import { countUsers } from '../campaign/count-users.js';
import { getUserDetail, type UserDetail } from '../campaign/get-user-detail.js';
import { type ImportCampaignInput, type ImportResult, importCampaign } from '../campaign/import-campaign.js';
import { type CampaignPlanInput, campaignPlanInput } from '../campaign/plan-campaign.js';
import { type Reconciled, reconcileCampaign } from '../campaign/reconcile-campaign.js';
import { type RemoveResult, removeUser } from '../campaign/remove-users.js';
import { type ScheduleStatus, scheduleStatus } from '../campaign/schedule-status.js';
import { requireCampaign, type StartResult, startCampaign } from '../campaign/start-campaign.js';
import {
  addFailureSummaries,
  addStatusInsights,
  type FleetCampaignSummary,
  type FleetStatus,
} from '../campaign/status-insights.js';
import { type ReportRow, streamReport } from '../campaign/stream-report.js';
import { renderUserProfile, type UserProfile } from '../campaign/user-profile.js';
import type { CampaignFile } from '../config/campaign-schema.js';
import { DEFAULT_PREFIX } from '../config/defaults.js';
import type { FleetConfig } from '../config/resolve-config.js';
import type { ConnectionRole } from '../queue/connection.js';
import type { CampaignQueue, PipelineQueues } from '../queue/types.js';
import type { UserState } from '../rollout/states.js';
import { type AgentHeartbeat, createAgentHeartbeats } from '../store/agent-heartbeats.js';
import { type FollowAllOptions, followAllEvents } from '../store/all-events.js';
import { type FleetEvent, type FollowOptions, followEvents, readEvents } from '../store/event-stream.js';
import { createFailureReader } from '../store/failure-summary.js';
import { createStoreKeys } from '../store/keys.js';
import type { CampaignRecord, RecordStore, UserFilter, UserPage, UserPageRequest } from '../store/types.js';
import { type AuditFacade, createAuditLog } from './audit-log.js';
import { createRetirementFacade, type RetirementFacade } from './campaign-retirement.js';
import { createHostKeyFacade, type HostKeyFacade } from './host-key-pins.js';

export type { FleetCampaignSummary, FleetStatus } from '../campaign/status-insights.js';
export type { AgentHeartbeat } from '../store/agent-heartbeats.js';

/** Where an import reads its CSV: a file, or a stream (an upload) spooled to a private temp file first. */
export type CsvSource = { readonly path: string } | { readonly stream: Readable; readonly name: string };

export type FleetImportInput = Omit<ImportCampaignInput, 'csvPath' | 'csvName' | 'now' | 'clock' | 'settings'> & {
  readonly source: CsvSource;
  /** A campaign file already validated (loadCampaignFile), or none: see ImportCampaignInput.settings. */
  readonly settings?: CampaignFile;
};

/**
 * The application's one entrance: the CLI is argument parsing and printing over it, the dashboard is HTTP over it.
 * Every use case that changes a campaign ends with the reconciler, so the queues always follow the records.
 */
export interface Fleet extends AsyncDisposable, AuditFacade, HostKeyFacade, RetirementFacade {
  readonly config: FleetConfig;
  importCsv(input: FleetImportInput): Promise<ImportResult>;
  start(name: string): Promise<StartResult>;
  pause(name: string, reason?: string): Promise<CampaignRecord>;
  resume(name: string): Promise<CampaignRecord>;
  halt(name: string, reason: string): Promise<CampaignRecord>;
  cancel(name: string): Promise<CancelResult>;
  retry(name: string, selection: UserSelection): Promise<ActionResult>;
  rollback(name: string, selection: UserSelection): Promise<ActionResult>;
  remove(name: string, username: string): Promise<RemoveResult>;
  /** Makes the queues follow the campaign record (idempotent; commands and agents call it). */
  reconcile(name: string): Promise<Reconciled>;
  campaign(name: string): Promise<CampaignRecord>;
  /** Every campaign with its counts, and for those with failed users the top causes, sites and hosts. */
  campaigns(): Promise<FleetCampaignSummary[]>;
  /** Counts, pace and ETA, failures at a glance, users waiting for a retry, and the agents alive. */
  status(name: string): Promise<FleetStatus>;
  /** Deploys in flight (every agent) against the campaign's `caps:`; undefined without caps. */
  slots(name: string): Promise<SlotsView | undefined>;
  /** Windows per site, the current wave and its failure rate, the halt reason (`status`, dashboard). */
  scheduleStatus(name: string): Promise<ScheduleStatus>;
  /** An imported campaign's settings and users in CSV order, for `plan <campaign>`. */
  planInput(name: string): Promise<CampaignPlanInput>;
  users(name: string, filter: UserFilter, page: UserPageRequest): Promise<UserPage>;
  /** How many users a filter matches (counters for a state alone, else paged over the indexes). */
  countUsers(name: string, filter: UserFilter): Promise<number>;
  /** Counts from the records themselves (slow, O(users)): `status --verify`. */
  recount(name: string): Promise<Record<UserState, number>>;
  user(name: string, username: string): Promise<UserDetail>;
  /** The user's PRF, rendered again exactly as the generate step renders it. */
  profile(name: string, username: string): Promise<UserProfile>;
  /** Throughput per minute over the last `minutes` (60) and failures by code, site and host. */
  insights(name: string, minutes?: number): Promise<CampaignInsights>;
  report(name: string, filter?: UserFilter): AsyncIterable<ReportRow>;
  /** The campaign's events as they happen (`from: '0'` replays what is kept). */
  events(name: string, options?: FollowOptions): AsyncIterable<FleetEvent>;
  /** Events already kept after `after`, oldest first. */
  recentEvents(name: string, after?: string, count?: number): Promise<FleetEvent[]>;
  /** Every campaign's events as they happen, on one connection (metrics); see followAllEvents. */
  allEvents(options?: FollowAllOptions): AsyncIterable<FleetEvent>;
  /** Jobs per queue and BullMQ state (`deploy.waiting`…) of the campaign's two queues. */
  queueCounts(name: string): Promise<Record<string, number>>;
  /** The campaign's BullMQ queues themselves, for read-only inspection (Bull Board). */
  queues(name: string): Promise<readonly CampaignQueue[]>;
  /** Agents alive now (their heartbeat has not expired); with `campaign`, only those serving it. */
  agents(campaign?: string): Promise<AgentHeartbeat[]>;
  /** For the agent runner and tests: the adapters behind the use cases. */
  readonly internals: { readonly redis: Redis; readonly store: RecordStore; readonly queues: PipelineQueues };
  close(): Promise<void>;
}

export interface OpenFleetOptions {
  /** `worker` keeps reconnecting forever (agents); `cli` fails fast. Default `cli`. */
  readonly role?: ConnectionRole;
  readonly onError?: (error: Error) => void;
  readonly warn?: (message: string) => void;
  readonly now?: () => number;
}

/** Opens Redis (refusing an evicting one), builds the store and the queues, and returns the use cases. */
export async function openFleet(config: FleetConfig, options: OpenFleetOptions = {}): Promise<Fleet> {
  const [{ assertEvictionPolicy, createRedisConnection }, { createRecordStore }] = await Promise.all([
    import('../queue/connection.js'),
    import('../store/record-store.js'),
  ]);
  const redis = await createRedisConnection(config.redisUrl, {
    role: options.role ?? 'cli',
    ...(options.onError && { onError: options.onError }),
    ...(options.warn && { onWaiting: options.warn }),
  });
  try {
    await assertEvictionPolicy(redis, {
      allowEviction: config.allowEviction,
      ...(options.warn && { warn: options.warn }),
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const store = createRecordStore(redis, config.prefix);
  const queues = createLazyQueues(redis, config.prefix);
  const keys = createStoreKeys(config.prefix);
  const now = options.now ?? Date.now;
  const heartbeats = createAgentHeartbeats(redis, config.prefix);
  const failureReader = createFailureReader(redis, keys);
  const prefixShown = { value: config.prefix, isDefault: config.prefix === DEFAULT_PREFIX };
  let closed = false;

  const fleet: Fleet = {
    config,
    internals: { redis, store, queues },

    async importCsv(input) {
      const { source, ...rest } = input;
      const run = (csvPath: string, csvName: string) =>
        importCampaign(store, queues, {
          batchSize: config.batchSize,
          ...rest,
          csvPath,
          csvName,
          now: now(),
          clock: now,
        });
      if ('path' in source) return run(source.path, source.path);
      const dir = await mkdtemp(join(tmpdir(), 'fleet-upload-'));
      try {
        const path = join(dir, `${randomUUID()}.csv`);
        await pipeline(source.stream, createWriteStream(path, { mode: 0o600 }));
        return await run(path, source.name);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    start: (name) => startCampaign(store, queues, name, now()),
    pause: (name, reason) => pauseCampaign(store, queues, name, now(), reason),
    resume: (name) => resumeCampaign(store, queues, name, now()),
    halt: (name, reason) => controlCampaign(store, queues, name, 'halt', reason, now()),
    cancel: (name) => cancelCampaign(store, queues, name, now()),
    retry: (name, selection) => retryUsers(store, queues, name, selection, now()),
    rollback: (name, selection) => rollbackUsers(store, queues, name, selection, now()),
    remove: (name, username) => removeUser(store, name, username, now()),
    reconcile: async (name) => reconcileCampaign(store, queues, await requireCampaign(store, name)),
    campaign: (name) => requireCampaign(store, name),
    campaigns: async () => addFailureSummaries(await listCampaigns(store), failureReader),
    status: async (name) => {
      // Reading the status is also a chance to heal queues a crashed command left behind (best effort: a Redis
      // that refuses writes, out of memory say, must not hide the status that explains it).
      await reconcileCampaign(store, queues, await requireCampaign(store, name)).catch(() => undefined);
      const status = await campaignStatus(store, queues, name, now());
      return addStatusInsights(status, failureReader, heartbeats, prefixShown, now());
    },
    slots: async (name) => {
      const { createDeploySlots } = await import('../store/deploy-slots.js');
      return campaignSlots(store, createDeploySlots(redis, config.prefix), name);
    },
    scheduleStatus: (name) => scheduleStatus(store, name, now()),
    planInput: (name) => campaignPlanInput(store, name),
    users: async (name, filter, page) => {
      await requireCampaign(store, name);
      return store.queryUsers(name, filter, page);
    },
    countUsers: (name, filter) => countUsers(store, name, filter),
    recount: async (name) => {
      await requireCampaign(store, name);
      return store.recount(name);
    },
    user: (name, username) => getUserDetail(store, name, username),
    profile: (name, username) => renderUserProfile(store, name, username),
    insights: (name, minutes) => campaignInsights(store, name, now(), minutes),
    report: (name, filter = {}) => streamReport(store, name, filter),
    events: (name, followOptions) => followEvents(redis, keys, name, followOptions),
    recentEvents: (name, after, count) => readEvents(redis, keys, name, after, count),
    allEvents: (followOptions) =>
      followAllEvents(redis, keys, async () => (await store.listCampaigns()).map((c) => c.name), followOptions),
    queueCounts: async (name) => {
      await requireCampaign(store, name);
      return queues.jobCounts(name);
    },
    queues: async (name) => {
      await requireCampaign(store, name);
      return queues.inspect(name);
    },
    agents: (campaign) => heartbeats.list(campaign),
    ...createAuditLog(redis, config.prefix, now),
    ...createHostKeyFacade(redis, config.prefix),
    ...createRetirementFacade({
      redis,
      prefix: config.prefix,
      store,
      queues,
      reportDir: config.reportDir,
      ...(config.retentionDays !== undefined && { retentionDays: config.retentionDays }),
      now,
    }),
    async close() {
      if (closed) return;
      closed = true;
      await queues.close().catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
    [Symbol.asyncDispose]: () => fleet.close(),
  };
  return fleet;
}

/**
 * BullMQ costs ≈ 0.4 s of start-up CPU: load it only when a use case really touches a queue (`campaigns`,
 * `report` and `user` never do).
 */
function createLazyQueues(redis: Redis, prefix: string): PipelineQueues {
  let loaded: Promise<PipelineQueues> | undefined;
  const load = (): Promise<PipelineQueues> => {
    loaded ??= import('../queue/pipeline-queues.js').then((module) => module.createPipelineQueues(redis, prefix));
    return loaded;
  };
  return {
    enqueueGenerate: async (campaign, users) => (await load()).enqueueGenerate(campaign, users),
    enqueueDeploy: async (campaign, users, mode) => (await load()).enqueueDeploy(campaign, users, mode),
    pause: async (campaign) => (await load()).pause(campaign),
    resume: async (campaign) => (await load()).resume(campaign),
    isPaused: async (campaign) => (await load()).isPaused(campaign),
    isResumed: async (campaign) => (await load()).isResumed(campaign),
    drain: async (campaign) => (await load()).drain(campaign),
    jobCounts: async (campaign) => (await load()).jobCounts(campaign),
    inspect: async (campaign) => (await load()).inspect(campaign),
    wake: async (campaign) => (await load()).wake(campaign),
    wakeUsers: async (campaign, users) => (await load()).wakeUsers(campaign, users),
    close: async () => {
      if (loaded) await (await loaded).close();
    },
  };
}
