import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Fleet } from '../app/open-fleet.js';
import type { FleetEvent } from '../store/event-stream.js';

export interface FleetMetricsOptions {
  /** How long queue depths are kept between scrapes (BullMQ counts cost a few calls a campaign). */
  readonly queueCacheMs?: number;
  /** Read the campaign list again this often to follow new campaigns' events. */
  readonly refreshMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface FleetMetrics {
  readonly registry: Registry;
  /** The exposition text: gauges read now (queue depths from a short cache), counters as followed. */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

/** Step durations: a push + apply over SSH takes seconds; a slow workstation minutes. */
const DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/**
 * Prometheus metrics of the fleet, derived from Redis alone so that any number of agents (and dashboards) give
 * the same figures: users by state from the store's counters, queue depths from BullMQ, agents from their
 * heartbeats, and attempts (count and duration) from every campaign's event stream, followed from the moment this
 * process starts (counters start at zero with it, as Prometheus counters do after a restart). Nothing here scans
 * users: a scrape costs one HGETALL a campaign and one read of the heartbeats, plus the BullMQ counts every
 * `queueCacheMs`.
 */
export function createFleetMetrics(fleet: Fleet, options: FleetMetricsOptions = {}): FleetMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fleet_dashboard_' });
  const users = new Gauge({
    name: 'fleet_users',
    help: 'Users per campaign and state (the store counters)',
    labelNames: ['campaign', 'state'] as const,
    registers: [registry],
  });
  const campaignState = new Gauge({
    name: 'fleet_campaign_state',
    help: '1 for the state each campaign is in',
    labelNames: ['campaign', 'state'] as const,
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'fleet_queue_jobs',
    help: 'BullMQ jobs per campaign queue (generate, deploy) and job state',
    labelNames: ['campaign', 'queue', 'state'] as const,
    registers: [registry],
  });
  const agentsAlive = new Gauge({
    name: 'fleet_agents_alive',
    help: 'Agents whose heartbeat has not expired',
    registers: [registry],
  });
  const campaignAgents = new Gauge({
    name: 'fleet_campaign_agents',
    help: 'Live agents serving each campaign (from their heartbeats)',
    labelNames: ['campaign'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'fleet_attempts_total',
    help: 'Recorded attempts per campaign, step, outcome and cause (the error code, or its underlying code)',
    labelNames: ['campaign', 'stage', 'outcome', 'cause'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'fleet_step_duration_seconds',
    help: 'Duration of apply and rollback attempts on workstations (push + run), per campaign, step and outcome',
    labelNames: ['campaign', 'stage', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  const queueCacheMs = options.queueCacheMs ?? 5000;
  let queueCache: { at: number; counts: Map<string, Record<string, number>> } | undefined;
  const stop = new AbortController();
  const following = follow(fleet, stop.signal, options, (event) => {
    if (event.type !== 'attempt-recorded' || event.attempt === undefined) return;
    const { stage, outcome, code, cause, durationMs } = event.attempt;
    attempts.inc({ campaign: event.campaign, stage, outcome, cause: cause ?? code ?? '' });
    if (stage !== 'generate') durations.observe({ campaign: event.campaign, stage, outcome }, durationMs / 1000);
  });

  async function queueCounts(names: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const now = Date.now();
    if (queueCache && now - queueCache.at < queueCacheMs) return queueCache.counts;
    const counts = new Map<string, Record<string, number>>();
    await Promise.all(names.map(async (name) => counts.set(name, await fleet.queueCounts(name).catch(() => ({})))));
    queueCache = { at: now, counts };
    return counts;
  }

  return {
    registry,
    async scrape() {
      const [summaries, agents] = await Promise.all([fleet.campaigns(), fleet.agents()]);
      const depths = await queueCounts(summaries.map((summary) => summary.campaign.name));
      users.reset();
      campaignState.reset();
      jobs.reset();
      campaignAgents.reset();
      agentsAlive.set(agents.length);
      for (const { campaign, counts } of summaries) {
        for (const [state, count] of Object.entries(counts)) users.set({ campaign: campaign.name, state }, count);
        campaignState.set({ campaign: campaign.name, state: campaign.state }, 1);
        const serving = agents.filter((agent) => agent.campaigns.includes(campaign.name)).length;
        campaignAgents.set({ campaign: campaign.name }, serving);
        for (const [key, count] of Object.entries(depths.get(campaign.name) ?? {})) {
          const [queue = key, state = ''] = key.split('.');
          jobs.set({ campaign: campaign.name, queue, state }, count);
        }
      }
      return registry.metrics();
    },
    async close() {
      stop.abort();
      await following;
    },
  };
}

/** Follows every campaign's events until `signal`; a failed read (Redis away) is retried after a pause. */
async function follow(
  fleet: Fleet,
  signal: AbortSignal,
  options: FleetMetricsOptions,
  onEvent: (event: FleetEvent) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      for await (const event of fleet.allEvents({ signal, refreshMs: options.refreshMs ?? 5000 })) onEvent(event);
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  }
}
