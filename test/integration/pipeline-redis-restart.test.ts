import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toUserKey } from '../../src/store/keys.js';
import { createRecordStore } from '../../src/store/record-store.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { makeSpec, seedCampaign, waitForFinal, writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, type PrivateRedis, startPrivateRedis } from '../helpers/redis.js';

const prefix = createTestPrefix('pipeline-restart');
const root = mkdtempSync(join(tmpdir(), 'fleet-hosts-'));
let server: PrivateRedis;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  server = await startPrivateRedis();
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  await server?.destroy();
  rmSync(root, { recursive: true, force: true });
});

describe('Redis restart mid-campaign (AOF on)', () => {
  it('agents reconnect on their own and no record or outcome is lost', { timeout: 120_000 }, async () => {
    const hosts = ['r-a', 'r-b', 'r-c'];
    for (const host of hosts) writeFault(root, host, ['sleep=0.1']);
    const specs = Array.from({ length: 60 }, (_, i) => makeSpec(i, hosts[i % 3]!));
    const redis = connectTestRedis(server.url);
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'restart', specs, {}, { enqueue: false });
    for (let i = 0; i < 2; i++) {
      agents.push(spawnAgent(server.url, prefix, ['--local-root', root, '--concurrency', '3']));
    }
    await Promise.all(agents.map((a) => waitForLog(a, 'serving campaign')));
    await queues.enqueueGenerate('restart', queued);
    while (((await store.countByState('restart')).applied ?? 0) < 10) await new Promise((r) => setTimeout(r, 50));
    await queues.close();
    redis.disconnect();

    await server.stop();
    await new Promise((r) => setTimeout(r, 1500)); // agents see the outage and keep retrying
    await server.start();

    const after = connectTestRedis(server.url);
    const store2 = createRecordStore(after, prefix);
    const counts = await waitForFinal(store2, 'restart', 60);
    expect(counts.applied).toBe(60);
    expect(await store2.recount('restart')).toEqual(await store2.countByState('restart'));
    for (const spec of specs) {
      // ioredis resends commands whose reply the outage swallowed; the transition script appends history only when
      // the user really moves, so a replayed write must not show as a second entry: exactly one success per user.
      const attempts = await store2.getAttempts('restart', toUserKey(spec.username));
      const ok = attempts.filter((a) => a.outcome === 'applied' || a.outcome === 'already-applied');
      expect(ok, spec.username).toHaveLength(1);
    }
    expect(agents.every((a) => a.child.exitCode === null)).toBe(true); // nobody died of the outage
    expect((await Promise.all(agents.map((a) => a.stop()))).every((code) => code === 0)).toBe(true);
    after.disconnect();
  });
});
