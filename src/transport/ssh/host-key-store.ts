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

/** The admin's view of the accept-new pins (`hostkeys list|forget`): field `host:port` → signed pin. */
export interface HostKeyPinAdmin {
  list(): Promise<{ readonly id: string; readonly value: string }[]>;
  /** Deletes the pin of `id` (`host:port`); true when there was one. The next handshake pins the key it meets. */
  forget(id: string): Promise<boolean>;
}

export function createRedisHostKeyPinAdmin(redis: Redis, hashKey: string): HostKeyPinAdmin {
  return {
    async list() {
      const pins: { id: string; value: string }[] = [];
      let cursor = '0';
      do {
        const [next, flat] = await redis.hscan(hashKey, cursor, 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) pins.push({ id: flat[i] as string, value: flat[i + 1] as string });
      } while (cursor !== '0');
      return pins.sort((a, b) => a.id.localeCompare(b.id));
    },
    async forget(id) {
      return (await redis.hdel(hashKey, id)) === 1;
    },
  };
}
