import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { toProfileOptions } from '../../src/config/campaign-settings.js';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { createPipelineQueues } from '../../src/queue/pipeline-queues.js';
import type { PipelineQueues } from '../../src/queue/types.js';
import { computeSpecHash } from '../../src/rollout/spec-hash.js';
import { FINAL_USER_STATES, type UserState } from '../../src/rollout/states.js';
import { createRecordStore } from '../../src/store/record-store.js';
import type { RecordStore } from '../../src/store/types.js';

/** A valid user spec (as intake would produce it) for user number `i` on `host`. */
export function makeSpec(i: number, host: string, overrides: Partial<UserSpec> = {}): UserSpec {
  const username = `user${String(i).padStart(5, '0')}`;
  return {
    username,
    mailbox: username,
    exchangeServer: 'exch01.corp.example.com',
    proxyHost: 'mail.example.com',
    ssl: true,
    auth: 'ntlm',
    mutualAuth: false,
    httpFirstFast: false,
    httpFirstSlow: true,
    host,
    site: 'hq',
    office: '16.0',
    profileName: 'Outlook',
    ...overrides,
  };
}

/** Test-only short intervals go through the campaign file, like a user would set them. */
export const FAST_RETRY = {
  max_attempts: 5,
  base_delay_seconds: 0.1,
  max_delay_seconds: 0.3,
  jitter: 0,
  horizon_hours: 1,
};

export interface SeededCampaign {
  readonly store: RecordStore;
  readonly queues: PipelineQueues;
  readonly queued: ReadonlyArray<{ userKey: string; run: number }>;
}

/** Creates a running campaign with `specs` and enqueues their generate jobs (what import + start do). */
export async function seedCampaign(
  redis: Redis,
  prefix: string,
  name: string,
  specs: readonly UserSpec[],
  settings: Record<string, unknown> = {},
  options: { enqueue?: boolean } = {},
): Promise<SeededCampaign> {
  const store = createRecordStore(redis, prefix);
  const queues = createPipelineQueues(redis, prefix);
  const now = Date.now();
  const file = campaignFileSchema.parse({
    retry: FAST_RETRY,
    ...settings,
    profile: { office_policy: { office_16: 'apply' }, ...(settings['profile'] as object | undefined) },
  });
  const profile = toProfileOptions(file);
  await store.saveCampaign({
    name,
    state: 'draft',
    stateReason: 'imported',
    csvFile: 'test.csv',
    csvSha256: '0'.repeat(64),
    // The seeded specs are Outlook 16.0, which the default Office policy skips: these campaigns say `apply`.
    settings: file,
    imports: 1,
    totalUsers: specs.length,
    rejectedRows: 0,
    createdAt: now,
    updatedAt: now,
  });
  const rows = specs.map((spec, i) => ({
    line: i + 2,
    spec,
    // The hash import computes: agents render with the settings whose hash matches the user's.
    specHash: computeSpecHash(spec, profile, file.deploy),
  }));
  const { queued } = await store.upsertUsers(name, rows, 1, now);
  await store.applyCampaignIntent(name, 'start', 'test start', now);
  if (options.enqueue !== false) await queues.enqueueGenerate(name, queued);
  return { store, queues, queued };
}

/** Polls the counters until `expected` users are final (the test's own timeout bounds it). */
export async function waitForFinal(
  store: RecordStore,
  campaign: string,
  expected: number,
): Promise<Record<UserState, number>> {
  for (;;) {
    const counts = await store.countByState(campaign);
    const final = FINAL_USER_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    if (final >= expected) return counts;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes the POSIX agent's fault switches for one simulated host. */
export function writeFault(root: string, host: string, lines: readonly string[]): void {
  mkdirSync(join(root, host), { recursive: true });
  writeFileSync(join(root, host, 'fault'), `${lines.join('\n')}\n`);
}
