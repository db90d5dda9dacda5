import { FAILED_USER_STATES } from '../rollout/states.js';
import type { AgentHeartbeat, AgentHeartbeats } from '../store/agent-heartbeats.js';
import type { BackoffSummary, FailureReader, FailureSummary } from '../store/failure-summary.js';
import { type CampaignStatus, type CampaignSummary, estimateEtaSeconds } from './campaign-status.js';

/** What `status` adds to the counts: why users failed, who waits for a retry, and which agents serve the campaign. */
export interface StatusInsights {
  readonly failures: FailureSummary;
  readonly backoff: BackoffSummary;
  /** Every agent alive (its heartbeat has not expired), whatever it serves. */
  readonly agents: readonly AgentHeartbeat[];
  /** Ids of the agents serving this campaign. */
  readonly servedBy: readonly string[];
  /** The campaign has work to do and no agent serves it. */
  readonly unserved: boolean;
  /** The command that starts an agent able to serve it (shown when `unserved`). */
  readonly startAgentHint: string;
}

export type FleetStatus = CampaignStatus & StatusInsights;
export type FleetCampaignSummary = CampaignSummary & { readonly failures?: FailureSummary };

/** `campaigns` lists many campaigns: their failure breakdown reads fewer users each. */
const LIST_FAILURE_LIMIT = 500;

export async function addStatusInsights(
  status: CampaignStatus,
  reader: FailureReader,
  heartbeats: AgentHeartbeats,
  prefix: { readonly value: string; readonly isDefault: boolean },
  now: number,
): Promise<FleetStatus> {
  const name = status.campaign.name;
  // Best effort: a Redis that refuses scripts (a read-only replica, ACLs) must not hide the counts themselves.
  const failed = FAILED_USER_STATES.reduce((sum, state) => sum + status.counts[state], 0);
  const [failures, backoff, agents] = await Promise.all([
    reader
      .failures(name, FAILED_USER_STATES)
      .catch((): FailureSummary => ({ total: failed, sampled: 0, byCode: [], bySite: [], topHosts: [] })),
    status.counts.retrying > 0
      ? reader.backoff(name, now).catch((): BackoffSummary => ({ waiting: 0 }))
      : Promise.resolve({ waiting: 0 }),
    heartbeats.list().catch(() => undefined),
  ]);
  const servedBy = (agents ?? []).filter((agent) => agent.campaigns.includes(name)).map((agent) => agent.id);
  const hasWork = status.inFlight > 0 && status.campaign.state === 'running';
  // Users waiting for their retry are not work at the current pace: the ETA covers the others.
  const etaSeconds = estimateEtaSeconds(
    status.campaign.state,
    status.throughputPerMinute,
    status.inFlight - backoff.waiting,
  );
  const { etaSeconds: _previous, ...rest } = status;
  return {
    ...rest,
    ...(etaSeconds !== undefined && { etaSeconds }),
    failures,
    backoff,
    agents: agents ?? [],
    servedBy,
    // Unknown (the heartbeats could not be read) is not "none": no false alarm.
    unserved: agents !== undefined && hasWork && servedBy.length === 0,
    startAgentHint: startAgentCommand(status.campaign.settings.deploy.transport, prefix),
  };
}

/** `campaigns`: each campaign with failed users gets its breakdown (on its newest failures). */
export async function addFailureSummaries(
  campaigns: readonly CampaignSummary[],
  reader: FailureReader,
): Promise<FleetCampaignSummary[]> {
  return Promise.all(
    campaigns.map(async (summary) => {
      const failed = FAILED_USER_STATES.reduce((sum, state) => sum + summary.counts[state], 0);
      if (failed === 0) return summary;
      return {
        ...summary,
        failures: await reader.failures(summary.campaign.name, FAILED_USER_STATES, LIST_FAILURE_LIMIT),
      };
    }),
  );
}

function startAgentCommand(transport: string, prefix: { readonly value: string; readonly isDefault: boolean }): string {
  const parts = ['fleet-rollout agent'];
  if (!prefix.isDefault) parts.push(`--prefix ${prefix.value}`);
  if (transport === 'ssh') parts.push('--transport ssh --ssh-key <deploy key> --known-hosts <file>');
  return parts.join(' ');
}
