import { FleetError } from '../errors/index.js';

/**
 * One AbortController that follows several signals, undone with `unlink()`. AbortSignal.any() would do, but on
 * Node 20 it costs a WeakRef + FinalizationRegistry per call and showed up in the agent's profile at 100k jobs.
 */
export function linkSignals(signals: readonly AbortSignal[]): {
  signal: AbortSignal;
  abort: (reason: unknown) => void;
  unlink: () => void;
} {
  const controller = new AbortController();
  const listeners: Array<[AbortSignal, () => void]> = [];
  for (const parent of signals) {
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const follow = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', follow, { once: true });
    listeners.push([parent, follow]);
  }
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    unlink: () => {
      for (const [parent, follow] of listeners) parent.removeEventListener('abort', follow);
    },
  };
}

/**
 * Runs one deploy step under its time budget. The clock starts when the step starts — after the transport got its
 * per-host slot — so waiting behind other users of a busy host never counts against the deploy timeout.
 */
export async function runWithinBudget<T>(
  signal: AbortSignal,
  timeoutMs: number | undefined,
  step: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (timeoutMs === undefined) return step(signal);
  const linked = linkSignals([signal]);
  const timer = setTimeout(() => {
    linked.abort(new FleetError('FR_ERR_TRANSPORT_TIMEOUT', `no answer within ${Math.round(timeoutMs / 1000)} s`));
  }, timeoutMs);
  try {
    return await step(linked.signal);
  } finally {
    clearTimeout(timer);
    linked.unlink();
  }
}
