import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { reconcileCampaign } from '../campaign/reconcile-campaign.js';
import { runScheduledRetry, syncRetrySchedulers } from '../campaign/scheduled-retry.js';
import { createCampaignCache, type SettingsDerivation } from '../jobs/campaign-cache.js';
import { createWaveWaker } from '../jobs/deploy-schedule.js';
import type { JobDeps, RenderProfile } from '../jobs/types.js';
import { createUserLoader } from '../jobs/user-loader.js';
import type { Logger } from '../log/logger.js';
import { createPipelineQueues } from '../queue/pipeline-queues.js';
import { createRetryScheduler, type RetryScheduler } from '../queue/retry-scheduler.js';
import { type CampaignState, ON_HOST_USER_STATES } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
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
  /** How often the campaign list is read (new campaigns start being served within this). */
  readonly pollMs: number;
  /** How long in-flight jobs may take to finish after stop() before they are handed back. */
  readonly graceMs: number;
  /** Serve only campaigns whose `deploy.transport` is listed (an agent without SSH keys serves local only). */
  readonly transportKinds?: readonly TransportKind[];
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
}

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
  };
  const workers = new Map<string, Worker[]>();
  const wakeOpenedWaves = createWaveWaker(options.store, queues, deps.getCampaign);
  // Recurring retries (schedule.retry): deploy agents keep the schedulers in line with the records and run them.
  const retries = options.roles.has('deploy') ? createRetryScheduler(options.connection, options.prefix) : undefined;
  const scheduled = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;

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
      options.logger.info({ campaign: name }, 'campaign finished, workers closed');
      await Promise.allSettled(list.map((w) => w.close()));
    }
  }

  function serveScheduledRetries(scheduler: RetryScheduler): void {
    scheduler.work(
      async (name) => {
        const result = await runScheduledRetry(options.store, queues, name, now());
        options.logger.info({ campaign: name, ...result }, 'scheduled retry');
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
      schedule();
    },

    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
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
  };
}
