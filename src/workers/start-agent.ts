import type { Redis } from 'ioredis';
import { toProfileOptions, toRetryPolicy } from '../config/campaign-settings.js';
import type { Logger } from '../log/logger.js';
import { renderProfile } from '../profile/render-profile.js';
import { createRedisConnection } from '../queue/connection.js';
import { createDeploySlots } from '../store/deploy-slots.js';
import { createRecordStore } from '../store/record-store.js';
import { AGENT_DEFAULTS } from './agent-defaults.js';
import type { TransportKind } from './agent-runner.js';
import { type AgentRunner, createAgentRunner } from './agent-runner.js';
import type { AgentRole } from './campaign-workers.js';
import { createTransportRegistry, type TransportRegistryOptions } from './transport-registry.js';

export interface AgentConfig extends TransportRegistryOptions {
  /** A worker-role connection (maxRetriesPerRequest null) owned by the caller; else one is opened from redisUrl. */
  readonly connection?: Redis;
  readonly redisUrl?: string;
  /** Serve only campaigns whose `deploy.transport` is listed (default: all). */
  readonly transportKinds?: readonly TransportKind[];
  readonly prefix: string;
  readonly roles: readonly AgentRole[];
  readonly concurrency: number;
  readonly generateConcurrency?: number;
  readonly lockMs: number;
  readonly stalledMs: number;
  readonly maxStalls: number;
  readonly pollMs: number;
  readonly graceMs: number;
  /** Heartbeat period (default AGENT_DEFAULTS.heartbeatMs). */
  readonly heartbeatMs?: number;
  readonly logger: Logger;
}

export interface RunningAgent {
  readonly runner: AgentRunner;
  readonly connection: Redis;
  /** Drains (see AgentRunner.stop) and closes the connection; true when in-flight jobs finished in time. */
  stop(): Promise<boolean>;
}

/** Wires one agent: its own worker connection (reconnects forever), the store, the transports, the runner. */
export async function startAgent(config: AgentConfig): Promise<RunningAgent> {
  let lastLog = 0;
  const owned = config.connection === undefined;
  const connection =
    config.connection ??
    (await createRedisConnection(config.redisUrl ?? 'redis://127.0.0.1:6379', {
      role: 'worker',
      onWaiting: (message) => config.logger.warn(message),
      onError: (error) => {
        if (Date.now() - lastLog < 5000) return;
        lastLog = Date.now();
        config.logger.warn({ err: error.message }, 'redis connection error (reconnecting)');
      },
    }));
  // Records get their own auto-pipelined connection: a hundred concurrent jobs' store calls leave in one write
  // instead of one syscall each (the agent's profile was dominated by socket writes); BullMQ keeps the other.
  const storeConnection = connection.duplicate({ enableAutoPipelining: true });
  storeConnection.on('error', () => {}); // reported through the main connection's handler
  const runner = createAgentRunner({
    connection,
    prefix: config.prefix,
    store: createRecordStore(storeConnection, config.prefix),
    logger: config.logger,
    transports: createTransportRegistry(config),
    render: renderProfile,
    derive: { toProfileOptions: (file) => toProfileOptions(file), toRetryPolicy },
    slots: createDeploySlots(storeConnection, config.prefix),
    roles: new Set(config.roles),
    concurrency: config.concurrency,
    generateConcurrency: config.generateConcurrency ?? AGENT_DEFAULTS.generateConcurrency,
    lockMs: config.lockMs,
    stalledMs: config.stalledMs,
    maxStalls: config.maxStalls,
    pollMs: config.pollMs,
    graceMs: config.graceMs,
    ...(config.heartbeatMs !== undefined ? { heartbeatMs: config.heartbeatMs } : {}),
    ...(config.transportKinds ? { transportKinds: config.transportKinds } : {}),
  });
  await runner.start();
  return {
    runner,
    connection,
    async stop() {
      const drained = await runner.stop();
      storeConnection.disconnect();
      if (owned) connection.disconnect();
      return drained;
    },
  };
}

export { AGENT_DEFAULTS } from './agent-defaults.js';
