import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toUserKey } from '../../src/store/keys.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { makeSpec, seedCampaign, waitForFinal, writeFault } from '../helpers/pipeline-campaign.js';
import { createTestPrefix } from '../helpers/redis.js';
import { type SentinelSet, startSentinelSet } from '../helpers/redis-topologies.js';

/**
 * Redis as run in production: a primary, a replica and three real sentinels. Agents connect through the sentinels
 * (`redis+sentinel://…/<master>`); the primary is failed over in the middle of a campaign.
 */
const prefix = createTestPrefix('sentinel');
const root = mkdtempSync(join(tmpdir(), 'fleet-sentinel-hosts-'));
let set: SentinelSet;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  set = await startSentinelSet();
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  await set?.stop();
  rmSync(root, { recursive: true, force: true });
});

function sentinelClient(): Redis {
  const client = new Redis({
    sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    name: set.name,
    maxRetriesPerRequest: null,
    reconnectOnError: (error) => (/^READONLY/.test(error.message) ? 2 : false),
  });
  client.on('error', () => {});
  return client;
}

describe('Redis Sentinel', () => {
  it('a failover in the middle of a campaign loses nothing and the campaign finishes', {
    timeout: 90_000,
  }, async () => {
    const hosts = ['s-a', 's-b', 's-c'];
    // Slow enough that the failover (1-2 s) lands mid-campaign: 90 users, 6 at a time, 0.3 s each.
    for (const host of hosts) writeFault(root, host, ['sleep=0.3']);
    const total = 90;
    const specs = Array.from({ length: total }, (_, i) => makeSpec(i, hosts[i % 3]!));
    const redis = sentinelClient();
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'failover', specs, {}, { enqueue: false });
    for (let i = 0; i < 2; i++) {
      agents.push(spawnAgent(set.url, prefix, ['--local-root', root, '--concurrency', '3']));
    }
    await Promise.all(agents.map((a) => waitForLog(a, 'serving campaign')));
    await queues.enqueueGenerate('failover', queued);
    while (((await store.countByState('failover')).applied ?? 0) < 15) await new Promise((r) => setTimeout(r, 50));

    const before = await set.primaryPort();
    expect(before).toBe(set.primary.port);
    const admin = new Redis({ host: '127.0.0.1', port: set.sentinels[0]!.port });
    await admin.call('SENTINEL', 'FAILOVER', set.name);
    admin.disconnect();
    while ((await set.primaryPort()) === before) await new Promise((r) => setTimeout(r, 100));
    const appliedAtSwitch = (await store.countByState('failover')).applied ?? 0;
    expect(appliedAtSwitch).toBeLessThan(total); // the switch really happened mid-campaign

    const counts = await waitForFinal(store, 'failover', total);
    expect(counts.applied).toBe(total);
    expect(await set.primaryPort()).toBe(set.replica.port);
    expect(await store.recount('failover')).toEqual(await store.countByState('failover'));
    for (const spec of specs) {
      const user = await store.findUserByName('failover', spec.username);
      expect(user?.state).toBe('applied');
      const attempts = await store.getAttempts('failover', toUserKey(spec.username));
      const ok = attempts.filter((a) => a.outcome === 'applied' || a.outcome === 'already-applied');
      expect(new Set(ok.map((a) => JSON.stringify(a))).size).toBe(1);
    }
    expect(agents.every((a) => a.child.exitCode === null)).toBe(true);
    expect((await Promise.all(agents.map((a) => a.stop()))).every((code) => code === 0)).toBe(true);
    // BullMQ's close waits on connections the failover already replaced: bounded, the processes are ours.
    await Promise.race([queues.close(), new Promise((r) => setTimeout(r, 2_000))]);
    redis.disconnect();
  });
});
