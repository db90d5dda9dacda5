import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { deployJob, processDeploy } from '../jobs/deploy.js';
import { generateJob, processGenerate } from '../jobs/generate.js';
import type { JobDeps, JobDisposition } from '../jobs/types.js';
import type { Logger } from '../log/logger.js';
import { toDeployQueueName, toGenerateQueueName } from '../queue/names.js';
import { toBullPrefix } from '../queue/pipeline-queues.js';
import type { DeployMode } from '../queue/types.js';
import { applyDisposition, computeInfraBackoff, toBullError } from './to-bull-error.js';

export type AgentRole = 'generate' | 'deploy';

export interface WorkerSettings {
  readonly roles: ReadonlySet<AgentRole>;
  /** Deploy jobs in flight per campaign in this process. */
  readonly concurrency: number;
  /** Generate chunks in flight per campaign (CPU-bound rendering: keep small). */
  readonly generateConcurrency: number;
  /** BullMQ lock; renewed every lockMs/2 while a job runs, so it only bounds how fast a dead agent's job is retaken. */
  readonly lockMs: number;
  readonly stalledMs: number;
  /** Our stall limit (FR_ERR_JOB_STALLED past it); BullMQ's own is set above so that we decide. */
  readonly maxStalls: number;
}

function parseGenerate(data: unknown) {
  const parsed = generateJob.payload.safeParse(data);
  if (!parsed.success) throw new FleetError('FR_ERR_JOB_PAYLOAD_INVALID', parsed.error.message);
  return parsed.data;
}

/** The BullMQ processor: validate, run the stage, turn its disposition into BullMQ's move. */
function createProcessor(deps: JobDeps, settings: WorkerSettings, shutdown: AbortSignal) {
  // Two parameters on purpose: BullMQ builds a per-job AbortController only for processors taking a third
  // (we never cancel single jobs; our own signal covers the step timeout and shutdown).
  return async (job: Job, token?: string): Promise<void> => {
    let disposition: JobDisposition;
    try {
      if (job.name === generateJob.name) {
        disposition = await processGenerate(parseGenerate(job.data), deps);
      } else if ((deployJob.names as readonly string[]).includes(job.name)) {
        disposition = await processDeploy(
          deployJob.parsePayload(job.data),
          job.name as DeployMode,
          { signal: shutdown, stalls: job.stalledCounter ?? 0, maxStalls: settings.maxStalls },
          deps,
        );
      } else {
        throw new FleetError('FR_ERR_JOB_PAYLOAD_INVALID', `unknown job name ${job.name}`);
      }
    } catch (error) {
      throw toBullError(error);
    }
    await applyDisposition(disposition, job, token);
  };
}

/** Starts the Workers of one campaign for the roles this process runs. */
export function startCampaignWorkers(
  campaign: string,
  connection: Redis,
  prefix: string,
  settings: WorkerSettings,
  deps: JobDeps,
  shutdown: AbortSignal,
  logger: Logger,
): Worker[] {
  const processor = createProcessor(deps, settings, shutdown);
  const common = {
    connection,
    prefix: toBullPrefix(prefix),
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: settings.maxStalls + 5,
    name: deps.agentId,
    settings: { backoffStrategy: computeInfraBackoff },
    // After a failed fetch (Redis restarting) BullMQ waits this long before trying again: 15 s by default,
    // which left agents idle long after Redis was back.
    runRetryDelay: 1000,
  };
  const workers: Worker[] = [];
  if (settings.roles.has('generate')) {
    workers.push(
      new Worker(toGenerateQueueName(campaign), processor, { ...common, concurrency: settings.generateConcurrency }),
    );
  }
  if (settings.roles.has('deploy')) {
    workers.push(new Worker(toDeployQueueName(campaign), processor, { ...common, concurrency: settings.concurrency }));
  }
  let lastErrorLog = 0;
  for (const worker of workers) {
    worker.on('error', (error) => {
      // Redis outages make every worker report the same error in a loop: once per 5 s is plenty.
      const now = Date.now();
      if (now - lastErrorLog < 5000) return;
      lastErrorLog = now;
      logger.warn({ campaign, queue: worker.name, err: error.message }, 'worker error');
    });
    worker.on('failed', (job, error) => {
      if (job && error.name !== 'UnrecoverableError') {
        void nameJobUser(job, campaign, deps).then((user) =>
          logger.warn({ campaign, ...user, jobId: job.id, err: error.message }, 'job error, BullMQ retries it'),
        );
      }
    });
  }
  return workers;
}

/** A deploy job carries only the hashed user key: the log names the user (best effort, on this error path only). */
async function nameJobUser(job: Job, campaign: string, deps: JobDeps): Promise<{ user?: string }> {
  const userKey: unknown = (job.data as { userKey?: unknown } | undefined)?.userKey;
  if (typeof userKey !== 'string') return {};
  const user = await deps.store.getUser(campaign, userKey).catch(() => undefined);
  return user ? { user: user.username } : {};
}
