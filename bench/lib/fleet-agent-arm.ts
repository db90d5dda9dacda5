import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { AGENT_DEFAULTS } from '../../src/workers/agent-defaults.js';
import { type EmbeddedRedis, findRedisServer, startEmbeddedRedis } from '../../src/workers/embedded-redis.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../../test/helpers/agent-process.js';
import { waitForFinal } from '../../test/helpers/pipeline-campaign.js';
import type { BenchUser } from './bench-users.js';
import { benchAllowListFile, seedBenchCampaign } from './fleet-campaign.js';
import type { LoopbackFleet } from './loopback-hosts.js';
import { cpuSeconds, peakRss } from './proc-cpu.js';

/** One campaign through the agent: CPU in seconds, from the first job queued to the last user final. */
export interface FleetRound {
  readonly seconds: number;
  readonly failures: number;
  readonly agentCpuSeconds: number;
  readonly redisCpuSeconds: number;
  readonly peakRssMB: number;
}

export interface FleetAgentArm {
  /** Imports and runs one campaign of `users` (a new name each round) and waits until every user is final. */
  round(campaign: string): Promise<FleetRound>;
  close(): Promise<void>;
}

/**
 * fleet-rollout as it is deployed: one long-lived `fleet-rollout agent` process (the agent's shipped timings, its
 * own allow-list naming the bench hosts' commands) over its own redis-server, so the CPU read from /proc for the two
 * is the orchestrator's alone. Each round is a new campaign the agent picks up like any other.
 */
export async function startFleetAgentArm(
  hosts: LoopbackFleet,
  users: readonly BenchUser[],
  options: { readonly concurrency: number; readonly perHost: number },
): Promise<FleetAgentArm> {
  const prefix = 'bench-realistic';
  const embedded: EmbeddedRedis = await startEmbeddedRedis(
    findRedisServer() ?? 'redis-server',
    join(hosts.dir, 'redis-fleet'),
  );
  const redis = new Redis(embedded.url, { maxRetriesPerRequest: null });
  // What the agent may run is the agent host's decision (docs/security.md): its allow-list names the bench commands.
  const allowList = join(hosts.dir, 'allow-fleet.yaml');
  writeFileSync(allowList, benchAllowListFile(hosts.hosts));
  const agent: AgentProcess = spawnAgent(embedded.url, prefix, [
    ...['--allow-apply-commands', allowList, '--transport', 'ssh'],
    ...['--concurrency', String(options.concurrency), '--ssh-per-host', String(options.perHost)],
    ...['--ssh-key', hosts.key.path, '--no-ssh-agent', '--known-hosts', hosts.knownHostsPath],
    // The agent's shipped timings: the test helper's quick ones (a campaign lookup every 200 ms) are for tests that
    // wait on an agent, not for a figure about the product.
    ...['--lock-ms', String(AGENT_DEFAULTS.lockMs), '--stalled-ms', String(AGENT_DEFAULTS.stalledMs)],
    ...['--poll-ms', String(AGENT_DEFAULTS.pollMs)],
  ]);
  try {
    await waitForLog(agent, 'agent started');
  } catch (error) {
    redis.disconnect();
    await embedded.stop();
    throw error;
  }
  return {
    async round(campaign) {
      const { store, queues, queued } = await seedBenchCampaign(redis, prefix, campaign, users, hosts.account.login);
      try {
        // Outside the clock: the agent finds the new campaign at its next look (every pollMs).
        await waitForLog(
          agent,
          (line) =>
            line.includes('"msg":"serving campaign"') && line.includes(`"campaign":${JSON.stringify(campaign)}`),
        );
        const agentBefore = cpuSeconds(agent.pid);
        const redisBefore = cpuSeconds(embedded.pid ?? 0);
        const started = performance.now();
        await queues.enqueueGenerate(campaign, queued);
        const counts = await waitForFinal(store, campaign, users.length);
        return {
          seconds: (performance.now() - started) / 1000,
          failures: users.length - (counts.applied ?? 0),
          agentCpuSeconds: cpuSeconds(agent.pid) - agentBefore,
          redisCpuSeconds: cpuSeconds(embedded.pid ?? 0) - redisBefore,
          peakRssMB: Number((peakRss(agent.pid) / 1048576).toFixed(1)),
        };
      } finally {
        await queues.close();
      }
    },
    async close() {
      // SIGTERM: the agent drains and closes its connections, so the sshd sessions end.
      await agent.stop();
      redis.disconnect();
      await embedded.stop();
    },
  };
}
