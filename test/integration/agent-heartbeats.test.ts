import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHeartbeat } from '../../src/app/open-fleet.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

let fx: FleetFixture;
const processes: AgentProcess[] = [];

beforeAll(async () => {
  fx = await createFleetFixture('agent-heartbeats');
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await fx?.close();
});

async function until(predicate: (agents: AgentHeartbeat[]) => boolean, campaign?: string): Promise<AgentHeartbeat[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const agents = await fx.fleet.agents(campaign);
    if (predicate(agents)) return agents;
    if (Date.now() > deadline) throw new Error(`timed out; agents ${JSON.stringify(agents)}`);
    await new Promise((resume) => setTimeout(resume, 50));
  }
}

describe('agent heartbeats', { timeout: 60_000 }, () => {
  it('lists the agents alive, what they serve, and forgets a stopped one at once', async () => {
    expect(await fx.fleet.agents()).toEqual([]);
    const agent = await fx.startAgent({ heartbeatMs: 200, concurrency: 3, roles: ['deploy'] });
    const [first] = await until((agents) => agents.length === 1);
    expect(first).toMatchObject({
      id: agent.runner.id,
      hostname: hostname(),
      pid: process.pid,
      campaigns: [],
      roles: ['deploy'],
      concurrency: 3,
      intervalMs: 200,
    });
    expect(first?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(first?.seenAt).toBeGreaterThanOrEqual(first?.startedAt ?? Number.POSITIVE_INFINITY);

    await fx.fleet.importCsv({
      campaign: 'hb',
      source: { path: fx.writeCsv('hb.csv', [csvRow('hb1', 'ws-hb')]) },
      settings: fx.settings(),
      allowRejects: false,
      start: true,
    });
    const serving = await until((agents) => agents.length === 1, 'hb');
    expect(serving[0]?.campaigns).toEqual(['hb']);
    expect(await fx.fleet.agents('nothing-here')).toEqual([]);
    const beat = serving[0]?.seenAt ?? 0;
    await until((agents) => (agents[0]?.seenAt ?? 0) > beat); // it keeps beating

    await agent.stop();
    expect(await fx.fleet.agents()).toEqual([]);
  });

  it('an agent killed without a goodbye disappears once its heartbeat expires', async () => {
    const killed = spawnAgent(TEST_REDIS_URL, fx.prefix, ['--local-root', fx.root, '--heartbeat-ms', '300']);
    processes.push(killed);
    await waitForLog(killed, 'agent started');
    const [seen] = await until((agents) => agents.some((a) => a.pid === killed.pid));
    expect(seen?.id).toBe(`${hostname()}:${killed.pid}`);
    expect(seen?.transports).toEqual(['local']);
    await killed.stop('SIGKILL');
    const killedAt = Date.now();
    await until((agents) => !agents.some((a) => a.pid === killed.pid));
    // Gone after ~3 beats (900 ms), not at once (no goodbye) and not much later.
    expect(Date.now() - killedAt).toBeLessThan(3_000);
  });
});
