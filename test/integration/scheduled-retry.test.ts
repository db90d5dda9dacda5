import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScheduledRetry } from '../../src/campaign/scheduled-retry.js';
import { createRetryScheduler } from '../../src/queue/retry-scheduler.js';
import { toUserKey } from '../../src/store/keys.js';
import type { UserRecord } from '../../src/store/types.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

/**
 * The recurring retry: only users whose last failure was transient (their retries ran out) are re-queued, and only
 * those whose site's window is open at the instant the job runs (the handler with an injected clock); an agent
 * keeps a BullMQ job scheduler per campaign with `schedule.retry` and runs its jobs (a cron of every second).
 */
let f: FleetFixture;

beforeAll(async () => {
  f = await createFleetFixture('scheduled-retry');
});
afterAll(() => f.close());

/** Moves a user through a failed deploy, as an agent would record it. */
async function failUser(campaign: string, username: string, code: string, failureClass: 'transient' | 'permanent') {
  const store = f.fleet.internals.store;
  const userKey = toUserKey(username);
  const now = Date.now();
  const user = (await store.getUser(campaign, userKey)) as UserRecord;
  for (const intent of ['generate-done', 'deploy-begin'] as const) {
    await store.transition(campaign, userKey, { intent, run: user.run }, now);
  }
  const lastError = { failureClass, code, message: 'test', stage: 'apply' as const };
  await store.transition(
    campaign,
    userKey,
    { intent: 'deploy-failed-permanent', run: user.run, patch: { lastError } },
    now,
  );
}

async function stateOf(campaign: string, username: string) {
  return (await f.fleet.internals.store.findUserByName(campaign, username))?.state;
}

describe('scheduled retry', () => {
  it('re-queues only transient give-ups, and only at sites whose window is open now', async () => {
    const name = 'nightly';
    const rows = [csvRow('t-paris', 'a1', 'paris'), csvRow('t-ny', 'a2', 'newyork'), csvRow('p-paris', 'a3', 'paris')];
    const settings = f.settings({
      schedule: {
        timezone: 'Europe/Paris',
        windows: [{ days: ['daily'], hours: '22:00-06:00' }],
        sites: { newyork: { timezone: 'America/New_York' } },
      },
    });
    await f.fleet.importCsv({
      source: { path: f.writeCsv('n.csv', rows) },
      campaign: name,
      settings,
      allowRejects: false,
    });
    await failUser(name, 't-paris', 'FR_ERR_ATTEMPTS_EXHAUSTED', 'transient');
    await failUser(name, 't-ny', 'FR_ERR_RETRY_HORIZON_EXCEEDED', 'transient');
    await failUser(name, 'p-paris', 'FR_ERR_REMOTE_PERMISSION', 'permanent');
    await f.fleet.start(name); // every user is final: the campaign is done, and still retried at night
    const { store, queues } = f.fleet.internals;

    const noon = Date.parse('2026-12-08T12:00:00+01:00');
    expect(await runScheduledRetry(store, queues, name, noon)).toEqual({
      queued: 0,
      closedSites: ['paris', 'newyork'],
    });
    expect(await stateOf(name, 't-paris')).toBe('failed');

    const parisNight = Date.parse('2026-12-08T23:00:00+01:00'); // 17:00 in New York
    expect(await runScheduledRetry(store, queues, name, parisNight)).toEqual({ queued: 1, closedSites: ['newyork'] });
    expect([await stateOf(name, 't-paris'), await stateOf(name, 't-ny')]).toEqual(['queued', 'failed']);

    const bothNights = Date.parse('2026-12-09T04:30:00+01:00'); // 22:30 in New York
    expect(await runScheduledRetry(store, queues, name, bothNights)).toEqual({ queued: 1, closedSites: [] });
    expect(await stateOf(name, 't-ny')).toBe('queued');
    expect(await stateOf(name, 'p-paris')).toBe('failed');
  });

  it('skips a paused or halted campaign', async () => {
    const name = 'nightly-paused';
    await f.fleet.importCsv({
      source: { path: f.writeCsv('p.csv', [csvRow('t1', 'b1')]) },
      campaign: name,
      settings: f.settings(),
      allowRejects: false,
    });
    await failUser(name, 't1', 'FR_ERR_ATTEMPTS_EXHAUSTED', 'transient');
    const { store, queues } = f.fleet.internals;
    expect(await runScheduledRetry(store, queues, name, Date.now())).toMatchObject({
      queued: 0,
      skipped: 'campaign draft',
    });
  });

  it('runs from a BullMQ job scheduler per campaign that agents keep in line with the campaign file', async () => {
    const name = 'every-second';
    const rows = [csvRow('again', 'c1'), csvRow('never', 'c2')];
    writeFault(f.root, 'c2', ['exit=77']);
    const settings = f.settings({
      deploy: { transport: 'local', local_root: f.root },
      schedule: { retry: { cron: '* * * * * *' } },
    });
    await f.fleet.importCsv({
      source: { path: f.writeCsv('e.csv', rows) },
      campaign: name,
      settings,
      allowRejects: false,
    });
    await failUser(name, 'again', 'FR_ERR_ATTEMPTS_EXHAUSTED', 'transient');
    await failUser(name, 'never', 'FR_ERR_REMOTE_PERMISSION', 'permanent');
    await f.fleet.start(name);
    await f.startAgent();
    const deadline = Date.now() + 20_000;
    while ((await stateOf(name, 'again')) !== 'applied' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await stateOf(name, 'again')).toBe('applied');
    expect(await stateOf(name, 'never')).toBe('failed');
    const scheduler = createRetryScheduler(f.fleet.internals.redis, f.prefix);
    try {
      expect(await scheduler.list()).toEqual([expect.objectContaining({ campaign: name, pattern: '* * * * * *' })]);
      await f.fleet.cancel(name); // a cancelled campaign loses its scheduler at the next discovery tick
      const gone = Date.now() + 5_000;
      while ((await scheduler.list()).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
      expect(await scheduler.list()).toEqual([]);
    } finally {
      await scheduler.close();
    }
  }, 40_000);
});
