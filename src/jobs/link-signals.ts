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
