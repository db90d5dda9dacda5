import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { toBullPrefix } from './pipeline-queues.js';

/**
 * The recurring retries of campaigns: one BullMQ job scheduler per campaign (`Queue.upsertJobScheduler`, id
 * `retry-<campaign>`, its cron and zone from the campaign file) on one shared queue, `fr-schedules`, whose jobs
 * an agent runs. Upserting the same id again only updates it, so every agent may keep the schedulers in line with
 * the campaign records.
 */
export const SCHEDULE_QUEUE = 'fr-schedules';
export const SCHEDULED_RETRY_JOB = 'scheduled-retry';

export interface RetryCron {
  readonly pattern: string;
  readonly timezone: string;
}

export interface RetryScheduler {
  /** Creates or updates the campaign's scheduler (no-op when this process already set the same cron). */
  ensure(campaign: string, cron: RetryCron): Promise<void>;
  remove(campaign: string): Promise<void>;
  /** The campaigns that have a scheduler, with their cron. */
  list(): Promise<Array<{ readonly campaign: string; readonly pattern?: string; readonly next?: number }>>;
  /** Runs `handle(campaign)` for each job the schedulers produce (one at a time), until close(). */
  work(handle: (campaign: string) => Promise<unknown>, onError: (error: Error) => void): void;
  close(): Promise<void>;
}

const schedulerId = (campaign: string) => `retry-${campaign}`;

export function createRetryScheduler(connection: Redis, prefix: string): RetryScheduler {
  const queue = new Queue(SCHEDULE_QUEUE, { connection, prefix: toBullPrefix(prefix) });
  queue.on('error', () => {});
  const set = new Map<string, string>();
  let worker: Worker | undefined;
  return {
    async ensure(campaign, cron) {
      const key = `${cron.pattern}\u0000${cron.timezone}`;
      if (set.get(campaign) === key) return;
      await queue.upsertJobScheduler(
        schedulerId(campaign),
        { pattern: cron.pattern, tz: cron.timezone },
        { name: SCHEDULED_RETRY_JOB, data: { campaign }, opts: { removeOnComplete: 20, removeOnFail: 50 } },
      );
      set.set(campaign, key);
    },
    async remove(campaign) {
      set.delete(campaign);
      await queue.removeJobScheduler(schedulerId(campaign));
    },
    async list() {
      const schedulers = await queue.getJobSchedulers(0, -1, true);
      return schedulers
        .filter((s) => s.key.startsWith('retry-'))
        .map((s) => ({
          campaign: s.key.slice('retry-'.length),
          ...(s.pattern !== undefined && s.pattern !== null && { pattern: s.pattern }),
          ...(s.next !== undefined && { next: s.next }),
        }));
    },
    work(handle, onError) {
      if (worker) return;
      worker = new Worker(
        SCHEDULE_QUEUE,
        async (job: Job) => {
          const campaign = (job.data as { campaign?: unknown }).campaign;
          if (typeof campaign === 'string') await handle(campaign);
        },
        { connection, prefix: toBullPrefix(prefix), concurrency: 1 },
      );
      worker.on('error', onError);
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
