import { createSshTransportHook } from '../../src/cli/ssh-options.js';
import type { Logger } from '../../src/log/logger.js';
import { startAgent } from '../../src/workers/start-agent.js';
import { TEST_REDIS_URL } from './redis.js';

export type RunningTestAgent = Awaited<ReturnType<typeof startAgent>>;

export interface SshAgentOptions {
  readonly prefix: string;
  readonly logger: Logger;
  /** The `agent` command's ssh flags (sshKey, knownHosts, hostKeyPolicy, allowApplyCommands…), as commander names them. */
  readonly ssh: Record<string, unknown>;
  readonly concurrency?: number;
  readonly graceMs?: number;
}

/**
 * An in-process agent serving generate and deploy over ssh, built the way `fleet-rollout agent` builds it from its
 * flags (no ssh-agent, a 20 s command timeout); answers the agent and the ssh transport factory it was given.
 */
export async function startSshAgent(options: SshAgentOptions) {
  const createSsh = createSshTransportHook(
    { sshAgent: false, commandTimeoutMs: 20_000, redisUrl: TEST_REDIS_URL, prefix: options.prefix, ...options.ssh },
    options.logger,
  );
  const agent: RunningTestAgent = await startAgent({
    redisUrl: TEST_REDIS_URL,
    prefix: options.prefix,
    roles: ['generate', 'deploy'],
    concurrency: options.concurrency ?? 4,
    lockMs: 10_000,
    stalledMs: 5_000,
    maxStalls: 5,
    pollMs: 100,
    graceMs: options.graceMs ?? 5_000,
    logger: options.logger,
    transportKinds: ['ssh'],
    ...(createSsh && { createSsh }),
  });
  return { agent, createSsh };
}
