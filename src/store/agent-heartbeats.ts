import type { Redis } from 'ioredis';

/**
 * Who is serving what right now. Each agent writes its heartbeat every few seconds to its own key with a
 * server-side TTL (≈ 3 intervals): an agent that dies silently disappears when the key expires, whatever the
 * clocks of the machines say. A set lists the ids so readers need no SCAN; both share the hash tag `{agents}`
 * (one Cluster slot, so one MGET reads them all).
 *
 *   <p>:fr:{agents}:ids           set     agent ids (pruned by readers when the heartbeat key is gone)
 *   <p>:fr:{agents}:hb:<id>       string  the heartbeat as JSON, PX = ttl
 */
export interface AgentHeartbeat {
  /** Unique per agent process (`hostname:pid`, plus `/n` for a second agent in one process). */
  readonly id: string;
  readonly hostname: string;
  readonly pid: number;
  /** fleet-rollout version the agent runs. */
  readonly version: string;
  readonly startedAt: number;
  readonly seenAt: number;
  /** Campaign names whose queues this agent serves. */
  readonly campaigns: readonly string[];
  /** Stages it runs (`generate`, `deploy`). */
  readonly roles: readonly string[];
  /** Transports it serves (`local`, `ssh`). */
  readonly transports: readonly string[];
  /** Deploy jobs in flight per campaign. */
  readonly concurrency: number;
  readonly generateConcurrency: number;
  /** How often it beats: the heartbeat is gone ~3 intervals after the agent died. */
  readonly intervalMs: number;
}

/** A heartbeat lives this many intervals: one missed beat (a busy event loop) does not make an agent vanish. */
export const HEARTBEAT_TTL_INTERVALS = 3;

export interface AgentHeartbeats {
  publish(heartbeat: AgentHeartbeat): Promise<void>;
  /** Gone at once (graceful stop), rather than after the TTL. */
  remove(id: string): Promise<void>;
  /** Agents alive, by id; with `campaign`, only those serving it. */
  list(campaign?: string): Promise<AgentHeartbeat[]>;
}

export function createAgentHeartbeats(redis: Redis, prefix: string): AgentHeartbeats {
  const ids = `${prefix}:fr:{agents}:ids`;
  const beat = (id: string): string => `${prefix}:fr:{agents}:hb:${id}`;
  return {
    async publish(heartbeat) {
      const ttl = heartbeat.intervalMs * HEARTBEAT_TTL_INTERVALS;
      await redis.multi().set(beat(heartbeat.id), JSON.stringify(heartbeat), 'PX', ttl).sadd(ids, heartbeat.id).exec();
    },

    async remove(id) {
      await redis.multi().del(beat(id)).srem(ids, id).exec();
    },

    async list(campaign) {
      const members = (await redis.smembers(ids)).sort();
      if (members.length === 0) return [];
      const values = await redis.mget(members.map(beat));
      const gone = members.filter((_, index) => values[index] === null);
      if (gone.length > 0) await redis.srem(ids, ...gone);
      const alive = values.flatMap((value) => (value === null ? [] : [parseHeartbeat(value)]));
      return alive.filter(
        (agent): agent is AgentHeartbeat =>
          agent !== undefined && (campaign === undefined || agent.campaigns.includes(campaign)),
      );
    },
  };
}

function parseHeartbeat(value: string): AgentHeartbeat | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<AgentHeartbeat>;
    return typeof parsed.id === 'string' && Array.isArray(parsed.campaigns) ? (parsed as AgentHeartbeat) : undefined;
  } catch {
    return undefined; // written by something else: not an agent we can describe
  }
}
