import type { RecordStore, UserRecord } from '../store/types.js';

interface Pending {
  readonly userKey: string;
  readonly resolve: (user: UserRecord | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Reads users for concurrent deploy jobs in one batch per campaign: jobs started by the same burst of Redis
 * replies ask within one turn of the event loop, and one getUsers call (one pipeline) answers them all instead
 * of a pipeline each — the agent's profile at 100k users showed per-call pipeline setup as a hot spot.
 */
export function createUserLoader(
  store: RecordStore,
): (campaign: string, userKey: string) => Promise<UserRecord | undefined> {
  let pending = new Map<string, Pending[]>();
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    for (const [campaign, requests] of batch) {
      store
        .getUsers(
          campaign,
          requests.map((r) => r.userKey),
        )
        .then(
          (users) => {
            for (const [i, r] of requests.entries()) r.resolve(users[i]);
          },
          (error: unknown) => {
            for (const r of requests) r.reject(error);
          },
        );
    }
  }

  return (campaign, userKey) =>
    new Promise((resolve, reject) => {
      const list = pending.get(campaign);
      if (list) list.push({ userKey, resolve, reject });
      else pending.set(campaign, [{ userKey, resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
