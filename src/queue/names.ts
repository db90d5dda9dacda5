import { createHash } from 'node:crypto';
import type { DeployMode, QueuedUser } from './types.js';

/**
 * Queue names and job ids (BullMQ forbids ':' in both and integer-string ids). Campaign names are
 * [A-Za-z0-9_-], user keys are hex, so the ids below are always legal and deterministic: re-adding the
 * same work while the job still exists is a no-op, and a new run gets a new id.
 */
export function toGenerateQueueName(campaign: string): string {
  return `gen-${campaign}`;
}

export function toDeployQueueName(campaign: string): string {
  return `dep-${campaign}`;
}

export function toDeployJobId(userKey: string, run: number, mode: DeployMode): string {
  return `${mode === 'apply' ? 'dep' : 'rb'}.${userKey}.r${run}`;
}

/** One id per chunk content: the same users with the same runs give the same id. */
export function toGenerateJobId(users: readonly QueuedUser[]): string {
  const hash = createHash('sha256');
  for (const user of users) hash.update(`${user.userKey}.${user.run};`);
  return `gen.${hash.digest('hex').slice(0, 32)}`;
}
