/**
 * The seam between admin use-cases (src/campaign: import, start, retry, rollback) and the BullMQ pipeline.
 * Implemented by createPipelineQueues(...) in src/queue/pipeline-queues.ts.
 *
 * Queues: `generate` (one job per chunk of users: renders and records checksums, then enqueues deploy jobs)
 * and `deploy` (one job per user and run; name `apply` or `rollback`). Job ids are deterministic and
 * never contain ':' — e.g. `dep.<campaign>.<userKey>.r<run>` — so re-adding the same work is a no-op, and a
 * retry or an edited spec (new run) gets a new id.
 */
export interface QueuedUser {
  readonly userKey: string;
  readonly run: number;
}

export type DeployMode = 'apply' | 'rollback';

export interface PipelineQueues {
  /** Adds generate jobs (chunked addBulk, ~500 users a job); returns how many users were enqueued. */
  enqueueGenerate(campaign: string, users: readonly QueuedUser[]): Promise<number>;
  /** Adds one deploy job per user (chunked addBulk); returns how many jobs were added. */
  enqueueDeploy(campaign: string, users: readonly QueuedUser[], mode: DeployMode): Promise<number>;
  close(): Promise<void>;
}
