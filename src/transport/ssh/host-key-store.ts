import type { Redis } from 'ioredis';

/**
 * Where `accept-new` pins a host key on first use. Values are `<keyType> <base64>`.
 * Injected so the transport does not depend on the records store.
 */
export interface HostKeyStore {
  get(hostId: string): Promise<string | undefined>;
  /** Stores the value only when the host has none yet; true when this call stored it. */
  setIfAbsent(hostId: string, value: string): Promise<boolean>;
}

/** One Redis hash (`hashKey`, given by the caller with its prefix) field per `host:port`. */
export function createRedisHostKeyStore(redis: Redis, hashKey: string): HostKeyStore {
  return {
    async get(hostId) {
      return (await redis.hget(hashKey, hostId)) ?? undefined;
    },
    async setIfAbsent(hostId, value) {
      return (await redis.hsetnx(hashKey, hostId, value)) === 1;
    },
  };
}

/** Process-local pins (single agent, tests). */
export function createMemoryHostKeyStore(): HostKeyStore {
  const pins = new Map<string, string>();
  return {
    async get(hostId) {
      return pins.get(hostId);
    },
    async setIfAbsent(hostId, value) {
      if (pins.has(hostId)) return false;
      pins.set(hostId, value);
      return true;
    },
  };
}
