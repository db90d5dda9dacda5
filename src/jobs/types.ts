import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import type { ErrorCode, FleetError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { ProfileOptions } from '../profile/profile-options.js';
import type { PipelineQueues } from '../queue/types.js';
import type { GatePolicy } from '../rollout/deploy-gate.js';
import type { RetryPolicy } from '../rollout/retry-policy.js';
import type { CampaignState } from '../rollout/states.js';
import type { DeploySlots } from '../store/deploy-slots.js';
import type { RecordStore, UserRecord, WaveProgress } from '../store/types.js';
import type { Transport } from '../transport/transport.js';

/** What renderProfile (src/profile) answers; typed here structurally so processors can take it as a dependency. */
export type RenderResult =
  | {
      readonly ok: true;
      readonly artifact: {
        readonly fileName: string;
        readonly bytes: Uint8Array;
        readonly sha256: string;
      };
    }
  | { readonly ok: false; readonly rejection: { readonly code: ErrorCode; readonly reason: string } };

export type RenderProfile = (spec: UserSpec, options: ProfileOptions) => RenderResult;

/** Campaign settings a processor needs, derived once per campaign and cached briefly. */
export interface CampaignSettings {
  readonly name: string;
  readonly state: CampaignState;
  /** Imports so far: settings cached before import N are stale for users queued by import N. */
  readonly imports: number;
  readonly file: CampaignFile;
  readonly profileOptions: ProfileOptions;
  readonly retryPolicy: RetryPolicy;
  /** Where the campaign's waves stand (absent: no waves). */
  readonly waves?: WaveProgress;
}

/** Everything a processor touches, passed in (so processors run without a Worker in tests). */
export interface JobDeps {
  readonly store: RecordStore;
  /** store.getUser, batched across concurrent jobs (see user-loader.ts); defaults to store.getUser. */
  readonly loadUser?: (campaign: string, userKey: string) => Promise<UserRecord | undefined>;
  readonly queues: PipelineQueues;
  readonly logger: Logger;
  readonly render: RenderProfile;
  /** Cached campaign settings (`fresh` reads the record again); undefined when the campaign does not exist. */
  readonly getCampaign: (name: string, options?: { readonly fresh?: boolean }) => Promise<CampaignSettings | undefined>;
  /** The deploy gate's policy (DEFAULT_GATE_POLICY when absent). */
  readonly gatePolicy?: GatePolicy;
  /** The transport for a campaign's deploy settings (created lazily by the runner). */
  readonly getTransport: (deploy: CampaignFile['deploy']) => Promise<Transport>;
  readonly now: () => number;
  /** 0 ≤ r < 1, for retry jitter. */
  readonly random: () => number;
  /** Deploy slots and connection rates shared by every agent (campaigns with `caps:`); absent: no shared caps. */
  readonly slots?: DeploySlots;
  /** hostname:pid, kept in attempt records to trace double runs. */
  readonly agentId: string;
}

/**
 * What the runner must do with the BullMQ job once a processor returns: nothing more (completed), park it until
 * `until` (our retry policy, or a paused campaign), or fail it for good. Processors never throw for outcomes
 * they recorded; what they throw is infrastructure trouble (Redis), retried by BullMQ.
 */
export type JobDisposition =
  | { readonly kind: 'done' }
  | { readonly kind: 'delay'; readonly until: number }
  | { readonly kind: 'fail'; readonly error: FleetError };

export interface JobContext {
  /** Aborted when the agent shuts down past its grace period (BullMQ's own signal is combined in). */
  readonly signal: AbortSignal;
  /** How many times this job was recovered after its agent died (BullMQ's stalledCounter). */
  readonly stalls: number;
  /** Past this many stalls the user is failed (FR_ERR_JOB_STALLED) instead of killing yet another agent. */
  readonly maxStalls: number;
}
