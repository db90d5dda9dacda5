import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { unlinkMatching } from '../store/campaign-purge.js';
import { toDeployQueueName, toGenerateQueueName } from './names.js';
import { toBullPrefix } from './pipeline-queues.js';

/**
 * Destroys both BullMQ queues of a campaign (every job, whatever its state: `obliterate({ force: true })`), then
 * sweeps any key left under `<p>:<queue>:` (a stalled check of a worker still attached). Returns the keys swept.
 */
export async function obliterateCampaignQueues(connection: Redis, prefix: string, campaign: string): Promise<number> {
  const bullPrefix = toBullPrefix(prefix);
  for (const name of [toGenerateQueueName(campaign), toDeployQueueName(campaign)]) {
    const queue = new Queue(name, { connection, prefix: bullPrefix });
    queue.on('error', () => {});
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
  return sweepCampaignQueueKeys(connection, prefix, campaign);
}

/** SCAN + UNLINK of every key of the campaign's two queues; returns how many there were. */
export async function sweepCampaignQueueKeys(connection: Redis, prefix: string, campaign: string): Promise<number> {
  let swept = 0;
  for (const name of [toGenerateQueueName(campaign), toDeployQueueName(campaign)]) {
    swept += await unlinkMatching(connection, `${toBullPrefix(prefix)}:${name}:*`);
  }
  return swept;
}
