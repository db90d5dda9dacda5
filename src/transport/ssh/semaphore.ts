import { FleetError } from '../../errors/index.js';

/** Counting semaphore whose waits can be aborted (a queued job timing out must leave the queue). */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly capacity: number) {}

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.active < this.capacity) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortError(signal));
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    // Hand the slot straight to the next waiter (active stays the same).
    if (next) next();
    else this.active -= 1;
  }
}

/** The error an aborted deploy step throws: the signal's FleetError reason if any, else a timeout. */
export function abortError(signal: AbortSignal | undefined, host?: string): FleetError {
  const reason: unknown = signal?.reason;
  if (reason instanceof FleetError) return reason;
  return new FleetError('FR_ERR_TRANSPORT_TIMEOUT', undefined, host ? { host } : {});
}

/** Wait for a shared promise, but let this caller give up on abort (the work goes on for the others). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, host: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, host));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, host));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
