import type { Redis } from 'ioredis';
import { decodeEvent, type FleetEvent } from './event-stream.js';
import type { StoreKeys } from './keys.js';

export interface FollowAllOptions {
  readonly signal?: AbortSignal;
  /** Longest wait of one blocking read (the signal and the campaign list are checked between reads). */
  readonly blockMs?: number;
  /** How often the campaign list is read again (new campaigns join, deleted ones leave). */
  readonly refreshMs?: number;
}

/**
 * The events of every campaign as they happen, on one connection of its own (one XREAD over every stream; Cluster
 * is refused at connect, so the streams may sit in different slots). Campaigns present at the start are followed
 * from that moment on; a campaign that appears later is read from its first kept event, so nothing it did since it
 * was created is missed. An event trimmed away before it was read is lost (the stream keeps ~10,000 a campaign).
 */
export async function* followAllEvents(
  redis: Redis,
  keys: StoreKeys,
  listCampaigns: () => Promise<readonly string[]>,
  options: FollowAllOptions = {},
): AsyncGenerator<FleetEvent> {
  const blockMs = options.blockMs ?? 1000;
  const refreshMs = options.refreshMs ?? 5000;
  const reader = redis.duplicate();
  reader.on('error', () => {}); // surfaced by the reads themselves
  // Ending at once rather than after the blocking read: the read fails, and the caller knows it asked to stop.
  const stop = (): void => reader.disconnect();
  options.signal?.addEventListener('abort', stop, { once: true });
  const last = new Map<string, string>();
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let started = false;
  try {
    while (!options.signal?.aborted) {
      if (Date.now() - refreshedAt >= refreshMs) {
        const names = new Set(await listCampaigns());
        for (const name of names) {
          if (!last.has(name)) last.set(name, started ? '0-0' : await lastEventId(reader, keys.events(name)));
        }
        for (const name of last.keys()) if (!names.has(name)) last.delete(name);
        started = true;
        refreshedAt = Date.now();
      }
      if (last.size === 0) {
        await pause(Math.min(blockMs, refreshMs), options.signal);
        continue;
      }
      const names = [...last.keys()];
      const reply = (await reader.xread(
        'COUNT',
        1000,
        'BLOCK',
        blockMs,
        'STREAMS',
        ...names.map((name) => keys.events(name)),
        ...names.map((name) => last.get(name) as string),
      )) as Array<[string, Array<[string, string[]]>]> | null;
      for (const [key, entries] of reply ?? []) {
        const campaign = names.find((name) => keys.events(name) === key);
        if (campaign === undefined) continue;
        for (const [id, fields] of entries) {
          last.set(campaign, id);
          yield decodeEvent(campaign, id, fields);
        }
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    reader.disconnect();
  }
}

/** The id of the newest kept event, or `0-0` for a stream not written yet. */
async function lastEventId(redis: Redis, key: string): Promise<string> {
  const newest = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
  return newest[0]?.[0] ?? '0-0';
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
