import { Semaphore } from '../../src/transport/ssh/semaphore.js';

export interface PoolOptions<T> {
  /** Items in flight at once. */
  readonly concurrency: number;
  /** With `hostOf`: at most this many items of one host at once (the fleet transport's per-host cap). */
  readonly perHost?: number;
  readonly hostOf?: (item: T) => string;
}

/**
 * Runs `work` over `items`, `concurrency` at a time (and `perHost` per host); returns how many failed and prints
 * the first few failures, so a broken arm is visible rather than just fast.
 */
export async function runPool<T>(
  items: readonly T[],
  options: PoolOptions<T>,
  work: (item: T) => Promise<void>,
): Promise<number> {
  const { concurrency, perHost, hostOf } = options;
  const hostSlots = new Map<string, Semaphore>();
  const slotsOf = (item: T): Semaphore | undefined => {
    if (!perHost || !hostOf) return undefined;
    const host = hostOf(item);
    let slots = hostSlots.get(host);
    if (!slots) {
      slots = new Semaphore(perHost);
      hostSlots.set(host, slots);
    }
    return slots;
  };
  let next = 0;
  let failures = 0;
  const firstErrors: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        const slots = slotsOf(item);
        await slots?.acquire();
        try {
          await work(item);
        } catch (error) {
          failures += 1;
          if (firstErrors.length < 3) firstErrors.push(String((error as Error).message));
        } finally {
          slots?.release();
        }
      }
    }),
  );
  if (firstErrors.length > 0) console.error('  first failures:', firstErrors);
  return failures;
}
