import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../../src/store/event-stream.js';
import { createStoreKeys } from '../../src/store/keys.js';
import type { UserRecord } from '../../src/store/types.js';
import { createFleetFixture, csvRow, type FleetFixture } from '../helpers/fleet-fixture.js';

/**
 * A wave promotion is an event on the campaign's stream (written by the Lua enforcer in the step that promotes), so
 * `status --watch` and the dashboard's live view redraw when the next wave opens, not at their next poll.
 */
let f: FleetFixture;

beforeAll(async () => {
  f = await createFleetFixture('wave-event');
});
afterAll(() => f.close());

describe('wave promotion event', () => {
  it('the move that attempts the last user of the open wave appends wave-promoted with the opening instant', async () => {
    const name = 'promoted';
    const rows = [csvRow('pa', 'h1'), csvRow('pb', 'h2'), csvRow('pc', 'h3')];
    await f.fleet.importCsv({
      source: { path: f.writeCsv('w.csv', rows) },
      campaign: name,
      settings: f.settings({ waves: { canary: 1, size: 1, soak_minutes: 10 } }),
      allowRejects: false,
    });
    await f.fleet.start(name);
    const { store, redis } = f.fleet.internals;
    const keys = createStoreKeys(f.prefix);
    const promotions = async () => (await readEvents(redis, keys, name)).filter((e) => e.type === 'wave-promoted');
    const user = (await store.findUserByName(name, 'pa')) as UserRecord;
    const now = Date.now();
    await store.transition(name, user.userKey, { intent: 'generate-done', run: user.run }, now);
    await store.transition(name, user.userKey, { intent: 'deploy-begin', run: user.run }, now);
    expect(await promotions()).toEqual([]); // the canary's user is still on its workstation
    await store.transition(name, user.userKey, { intent: 'deploy-succeeded', run: user.run }, now);
    expect(await promotions()).toEqual([
      expect.objectContaining({ type: 'wave-promoted', campaign: name, wave: 2, opensAt: now + 600_000, at: now }),
    ]);
    expect((await f.fleet.campaign(name)).waves).toMatchObject({ open: 2 });
  });
});
