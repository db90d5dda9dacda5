import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScheduledReverify } from '../../src/campaign/verify-users.js';
import { createLogger } from '../../src/log/logger.js';
import { encodeRpcFlags, formatPtLong } from '../../src/profile/rpc-flags.js';
import { PENDING_RESTART_NOTE } from '../../src/rollout/remote-result.js';
import { createDeploySlots } from '../../src/store/deploy-slots.js';
import { createVerificationStore } from '../../src/store/verification-store.js';
import type { Transport } from '../../src/transport/transport.js';
import { makeSpec, seedCampaign } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { type RunningTestAgent, startSshAgent } from '../helpers/ssh-agent.js';
import { generateKey, makeTempDir, makeWorkstation, Sshd, type Workstation } from '../helpers/sshd.js';

/**
 * The agent's scheduled re-verify (issue 11 §3): a user staged while Outlook ran (`applied-pending-restart`) is
 * looked at again by the campaign's cron job, over the campaign's own ssh transport (real sshd, the POSIX stand-in
 * at the far end), inside its site's window only, until the stand-in reports that Outlook consumed the PRF.
 */
const CAMPAIGN = 'reverify';
const OUTLOOK = 'Software/Microsoft/Office/16.0/Outlook';

let redis: Redis;
let prefix: string;
let dir: string;
let sshd: Sshd;
let ws: Workstation;
let createSsh: (() => Promise<Transport>) | undefined;
let agent: RunningTestAgent | undefined;

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `HH:MM` in UTC of an instant rounded down to the minute. */
function hhmm(at: number): string {
  return new Date(at).toISOString().slice(11, 16);
}

beforeAll(async () => {
  redis = connectTestRedis();
  prefix = createTestPrefix('reverify');
  dir = await makeTempDir('fleet-reverify-');
  sshd = await Sshd.create({ addresses: ['127.0.0.31'] });
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  ws = await makeWorkstation(dir, sshd.endpoints[0]!);
  await writeFile(join(dir, 'apply-commands.yaml'), `stand-in: ${JSON.stringify(applyCommand())}\n`);
  await writeFile(join(dir, 'known_hosts'), `${sshd.knownHostsLine(sshd.endpoints[0]!)}\n`);
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  ({ agent, createSsh } = await startSshAgent({
    prefix,
    logger,
    ssh: {
      sshKey: key.path,
      knownHosts: join(dir, 'known_hosts'),
      hostKeyPolicy: 'strict',
      allowApplyCommands: join(dir, 'apply-commands.yaml'),
    },
  }));
});

afterAll(async () => {
  await agent?.stop();
  await sshd?.close();
  if (redis) {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

function applyCommand(): string {
  return `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
}

describe('scheduled re-verify', () => {
  it('re-verifies a pending-restart user inside the window until Outlook took the PRF, never outside it', async () => {
    // Outlook runs in every session of the workstation (the stand-in's switch): the apply stages anyway.
    await writeFile(join(ws.root, 'outlook-running'), '');
    const now = Date.now();
    const spec = makeSpec(0, '127.0.0.31', { site: 'lyon' });
    const { store } = await seedCampaign(redis, prefix, CAMPAIGN, [spec], {
      deploy: {
        transport: 'ssh',
        timeout_seconds: 30,
        stage_while_outlook_runs: true,
        ssh: {
          user: 'fleet-test',
          port: sshd.endpoints[0]!.port,
          target_os: 'posix',
          staging_dir: ws.staging,
          apply_command: applyCommand(),
        },
      },
      // A window open from an hour ago to two hours from now (UTC), and the recurring job every second.
      schedule: {
        timezone: 'UTC',
        windows: [{ days: ['daily'], hours: `${hhmm(now - 3_600_000)}-${hhmm(now + 7_200_000)}` }],
        retry: { cron: '* * * * * *' },
      },
      caps: { max_in_flight: 2 },
    });
    const userKey = (await store.findUserByName(CAMPAIGN, spec.username))!.userKey;
    await waitFor(async () => (await store.getUser(CAMPAIGN, userKey))?.state === 'applied');
    const attempts = await store.getAttempts(CAMPAIGN, userKey);
    expect(attempts.find((a) => a.outcome === 'applied')?.message).toBe(PENDING_RESTART_NOTE);

    // The agent's cron job looks at it inside the window: Outlook has not restarted yet.
    const verifications = createVerificationStore(redis, prefix);
    await waitFor(async () => (await verifications.get(CAMPAIGN, userKey))?.status === 'pending-restart');

    // Outside the window (the same job with a clock 12 hours later) nobody is looked at.
    const transport = await createSsh!();
    const slots = createDeploySlots(redis, prefix);
    try {
      const outside = await runScheduledReverify(store, CAMPAIGN, async () => transport, {
        verifications,
        concurrency: 4,
        now: () => now + 12 * 3_600_000,
        slots,
      });
      expect(outside).toMatchObject({ checked: 0, closedSites: ['lyon'], busy: 0 });

      // Outlook's next clean start: ImportPRF consumed, FirstRun recreated, the profile built from the PRF.
      await rm(join(ws.root, 'outlook-running'));
      const outlook = join(ws.root, 'registry', spec.username, OUTLOOK);
      await rm(join(outlook, 'Setup', 'ImportPRF'));
      await writeFile(join(outlook, 'Setup', 'FirstRun'), '1\n');
      await mkdir(join(outlook, 'Profile'), { recursive: true });
      await writeFile(join(outlook, 'Profile', 'RPCProxyServer'), `${spec.proxyHost}\n`);
      await writeFile(join(outlook, 'Profile', 'RPCoverHTTPflags'), `${formatPtLong(encodeRpcFlags(spec))}\n`);

      await waitFor(async () => (await verifications.get(CAMPAIGN, userKey))?.status === 'verified');
      expect((await store.getUser(CAMPAIGN, userKey))?.state).toBe('applied');
      // A verified user is not looked at again, and every look gave its deploy slot back.
      const inside = await runScheduledReverify(store, CAMPAIGN, async () => transport, {
        verifications,
        concurrency: 4,
        now: Date.now,
        slots,
      });
      expect(inside).toMatchObject({ checked: 0, closedSites: [], busy: 0 });
      expect((await slots.counts(['lyon'])).global).toBe(0);
    } finally {
      await transport.close();
    }
  }, 60_000);
});
