import { z } from 'zod';

/**
 * Names, payloads and options of the pipeline's jobs. They live here (adapter) rather than in src/jobs so that
 * the queue adapter can enqueue them without importing the application layer; src/jobs re-exports them next to
 * the processors. Payloads carry keys and runs only: no spec, no PRF bytes, no secret.
 */
const campaignName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const userKey = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const run = z.number().int().min(1);

export const GENERATE_JOB_NAME = 'generate';
export const generatePayloadSchema = z
  .object({
    campaign: campaignName,
    users: z.array(z.object({ userKey, run }).strict()).min(1).max(5000),
  })
  .strict();
export type GeneratePayload = z.infer<typeof generatePayloadSchema>;

export const deployPayloadSchema = z.object({ campaign: campaignName, userKey, run }).strict();
export type DeployPayload = z.infer<typeof deployPayloadSchema>;

/** Users per generate job: big enough to amortise round trips, small enough to keep job data ~40 KB. */
export const GENERATE_CHUNK_SIZE = 500;

/** The name of the custom backoff the runner registers (for infrastructure errors only; see to-bull-error.ts). */
export const INFRA_BACKOFF_TYPE = 'fleet-infra';

/**
 * Our retry policy decides (records + moveToDelayed, which does not consume BullMQ attempts); BullMQ's own
 * attempts only cover infrastructure hiccups (Redis blips during a store call), so they are plentiful.
 * Finished jobs are removed: outcomes live in the records.
 */
export const PIPELINE_JOB_OPTIONS = Object.freeze({
  attempts: 1000,
  backoff: { type: INFRA_BACKOFF_TYPE },
  removeOnComplete: true,
  removeOnFail: true,
});
