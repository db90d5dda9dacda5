import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toUserKey } from '../../src/store/keys.js';
import type { RecordStore } from '../../src/store/types.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { makeSpec, seedCampaign, waitForFinal, writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

const prefix = createTestPrefix('pipeline-agents');
const redis = connectTestRedis();
const roots: string[] = [];
const agents: AgentProcess[] = [];

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'fleet-hosts-'));
  roots.push(root);
  return root;
}

function startAgent(root: string, extra: readonly string[] = []): AgentProcess {
  const agent = spawnAgent(TEST_REDIS_URL, prefix, ['--local-root', root, '--concurrency', '4', ...extra]);
  agents.push(agent);
  return agent;
}

/** Per user: how many attempts ended in success, and by which agents. */
async function successes(store: RecordStore, campaign: string, usernames: readonly string[]) {
  const result = new Map<string, string[]>();
  for (const username of usernames) {
    const attempts = await store.getAttempts(campaign, toUserKey(username));
    const ok = attempts.filter((a) => a.outcome === 'applied' || a.outcome === 'already-applied');
    result.set(
      username,
      ok.map((a) => a.agent ?? '?'),
    );
  }
  return result;
}

/** `start <pid> <user>` lines the POSIX agent writes with trace=1: one per run of the apply script. */
function scriptRuns(root: string, hosts: readonly string[]): Map<string, number> {
  const runs = new Map<string, number>();
  for (const host of hosts) {
    for (const line of readFileSync(join(root, host, 'trace.log'), 'utf8').split('\n')) {
      const match = /^start \d+ (.+)$/.exec(line);
      if (match?.[1]) runs.set(match[1], (runs.get(match[1]) ?? 0) + 1);
    }
  }
  return runs;
}

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  await deletePrefix(redis, prefix);
  redis.disconnect();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('agent processes', { timeout: 120_000 }, () => {
  it('two agents share the work and no user is applied twice', async () => {
    const root = newRoot();
    const hosts = ['ws-a', 'ws-b', 'ws-c', 'ws-d'];
    for (const host of hosts) writeFault(root, host, ['trace=1', 'sleep=0.05']);
    const specs = Array.from({ length: 60 }, (_, i) => makeSpec(i, hosts[i % 4]!));
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'shared', specs, {}, { enqueue: false });
    const first = startAgent(root);
    const second = startAgent(root);
    await Promise.all([waitForLog(first, 'serving campaign'), waitForLog(second, 'serving campaign')]);
    await queues.enqueueGenerate('shared', queued);

    const counts = await waitForFinal(store, 'shared', 60);
    expect(counts.applied).toBe(60);
    const byUser = await successes(
      store,
      'shared',
      specs.map((s) => s.username),
    );
    for (const agentsOfUser of byUser.values()) expect(agentsOfUser).toHaveLength(1);
    const agentIds = new Set([...byUser.values()].flat());
    expect(agentIds.size).toBe(2); // both processes deployed users
    const runs = scriptRuns(root, hosts);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(60);
    await queues.close();
    expect(await Promise.all([first.stop(), second.stop()])).toEqual([0, 0]);
  });

  it('kill -9 of an agent mid-campaign: every user still ends final exactly once', async () => {
    const root = newRoot();
    const hosts = ['k-a', 'k-b', 'k-c'];
    for (const host of hosts) writeFault(root, host, ['sleep=0.3']);
    const specs = Array.from({ length: 45 }, (_, i) => makeSpec(1000 + i, hosts[i % 3]!));
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'killed', specs, {}, { enqueue: false });
    const victim = startAgent(root);
    const survivor = startAgent(root);
    await Promise.all([waitForLog(victim, 'serving campaign'), waitForLog(survivor, 'serving campaign')]);
    await queues.enqueueGenerate('killed', queued);

    // Kill the victim while it has jobs in flight (some users applied, many not yet).
    while (((await store.countByState('killed')).applied ?? 0) < 8) await new Promise((r) => setTimeout(r, 50));
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');

    const counts = await waitForFinal(store, 'killed', 45);
    expect(counts.applied).toBe(45);
    expect(await store.recount('killed')).toEqual(await store.countByState('killed'));
    const byUser = await successes(
      store,
      'killed',
      specs.map((s) => s.username),
    );
    for (const agentsOfUser of byUser.values()) expect(agentsOfUser).toHaveLength(1);
    // The jobs the victim had in flight were taken over: their users needed a second attempt.
    const users = await store.getUsers(
      'killed',
      specs.map((s) => toUserKey(s.username)),
    );
    expect(users.filter((u) => (u?.attempts ?? 0) >= 2).length).toBeGreaterThan(0);
    expect((await store.getCampaign('killed'))?.state).toBe('done');
    await queues.close();
    expect(await survivor.stop()).toBe(0);
  });

  it('SIGTERM drains: the in-flight job finishes, no new job is taken, exit code 0', async () => {
    const root = newRoot();
    writeFault(root, 'slow', ['sleep=2']);
    const specs = Array.from({ length: 5 }, (_, i) => makeSpec(2000 + i, 'slow'));
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'drain', specs, {}, { enqueue: false });
    const agent = startAgent(root, ['--concurrency', '1', '--grace-ms', '20000']);
    await waitForLog(agent, 'serving campaign');
    await queues.enqueueGenerate('drain', queued);
    while (((await store.countByState('drain')).deploying ?? 0) < 1) await new Promise((r) => setTimeout(r, 20));

    expect(await agent.stop('SIGTERM')).toBe(0);
    const counts = await store.countByState('drain');
    expect(counts.applied).toBe(1); // the one in flight finished
    expect(counts.deploying).toBe(0); // nothing was left half-done
    expect(counts.generated).toBe(4); // and nothing new was started
    expect(agent.output()).toContain('"drained":true');
    await queues.close();
  });

  it('past the grace period the in-flight user is handed back untouched and another agent finishes it', async () => {
    const root = newRoot();
    writeFault(root, 'very-slow', ['sleep=3', 'times=1']); // only the first run is slow
    const { store, queues, queued } = await seedCampaign(
      redis,
      prefix,
      'grace',
      [makeSpec(3000, 'very-slow')],
      {},
      {
        enqueue: false,
      },
    );
    const impatient = startAgent(root, ['--grace-ms', '300']);
    await waitForLog(impatient, 'serving campaign');
    await queues.enqueueGenerate('grace', queued);
    while (((await store.countByState('grace')).deploying ?? 0) < 1) await new Promise((r) => setTimeout(r, 20));

    expect(await impatient.stop('SIGTERM')).toBe(0);
    const handedBack = await store.getUser('grace', toUserKey('user03000'));
    expect(handedBack).toMatchObject({ state: 'retrying', attempts: 0 });
    expect(impatient.output()).toContain('"drained":false');

    const successor = startAgent(root);
    expect((await waitForFinal(store, 'grace', 1)).applied).toBe(1);
    expect(await successor.stop()).toBe(0);
    await queues.close();
  });
});
