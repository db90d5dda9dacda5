/**
 * Record store figures: import (upsert) rows/s, state transitions/s, Redis memory per retained user (record +
 * indexes + 2 attempts), and the latency of one page of 50 users deep inside the indexes.
 * Usage: npx tsx bench/store.bench.ts [users=20000]   (Redis at REDIS_URL or 127.0.0.1:6379; own prefix, cleaned up)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { campaignFileSchema } from '../src/config/campaign-schema.js';
import type { UserSpec } from '../src/csv/user-spec.js';
import { createStoreKeys } from '../src/store/keys.js';
import { createRecordStore } from '../src/store/record-store.js';
import type { AttemptRecord } from '../src/store/types.js';

const USERS = Number(process.argv[2] ?? 20_000);
const BATCH = 1_000;
const prefix = `bench-store-${randomBytes(3).toString('hex')}`;
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const store = createRecordStore(redis, prefix);
const keys = createStoreKeys(prefix);
const campaign = 'bench';

function makeSpec(i: number): UserSpec {
  const username = `user${String(i).padStart(6, '0')}`;
  return {
    username,
    email: `${username}@contoso.example.com`,
    displayName: `User Number ${i}`,
    mailbox: username,
    exchangeServer: 'exch01.corp.example.com',
    proxyHost: 'mail.example.com',
    ssl: true,
    auth: 'ntlm',
    mutualAuth: true,
    principal: 'msstd:mail.example.com',
    httpFirstFast: false,
    httpFirstSlow: true,
    host: `ws-${String(i).padStart(6, '0')}.corp.example.com`,
    site: `site${i % 20}`,
    office: '16.0',
    profileName: 'Outlook',
  };
}

async function sumMemory(pattern: string): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    for (const [, bytes] of (await pipeline.exec()) ?? []) total += Number(bytes ?? 0);
  } while (cursor !== '0');
  return total;
}

async function main(): Promise<void> {
  const now = Date.now();
  await store.saveCampaign({
    name: campaign,
    state: 'running',
    stateReason: 'bench',
    csvFile: 'bench.csv',
    csvSha256: '0'.repeat(64),
    settings: campaignFileSchema.parse({}),
    imports: 1,
    totalUsers: USERS,
    rejectedRows: 0,
    createdAt: now,
    updatedAt: now,
  });
  let started = performance.now();
  const queued: Array<{ userKey: string; run: number }> = [];
  for (let i = 0; i < USERS; i += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, USERS - i) }, (_, j) => ({
      line: i + j + 2,
      spec: makeSpec(i + j),
      specHash: randomBytes(16).toString('hex'),
    }));
    queued.push(...(await store.upsertUsers(campaign, rows, 1, now)).queued);
  }
  const upsertPerSecond = USERS / ((performance.now() - started) / 1000);

  started = performance.now();
  // The happy path by intents; the generate and apply outcomes carry their attempt (2 per user, as before).
  const steps = ['generate-done', 'deploy-begin', 'deploy-succeeded'] as const;
  const attemptOf = (intent: (typeof steps)[number], run: number): AttemptRecord | undefined =>
    intent === 'deploy-begin'
      ? undefined
      : {
          at: Date.now(),
          stage: intent === 'generate-done' ? 'generate' : 'apply',
          run,
          attempt: 1,
          durationMs: 12,
          outcome: intent === 'generate-done' ? 'generated' : 'applied',
          agent: 'bench-host:12345',
        };
  for (let i = 0; i < queued.length; i += BATCH) {
    const batch = queued.slice(i, i + BATCH);
    for (const intent of steps) {
      await Promise.all(
        batch.map(({ userKey, run }) => {
          const attempt = attemptOf(intent, run);
          return store.transition(
            campaign,
            userKey,
            { intent, run, patch: { checksum: 'a'.repeat(64), attempts: 1 }, ...(attempt && { attempt }) },
            Date.now(),
          );
        }),
      );
    }
  }
  const transitionsPerSecond = (USERS * steps.length) / ((performance.now() - started) / 1000);

  const counts = await store.countByState(campaign);
  const recount = await store.recount(campaign);
  // a refused intent would be fast and wrong: every user must have reached `applied`
  if (counts.applied !== USERS) throw new Error(`expected ${USERS} applied users, counted ${counts.applied}`);
  const memoryBytes = await sumMemory(`${keys.campaignBase(campaign).replace(/[{}]/g, '\\$&')}:*`);
  started = performance.now();
  const middle = `user${String(Math.floor(USERS / 2)).padStart(6, '0')}`;
  const byPrefix = await store.queryUsers(campaign, { prefix: middle.slice(0, -1) }, { limit: 50 });
  const prefixPageMs = performance.now() - started;
  started = performance.now();
  let page = await store.queryUsers(campaign, { state: 'applied' }, { limit: 50 });
  for (let i = 0; i < 20 && page.nextCursor; i++) {
    page = await store.queryUsers(campaign, { state: 'applied' }, { limit: 50, cursor: page.nextCursor });
  }
  const statePageMs = (performance.now() - started) / 21;

  const results = {
    users: USERS,
    upsertRowsPerSecond: Math.round(upsertPerSecond),
    transitionsPerSecond: Math.round(transitionsPerSecond),
    redisBytesPerUser: Math.round(memoryBytes / USERS),
    countersEqualRecount: JSON.stringify(counts) === JSON.stringify(recount),
    prefixPageMs: Number(prefixPageMs.toFixed(2)),
    prefixPageUsers: byPrefix.users.length,
    statePageMs: Number(statePageMs.toFixed(2)),
    measuredAt: new Date().toISOString(),
  };
  console.log(JSON.stringify(results, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/store.json', `${JSON.stringify(results, null, 2)}\n`);
}

main()
  .finally(async () => {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) await redis.unlink(...batch);
    } while (cursor !== '0');
    await redis.quit();
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
