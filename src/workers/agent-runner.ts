import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { reconcileCampaign } from '../campaign/reconcile-campaign.js';
import { runScheduledRetry, syncRetrySchedulers } from '../campaign/scheduled-retry.js';
import { runScheduledReverify } from '../campaign/verify-users.js';
import { createCampaignCache, type SettingsDerivation } from '../jobs/campaign-cache.js';
import { createWaveWaker } from '../jobs/deploy-schedule.js';
import type { JobDeps, RenderProfile } from '../jobs/types.js';
import { createUserLoader } from '../jobs/user-loader.js';
import type { Logger } from '../log/logger.js';
import { sweepCampaignQueueKeys } from '../queue/obliterate-queues.js';
import { createPipelineQueues } from '../queue/pipeline-queues.js';
import { createRetryScheduler, type RetryScheduler } from '../queue/retry-scheduler.js';
import { type CampaignState, ON_HOST_USER_STATES } from '../rollout/states.js';
import { type AgentHeartbeats, createAgentHeartbeats } from '../store/agent-heartbeats.js';
import type { DeploySlots } from '../store/deploy-slots.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { createVerificationStore } from '../store/verification-store.js';
import { AGENT_DEFAULTS } from './agent-defaults.js';
import { readAgentVersion } from './agent-version.js';
import { startCampaignWorkers, type WorkerSettings } from './campaign-workers.js';
import type { TransportRegistry } from './transport-registry.js';

/**
 * Campaigns whose queues an agent serves; paused/halted keep their Workers (the queues are paused instead); a
 * cancelled one is served while steps are still on workstations (a stalled one must run again to record its
 * outcome: the deploy gate lets nothing else start).
 */
const SERVED_STATES: readonly CampaignState[] = ['running', 'paused', 'halted'];

export interface AgentRunnerOptions extends WorkerSettings {
  readonly connection: Redis;
  readonly prefix: string;
  readonly store: RecordStore;
  readonly logger: Logger;
  readonly transports: TransportRegistry;
  readonly render: RenderProfile;
  readonly derive: SettingsDerivation;
  /** Deploy slots shared by every agent (campaigns with `caps:`). */
  readonly slots?: DeploySlots;
  /** How often the campaign list is read (new campaigns start being served within this). */
  readonly pollMs: number;
  /** How long in-flight jobs may take to finish after stop() before they are handed back. */
  readonly graceMs: number;
  /** Serve only campaigns whose `deploy.transport` is listed (an agent without SSH keys serves local only). */
  readonly transportKinds?: readonly TransportKind[];
  /** How often the agent publishes its heartbeat (`fleet.agents()`, `status`); it expires after 3 of these. */
  readonly heartbeatMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

export type TransportKind = 'local' | 'ssh';

export interface AgentRunner {
  /** Serves campaigns until stop(); resolves once the first discovery ran. */
  start(): Promise<void>;
  /** Stops taking jobs, lets in-flight ones finish within graceMs; true when everything drained in time. */
  stop(): Promise<boolean>;
  /** Campaigns currently served (status, tests). */
  served(): string[];
  /** The id its heartbeat is published under. */
  readonly id: string;
}

/** Agents started in this process so far: a second one gets `/2` after `hostname:pid` (tests, embedded demo). */
let agentsInProcess = 0;

export function createAgentRunner(options: AgentRunnerOptions): AgentRunner {
  const now = options.now ?? Date.now;
  const shutdown = new AbortController();
  // Every in-flight deploy step listens to it: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, shutdown.signal);
  const queues = createPipelineQueues(options.connection, options.prefix);
  const deps: JobDeps = {
    store: options.store,
    loadUser: createUserLoader(options.store),
    queues,
    logger: options.logger,
    render: options.render,
    getCampaign: createCampaignCache(options.store, options.derive, now),
    getTransport: options.transports.getTransport,
    now,
    random: options.random ?? Math.random,
    agentId: `${hostname()}:${process.pid}`,
    ...(options.slots && { slots: options.slots }),
  };
  const workers = new Map<string, Worker[]>();
  const wakeOpenedWaves = createWaveWaker(options.store, queues, deps.getCampaign);
  // Recurring retries (schedule.retry): deploy agents keep the schedulers in line with the records and run them.
  const retries = options.roles.has('deploy') ? createRetryScheduler(options.connection, options.prefix) : undefined;
  const scheduled = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  agentsInProcess += 1;
  const id = agentsInProcess === 1 ? deps.agentId : `${deps.agentId}/${agentsInProcess}`;
  const heartbeat = startHeartbeat(id, options, () => [...workers.keys()], now);
  /** Campaign names of the previous discovery (a name gone since then was deleted). */
  let listed = new Set<string>();

  async function isServed(campaign: CampaignRecord): Promise<boolean> {
    if (SERVED_STATES.includes(campaign.state)) return true;
    if (campaign.state !== 'cancelled') return false;
    const counts = await options.store.countByState(campaign.name);
    return ON_HOST_USER_STATES.some((state) => counts[state] > 0);
  }

  async function discover(): Promise<void> {
    const campaigns = await options.store.listCampaigns();
    const kinds = options.transportKinds;
    const served = await Promise.all(
      campaigns.map(async (c) => (!kinds || kinds.includes(c.settings.deploy.transport)) && (await isServed(c))),
    );
    const wanted = new Set(campaigns.filter((_, index) => served[index]).map((c) => c.name));
    // The record is the truth, the queues follow it: heal what a command that died half-way left behind.
    for (const campaign of campaigns) {
      if (wanted.has(campaign.name) || campaign.state === 'draft') {
        await reconcileCampaign(options.store, queues, campaign).catch((error: unknown) =>
          options.logger.warn({ campaign: campaign.name, err: (error as Error).message }, 'reconcile failed'),
        );
      }
    }
    for (const name of wanted) {
      if (workers.has(name) || stopping) continue;
      options.logger.info({ campaign: name }, 'serving campaign');
      workers.set(
        name,
        startCampaignWorkers(name, options.connection, options.prefix, options, deps, shutdown.signal, options.logger),
      );
      heartbeat.changed();
    }
    // Paused/halted campaigns: their queues are paused by the admin command; pausing our Workers too means a
    // campaign halted without a queue pause does not churn its jobs through park-and-recheck.
    for (const campaign of campaigns) {
      const list = workers.get(campaign.name);
      if (!list) continue;
      const hold = campaign.state === 'paused' || campaign.state === 'halted';
      for (const worker of list) {
        if (hold && !worker.isPaused()) void worker.pause(true);
        else if (!hold && worker.isPaused()) void worker.resume();
      }
    }
    await wakeOpenedWaves(campaigns.filter((c) => wanted.has(c.name)));
    if (retries) {
      await syncRetrySchedulers(campaigns, retries, scheduled);
      if (scheduled.size > 0) serveScheduledRetries(retries);
    }
    for (const [name, list] of workers) {
      if (wanted.has(name)) continue;
      workers.delete(name);
      heartbeat.changed();
      options.logger.info({ campaign: name }, 'campaign finished, workers closed');
      await Promise.allSettled(list.map((w) => w.close()));
    }
    // Deleted or archived since the last discovery (`campaign delete|archive`): our workers' stalled checks, or a
    // reconcile of the previous discovery, may have re-created queue keys after the queues were obliterated. The
    // workers are closed now: sweep them.
    const names = new Set(campaigns.map((c) => c.name));
    for (const name of listed) {
      if (!names.has(name)) await sweepCampaignQueueKeys(options.connection, options.prefix, name);
    }
    listed = names;
  }

  const verifications = createVerificationStore(options.connection, options.prefix);

  /** The campaign's cron job: re-queue transient give-ups, then re-verify users waiting for Outlook's restart. */
  function serveScheduledRetries(scheduler: RetryScheduler): void {
    scheduler.work(
      async (name) => {
        const result = await runScheduledRetry(options.store, queues, name, now());
        options.logger.info({ campaign: name, ...result }, 'scheduled retry');
        try {
          const verified = await runScheduledReverify(options.store, name, deps.getTransport, {
            verifications,
            concurrency: options.concurrency,
            now,
            agentId: deps.agentId,
            ...(options.slots && { slots: options.slots }),
          });
          options.logger.info({ campaign: name, ...verified }, 'scheduled re-verify');
        } catch (error) {
          options.logger.warn({ campaign: name, err: (error as Error).message }, 'scheduled re-verify failed');
        }
      },
      (error) => options.logger.warn({ err: error.message }, 'retry scheduler error'),
    );
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      discover()
        .catch((error: unknown) => options.logger.warn({ err: (error as Error).message }, 'campaign discovery failed'))
        .finally(schedule);
    }, options.pollMs);
  }

  return {
    async start() {
      try {
        await discover();
      } catch (error) {
        options.logger.warn({ err: (error as Error).message }, 'campaign discovery failed');
      }
      heartbeat.start();
      schedule();
    },

    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await heartbeat.stop();
      const all = [...workers.values()].flat();
      workers.clear();
      const closing = Promise.allSettled(all.map((w) => w.close()));
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace'>((done) => {
        graceTimer = setTimeout(() => done('grace'), options.graceMs);
      });
      const drained = (await Promise.race([closing.then(() => 'drained' as const), graceOver])) === 'drained';
      clearTimeout(graceTimer);
      if (!drained) {
        // Past the grace period: abort in-flight steps; their users are handed back for another agent.
        options.logger.warn({ inFlight: all.length }, 'grace period over, aborting in-flight jobs');
        shutdown.abort();
        await Promise.race([closing, new Promise((done) => setTimeout(done, 5000))]);
        await Promise.allSettled(all.map((w) => w.close(true)));
      }
      await retries?.close();
      await queues.close();
      await options.transports.closeAll();
      return drained;
    },

    served() {
      return [...workers.keys()];
    },
    id,
  };
}

interface HeartbeatLoop {
  start(): void;
  /** Served campaigns changed: publish now rather than at the next beat. */
  changed(): void;
  stop(): Promise<void>;
}

/** Publishes who this agent is and what it serves every heartbeatMs; best effort (Redis away: the next beat). */
function startHeartbeat(
  id: string,
  options: AgentRunnerOptions,
  served: () => string[],
  now: () => number,
): HeartbeatLoop {
  const store: AgentHeartbeats = createAgentHeartbeats(options.connection, options.prefix);
  const intervalMs = options.heartbeatMs ?? AGENT_DEFAULTS.heartbeatMs;
  const startedAt = now();
  const [host, pid] = [hostname(), process.pid];
  const version = readAgentVersion();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<void> = Promise.resolve();
  const publish = (): Promise<void> => {
    inFlight = store
      .publish({
        id,
        hostname: host,
        pid,
        version,
        startedAt,
        seenAt: now(),
        campaigns: served().sort(),
        roles: [...options.roles],
        transports: [...(options.transportKinds ?? ['local', 'ssh'])],
        concurrency: options.concurrency,
        generateConcurrency: options.generateConcurrency,
        intervalMs,
      })
      .catch((error: unknown) => options.logger.warn({ err: (error as Error).message }, 'heartbeat failed'));
    return inFlight;
  };
  return {
    start() {
      running = true;
      void publish();
      timer = setInterval(() => void publish(), intervalMs);
      timer.unref();
    },
    changed() {
      if (running) void publish();
    },
    async stop() {
      running = false;
      if (timer) clearInterval(timer);
      await inFlight; // a beat still on its way must not bring the key back after the removal
      await store.remove(id).catch(() => undefined);
    },
  };
}
