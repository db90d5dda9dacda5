import type { Queue } from 'bullmq';

/**
 * The seam between admin use-cases (src/campaign: import, start, pause, cancel, retry, rollback) and the
 * BullMQ pipeline. Implemented by createPipelineQueues(connection, prefix) in src/queue/pipeline-queues.ts.
 *
 * One pair of queues per campaign: `gen-<campaign>` (one job per chunk of ~500 users: renders each user's PRF,
 * records checksum + state `generated`, then enqueues deploy jobs) and `dep-<campaign>` (one job per user and
 * run; job name `apply` or `rollback`). Agents discover running campaigns from the store and start/stop Workers
 * for them, so pausing a campaign is BullMQ's own `queue.pause()` (no churn on 100k waiting jobs), and one
 * campaign's backlog never starves another. Job ids are deterministic and never contain ':' —
 * `dep.<userKey>.r<run>`, `rb.<userKey>.r<run>` — so re-adding the same work is a no-op and a retry or an edited
 * spec (new run) gets a new id.
 */
export interface QueuedUser {
  readonly userKey: string;
  readonly run: number;
}

export type DeployMode = 'apply' | 'rollback';

export interface CampaignQueue {
  readonly campaign: string;
  readonly stage: 'generate' | 'deploy';
  readonly queue: Queue;
}

export interface PipelineQueues {
  /** Adds generate jobs (chunked addBulk, ~500 users a job); returns how many users were enqueued. */
  enqueueGenerate(campaign: string, users: readonly QueuedUser[]): Promise<number>;
  /** Adds one deploy job per user (chunked addBulk); returns how many jobs were added. */
  enqueueDeploy(campaign: string, users: readonly QueuedUser[], mode: DeployMode): Promise<number>;
  /** BullMQ queue.pause()/resume() on both queues of the campaign. */
  pause(campaign: string): Promise<void>;
  resume(campaign: string): Promise<void>;
  /** Both queues paused / both running (a half-applied pause is neither: the reconciler finishes it). */
  isPaused(campaign: string): Promise<boolean>;
  isResumed(campaign: string): Promise<boolean>;
  /** Removes every waiting/delayed job of the campaign (cancel); running jobs see the cancelled state and stop. */
  drain(campaign: string): Promise<void>;
  /** Every delayed deploy job of the campaign asks the gate again now (after a resume). */
  wake(campaign: string): Promise<void>;
  /** These users' delayed apply jobs ask the gate again now (a wave opened: its parked users may start). */
  wakeUsers(campaign: string, users: readonly QueuedUser[]): Promise<void>;
  /** Waiting, active, delayed, failed counts of both queues (status). */
  jobCounts(campaign: string): Promise<Record<string, number>>;
  /** The campaign's two BullMQ queues themselves, for read-only inspection (the dashboard's Bull Board). */
  inspect(campaign: string): Promise<readonly CampaignQueue[]>;
  close(): Promise<void>;
}
