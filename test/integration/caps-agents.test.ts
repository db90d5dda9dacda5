import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { campaignSlots } from '../../src/campaign/campaign-slots.js';
import { formatSlotsText } from '../../src/campaign/format-slots.js';
import { resolveSlotScopes } from '../../src/rollout/deploy-caps.js';
import { createDeploySlots } from '../../src/store/deploy-slots.js';
import { toUserKey } from '../../src/store/keys.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { makeSpec, seedCampaign, waitForFinal, writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * The check of the shared caps: two agent PROCESSES on one Redis, a per-site cap of 3 over several hosts per
 * site; the POSIX stand-in logs each run's start and end (trace=time) and the test computes the overlap per site.
 */

const prefixes: string[] = [];
const redis = connectTestRedis();
const roots: string[] = [];
const agents: AgentProcess[] = [];
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'fleet-caps-'));
  roots.push(root);
  return root;
}

/** Each test its own prefix: an agent serves every campaign under its prefix, and each test has its own hosts. */
function newPrefix(): string {
  const prefix = createTestPrefix('caps-agents');
  prefixes.push(prefix);
  return prefix;
}

function startAgent(prefix: string, root: string): AgentProcess {
  const agent = spawnAgent(TEST_REDIS_URL, prefix, ['--local-root', root, '--concurrency', '5']);
  agents.push(agent);
  return agent;
}

interface Run {
  readonly start: number;
  readonly end: number;
}

/** Every run of the stand-in on these hosts, from `start <pid> <user> <ms>` / `end <pid> <ms>` lines. */
function runsOn(root: string, hosts: readonly string[]): Run[] {
  const runs: Run[] = [];
  for (const host of hosts) {
    const open = new Map<string, number>();
    for (const line of readFileSync(join(root, host, 'trace.log'), 'utf8').split('\n')) {
      const start = /^start (\d+) \S+ (\d+)$/.exec(line);
      if (start) open.set(start[1]!, Number(start[2]));
      const end = /^end (\d+) (\d+)$/.exec(line);
      if (end && open.has(end[1]!)) runs.push({ start: open.get(end[1]!)!, end: Number(end[2]) });
    }
  }
  return runs;
}

/** Most runs at once (a run ending at the instant another starts does not overlap it). */
function maxOverlap(runs: readonly Run[]): number {
  const events = runs.flatMap((r) => [
    { at: r.start, delta: 1 },
    { at: r.end, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let live = 0;
  let peak = 0;
  for (const event of events) {
    live += event.delta;
    peak = Math.max(peak, live);
  }
  return peak;
}

const SITES = { LYON: ['ly-1', 'ly-2', 'ly-3', 'ly-4'], PARIS: ['pa-1', 'pa-2', 'pa-3'] } as const;

function siteSpecs(base: number, perHost: number) {
  return Object.entries(SITES).flatMap(([site, hosts]) =>
    hosts.flatMap((host, h) =>
      Array.from({ length: perHost }, (_, i) =>
        makeSpec(base + h * 100 + i + (site === 'LYON' ? 0 : 5000), host, { site }),
      ),
    ),
  );
}

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  redis.disconnect();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('caps shared by agent processes', { timeout: 180_000 }, () => {
  it('two agents never run more than 3 deploys at once per site, and do reach 3', async () => {
    const root = newRoot();
    const prefix = newPrefix();
    for (const host of Object.values(SITES).flat()) writeFault(root, host, ['trace=time', 'sleep=0.25']);
    const specs = siteSpecs(10_000, 5);
    const caps = { sites: { LYON: 3, PARIS: 3 }, lease_seconds: 5 };
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'capped', specs, { caps }, { enqueue: false });
    const first = startAgent(prefix, root);
    const second = startAgent(prefix, root);
    await Promise.all([waitForLog(first, 'serving campaign'), waitForLog(second, 'serving campaign')]);
    await queues.enqueueGenerate('capped', queued);

    expect((await waitForFinal(store, 'capped', specs.length)).applied).toBe(specs.length);
    for (const hosts of Object.values(SITES)) {
      const runs = runsOn(root, hosts);
      expect(runs.length).toBe(hosts.length * 5);
      expect(maxOverlap(runs)).toBe(3); // ≤ 3 (the cap) and = 3 (the test is not vacuous)
    }
    // Both processes did deploy: the cap held across them, not inside one.
    const attempts = await Promise.all(specs.map((s) => store.getAttempts('capped', toUserKey(s.username))));
    expect(new Set(attempts.flat().map((a) => a.agent)).size).toBe(2);
    await queues.close();
    expect(await Promise.all([first.stop(), second.stop()])).toEqual([0, 0]);
  });

  it('a slot held by an agent that died comes back with its lease: users wait with a reason, then finish', async () => {
    const root = newRoot();
    const prefix = newPrefix();
    writeFault(root, 'orphan-1', ['trace=time', 'sleep=0.1']);
    const caps = { sites: { ORPHAN: 1 }, lease_seconds: 4 };
    const specs = [0, 1, 2].map((i) => makeSpec(20_000 + i, 'orphan-1', { site: 'ORPHAN' }));
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'orphan', specs, { caps }, { enqueue: false });
    // A holder that will never renew nor release: what a killed agent leaves behind.
    const ghost = createDeploySlots(redis, prefix);
    const leaseMs = 8000;
    const ghostLease = {
      id: 'dead-agent:1',
      scopes: resolveSlotScopes({ perHost: 8, sites: { ORPHAN: 1 }, leaseMs }, 'ORPHAN', 'orphan-9'),
      site: 'ORPHAN',
      leaseMs,
    };
    expect((await ghost.acquire(ghostLease)).kind).toBe('acquired');
    const heldAt = Date.now();
    // What `status` shows (fleet.slots): the ghost's slot against the site's cap.
    const view = await campaignSlots(store, ghost, 'orphan');
    expect(view).toMatchObject({ perHost: 8, leaseMs: 4000 });
    expect(view?.global).toBeUndefined(); // no max_in_flight: the fleet is not counted
    expect(view?.sites).toEqual([{ site: 'ORPHAN', inFlight: 1, cap: 1 }]);
    expect(formatSlotsText(view!)).toBe('  slots     ORPHAN 1/1 · per host 8 (in flight/cap, every agent)\n');
    const agent = startAgent(prefix, root);
    await waitForLog(agent, 'serving campaign');
    await queues.enqueueGenerate('orphan', queued);

    // The users wait for the slot and say so.
    let reason: string | undefined;
    while (reason === undefined && Date.now() - heldAt < leaseMs) {
      const users = await store.getUsers(
        'orphan',
        specs.map((s) => toUserKey(s.username)),
      );
      reason = users.find((u) => u?.parkedReason)?.parkedReason;
      await pause(100);
    }
    expect(reason).toBe('waiting for a slot: site ORPHAN 1/1');
    expect((await waitForFinal(store, 'orphan', 3)).applied).toBe(3);
    const runs = runsOn(root, ['orphan-1']);
    expect(Math.min(...runs.map((r) => r.start)) - heldAt).toBeGreaterThan(leaseMs - 1000);
    expect(maxOverlap(runs)).toBe(1);
    const users = await store.getUsers(
      'orphan',
      specs.map((s) => toUserKey(s.username)),
    );
    expect(users.every((u) => u?.parkedReason === undefined)).toBe(true);
    await queues.close();
    expect(await agent.stop()).toBe(0);
  });

  it('a deploy longer than the lease keeps its slot: the holder renews it', async () => {
    const root = newRoot();
    const prefix = newPrefix();
    for (const host of ['r-1', 'r-2']) writeFault(root, host, ['trace=time', 'sleep=3']);
    const caps = { sites: { RENEW: 1 }, lease_seconds: 2 };
    const specs = [makeSpec(40_000, 'r-1', { site: 'RENEW' }), makeSpec(40_001, 'r-2', { site: 'RENEW' })];
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'renew', specs, { caps }, { enqueue: false });
    const agent = startAgent(prefix, root);
    await waitForLog(agent, 'serving campaign');
    await queues.enqueueGenerate('renew', queued);
    expect((await waitForFinal(store, 'renew', 2)).applied).toBe(2);
    // Each run outlives the 2 s lease: without renewal the second user would have started during the first.
    const runs = runsOn(root, ['r-1', 'r-2']);
    expect(runs.every((r) => r.end - r.start >= 2500)).toBe(true);
    expect(maxOverlap(runs)).toBe(1);
    expect(agent.output()).not.toContain('lease had lapsed');
    await queues.close();
    expect(await agent.stop()).toBe(0);
  });

  it('kill -9 of an agent: its slots come back within the lease and its users finish through the other agent', async () => {
    const root = newRoot();
    const prefix = newPrefix();
    const hosts = ['k-1', 'k-2', 'k-3'];
    for (const host of hosts) writeFault(root, host, ['trace=time', 'sleep=1']);
    const leaseSeconds = 3;
    const caps = { sites: { KILL: 3 }, lease_seconds: leaseSeconds };
    const specs = hosts.flatMap((host, h) =>
      [0, 1, 2, 3].map((i) => makeSpec(30_000 + h * 10 + i, host, { site: 'KILL' })),
    );
    const { store, queues, queued } = await seedCampaign(redis, prefix, 'killcap', specs, { caps }, { enqueue: false });
    const victim = startAgent(prefix, root);
    await waitForLog(victim, 'serving campaign');
    await queues.enqueueGenerate('killcap', queued);
    // The victim holds slots mid-deploy when it dies.
    const siteKey = `${prefix}:fr:{slots}:site:KILL`;
    const victimLeases = async () => {
      const [seconds, micros] = await redis.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const live = await redis.zrangebyscore(siteKey, `(${now}`, '+inf');
      return live.filter((id) => id.includes(`:${victim.pid}:`)).length;
    };
    while ((await victimLeases()) === 0) await pause(20);
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    expect(await victimLeases()).toBeGreaterThan(0);
    const survivor = startAgent(prefix, root);
    while ((await victimLeases()) > 0) await pause(50);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(leaseSeconds * 1000 + 500);

    expect((await waitForFinal(store, 'killcap', specs.length)).applied).toBe(specs.length);
    expect(maxOverlap(runsOn(root, hosts))).toBeLessThanOrEqual(3);
    const attempts = await Promise.all(specs.map((s) => store.getAttempts('killcap', toUserKey(s.username))));
    const survivorId = `:${survivor.pid}`;
    expect(attempts.flat().some((a) => a.agent?.endsWith(survivorId))).toBe(true);
    await queues.close();
    expect(await survivor.stop()).toBe(0);
  });
});
