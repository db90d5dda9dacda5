import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Fleet, openFleet } from '../../src/app/open-fleet.js';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { createLogger } from '../../src/log/logger.js';
import { FINAL_USER_STATES, type UserState } from '../../src/rollout/states.js';
import { type RunningAgent, startAgent } from '../../src/workers/start-agent.js';
import { FAST_RETRY } from './pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from './redis.js';

export const CSV_HEADER = 'username,mailbox,exchange_server,proxy,auth,host,site,office,profile_name';

/** A CSV row for user `name` on `host` (Outlook 2003, NTLM over https). */
export function csvRow(name: string, host: string, site = 'lyon'): string {
  return `${name},${name},exch01.corp.example.com,https://mail.example.com,ntlm,${host},${site},11.0,Outlook`;
}

/**
 * A fleet on the shared test Redis under its own prefix, simulated workstations in a temp folder, and in-process
 * agents on the local transport (the POSIX stand-in as the workstation).
 */
export interface FleetFixture {
  readonly fleet: Fleet;
  readonly prefix: string;
  readonly root: string;
  readonly dir: string;
  writeCsv(name: string, rows: readonly string[]): string;
  startAgent(overrides?: Record<string, unknown>): Promise<RunningAgent>;
  waitFor(
    campaign: string,
    predicate: (counts: Record<UserState, number>) => boolean,
    ms?: number,
  ): Promise<Record<UserState, number>>;
  waitForFinal(campaign: string, users: number): Promise<Record<UserState, number>>;
  settings(overrides?: Record<string, unknown>): ReturnType<typeof campaignFileSchema.parse>;
  close(): Promise<void>;
}

export async function createFleetFixture(name: string, redisUrl = TEST_REDIS_URL): Promise<FleetFixture> {
  const prefix = createTestPrefix(name);
  const dir = mkdtempSync(join(tmpdir(), `fleet-${name}-`));
  const root = join(dir, 'hosts');
  const fleet = await openFleet(resolveConfig({ flags: { redisUrl, prefix, reportDir: join(dir, 'reports') } }));
  const agents: RunningAgent[] = [];
  const logger = createLogger({ level: 'silent' });
  const fixture: FleetFixture = {
    fleet,
    prefix,
    root,
    dir,
    writeCsv(file, rows) {
      const path = join(dir, file);
      writeFileSync(path, `${CSV_HEADER}\n${rows.join('\n')}\n`);
      return path;
    },
    async startAgent(overrides = {}) {
      const agent = await startAgent({
        redisUrl,
        prefix,
        roles: ['generate', 'deploy'],
        concurrency: 8,
        lockMs: 5000,
        stalledMs: 2000,
        maxStalls: 5,
        pollMs: 100,
        graceMs: 5000,
        localRoot: root,
        logger,
        ...overrides,
      } as Parameters<typeof startAgent>[0]);
      agents.push(agent);
      return agent;
    },
    async waitFor(campaign, predicate, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const counts = await fleet.internals.store.countByState(campaign);
        if (predicate(counts)) return counts;
        if (Date.now() > deadline) throw new Error(`timed out waiting; counts ${JSON.stringify(counts)}`);
        await new Promise((resume) => setTimeout(resume, 50));
      }
    },
    waitForFinal(campaign, users) {
      return fixture.waitFor(campaign, (counts) => FINAL_USER_STATES.reduce((sum, s) => sum + counts[s], 0) >= users);
    },
    settings(overrides = {}) {
      return campaignFileSchema.parse({ retry: FAST_RETRY, ...overrides });
    },
    async close() {
      await Promise.allSettled(agents.map((agent) => agent.stop()));
      const redis = connectTestRedis(redisUrl);
      await deletePrefix(redis, prefix).catch(() => 0);
      redis.disconnect();
      await fleet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}
