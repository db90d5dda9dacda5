import { z } from 'zod';
import { DEFAULT_LEASE_MS, DEFAULT_PER_HOST_CAP } from '../rollout/deploy-caps.js';

/**
 * `caps:` in the campaign file: how many deploys may be on workstations at once, counted across every agent
 * sharing the Redis (docs/concurrency.md). The section's presence turns the shared slots on; absent keys mean
 * no limit at that scope, except `per_host` (default 8: below sshd's MaxSessions/MaxStartups of 10).
 */

const count = z.number().int().min(1).max(100_000);
const rate = z.number().positive().max(100_000);

export const capsSchema = z
  .object({
    max_in_flight: count.optional().describe('deploys on workstations at once, every site together'),
    per_site: count.optional().describe('deploys at once per site (sites without their own entry in `sites`)'),
    per_host: count
      .default(DEFAULT_PER_HOST_CAP)
      .describe("deploys at once per workstation; keep it below sshd's MaxSessions/MaxStartups (10)"),
    sites: z.record(z.string().min(1), count).default({}).describe('per-site caps by CSV `site` value'),
    connections_per_second: rate.optional().describe('new SSH connections per second, every agent together'),
    site_connections_per_second: rate.optional().describe('new SSH connections per second per site'),
    lease_seconds: z
      .number()
      .min(2)
      .max(3600)
      .default(DEFAULT_LEASE_MS / 1000)
      .describe('a slot its agent stopped renewing (it died) is free again after this long'),
  })
  .strict();

export type CapsSettings = z.infer<typeof capsSchema>;
