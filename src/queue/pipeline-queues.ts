import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type DeployPayload,
  GENERATE_CHUNK_SIZE,
  GENERATE_JOB_NAME,
  type GeneratePayload,
  PIPELINE_JOB_OPTIONS,
} from './job-specs.js';
import { toDeployJobId, toDeployQueueName, toGenerateJobId, toGenerateQueueName } from './names.js';
import type { CampaignQueue, DeployMode, PipelineQueues, QueuedUser } from './types.js';

/** addBulk batch size: one Lua call per job anyway, but fewer JS promises and round trips. */
const ADD_BATCH = 1000;
/**
 * BullMQ's event stream is capped at 10,000 entries per queue by default; nothing of ours reads it (outcomes come
 * from the records), so keep it short: it is Redis memory per campaign.
 */
const EVENTS_MAX_LEN = 200;

/** The BullMQ `prefix` of pipeline queues: the tool prefix itself (records live under `<prefix>:fr:`, see store/keys.ts). */
export function toBullPrefix(prefix: string): string {
  return prefix;
}

/** Queues are created lazily per campaign and cached; they share the given connection. */
export function createPipelineQueues(connection: Redis, prefix: string): PipelineQueues {
  const queues = new Map<string, Queue>();
  const bullPrefix = toBullPrefix(prefix);

  function getQueue(name: string): Queue {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix: bullPrefix, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
      // Errors surface on the calls themselves; an unhandled 'error' event would crash the process.
      queue.on('error', () => {});
      queues.set(name, queue);
    }
    return queue;
  }

  const both = (campaign: string): Queue[] => [
    getQueue(toGenerateQueueName(campaign)),
    getQueue(toDeployQueueName(campaign)),
  ];

  return {
    async enqueueGenerate(campaign: string, users: readonly QueuedUser[]): Promise<number> {
      const queue = getQueue(toGenerateQueueName(campaign));
      const jobs = [];
      for (let i = 0; i < users.length; i += GENERATE_CHUNK_SIZE) {
        const chunk = users.slice(i, i + GENERATE_CHUNK_SIZE).map((u) => ({ userKey: u.userKey, run: u.run }));
        const data: GeneratePayload = { campaign, users: chunk };
        jobs.push({ name: GENERATE_JOB_NAME, data, opts: { ...PIPELINE_JOB_OPTIONS, jobId: toGenerateJobId(chunk) } });
      }
      for (let i = 0; i < jobs.length; i += ADD_BATCH) await queue.addBulk(jobs.slice(i, i + ADD_BATCH));
      return users.length;
    },

    async enqueueDeploy(campaign: string, users: readonly QueuedUser[], mode: DeployMode): Promise<number> {
      const queue = getQueue(toDeployQueueName(campaign));
      for (let i = 0; i < users.length; i += ADD_BATCH) {
        const jobs = users.slice(i, i + ADD_BATCH).map((u) => {
          const data: DeployPayload = { campaign, userKey: u.userKey, run: u.run };
          return { name: mode, data, opts: { ...PIPELINE_JOB_OPTIONS, jobId: toDeployJobId(u.userKey, u.run, mode) } };
        });
        await queue.addBulk(jobs);
      }
      return users.length;
    },

    async pause(campaign: string): Promise<void> {
      await Promise.all(both(campaign).map((q) => q.pause()));
    },

    async resume(campaign: string): Promise<void> {
      await Promise.all(both(campaign).map((q) => q.resume()));
    },

    async isPaused(campaign: string): Promise<boolean> {
      const flags = await Promise.all(both(campaign).map((q) => q.isPaused()));
      return flags.every(Boolean);
    },

    async isResumed(campaign: string): Promise<boolean> {
      const flags = await Promise.all(both(campaign).map((q) => q.isPaused()));
      return !flags.some(Boolean);
    },

    async drain(campaign: string): Promise<void> {
      // drain(true) also removes delayed jobs (users waiting for their next attempt).
      await Promise.all(both(campaign).map((q) => q.drain(true)));
    },

    async wake(campaign: string): Promise<void> {
      await getQueue(toDeployQueueName(campaign)).promoteJobs();
    },

    async wakeUsers(campaign: string, users: readonly QueuedUser[]): Promise<void> {
      const queue = getQueue(toDeployQueueName(campaign));
      for (let i = 0; i < users.length; i += ADD_BATCH) {
        await Promise.all(
          users.slice(i, i + ADD_BATCH).map(async ({ userKey, run }) => {
            const job = await Job.fromId(queue, toDeployJobId(userKey, run, 'apply'));
            // Only a parked job: one waiting or running needs nothing, and a missing one was never enqueued.
            if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
          }),
        );
      }
    },

    async jobCounts(campaign: string): Promise<Record<string, number>> {
      const [gen, dep] = await Promise.all(
        both(campaign).map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'failed')),
      );
      const counts: Record<string, number> = {};
      for (const [stage, values] of [
        ['generate', gen],
        ['deploy', dep],
      ] as const) {
        for (const [state, n] of Object.entries(values ?? {})) counts[`${stage}.${state}`] = n;
      }
      return counts;
    },

    async inspect(campaign: string): Promise<readonly CampaignQueue[]> {
      const [generate, deploy] = both(campaign) as [Queue, Queue];
      return [
        { campaign, stage: 'generate', queue: generate },
        { campaign, stage: 'deploy', queue: deploy },
      ];
    },

    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
