import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { isFleetError } from '../errors/index.js';
import type { JobDisposition } from '../jobs/types.js';

/**
 * Our retry policy parks a job with `moveToDelayed` + DelayedError rather than a custom backoff strategy:
 * it does not consume BullMQ attempts (so BullMQ's counter never decides), stores no failure stack per retry,
 * waits exactly the delay decideRetry computed, and is the same move a paused campaign needs.
 */
export async function applyDisposition(
  disposition: JobDisposition,
  job: Job,
  token: string | undefined,
): Promise<void> {
  if (disposition.kind === 'done') return;
  if (disposition.kind === 'delay') {
    await job.moveToDelayed(disposition.until, token);
    throw new DelayedError();
  }
  throw new UnrecoverableError(`${disposition.error.code}: ${disposition.error.message}`);
}

/**
 * What escapes a processor is not an outcome we recorded: a permanent FleetError (bad payload, bug) must not be
 * retried; anything else (Redis connection trouble mid-job) is retried by BullMQ with the infra backoff.
 */
export function toBullError(error: unknown): Error {
  if (error instanceof DelayedError || error instanceof UnrecoverableError) return error;
  if (isFleetError(error) && !error.retryable) return new UnrecoverableError(`${error.code}: ${error.message}`);
  return error instanceof Error ? error : new Error(String(error));
}

/** Backoff for infrastructure errors only: 0.5 s doubling to 30 s. */
export function computeInfraBackoff(attemptsMade: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, Math.min(attemptsMade - 1, 10)));
}
