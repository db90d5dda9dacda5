import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { createStoreKeys } from '../../src/store/keys.js';
import { makeSpec, seedCampaign, waitForFinal } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { type RunningTestAgent, startSshAgent } from '../helpers/ssh-agent.js';
import { generateKey, makeTempDir, makeWorkstation, Sshd, type Workstation } from '../helpers/sshd.js';

/**
 * The test plays whoever can write to Redis (docs/security.md, "Redis writer"): it rewrites a campaign's stored apply
 * command and plants host-key pins. Real agents, real sshd, real Redis: nothing new runs on the workstation and the
 * affected users fail with a clear permanent code.
 */
const SETUP = 'Software/Microsoft/Office/16.0/Outlook/Setup';

let redis: Redis;
let dir: string;
let sshd: Sshd;
let wsGood: Workstation;
let wsTarget: Workstation;
let keyPath: string;
const prefixes: string[] = [];
const agents: Array<RunningTestAgent> = [];

const standIn = (ws: Workstation): string =>
  `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;

async function startTestAgent(prefix: string, flags: Record<string, unknown>) {
  const logger = createLogger({ level: 'warn' });
  const agent = (
    await startSshAgent({
      prefix,
      logger,
      ssh: { sshKey: keyPath, ...flags },
      graceMs: 2_000,
    })
  ).agent;
  agents.push(agent);
  return agent;
}

function deployTo(ws: Workstation, host: Sshd['endpoints'][number], applyCommand: string) {
  return {
    deploy: {
      transport: 'ssh',
      timeout_seconds: 60,
      ssh: {
        user: 'fleet-test',
        target_os: 'posix',
        port: host.port,
        staging_dir: ws.staging,
        apply_command: applyCommand,
      },
    },
  };
}

beforeAll(async () => {
  redis = connectTestRedis();
  dir = await makeTempDir('fleet-redis-writer-');
  sshd = await Sshd.create({ addresses: ['127.0.0.12', '127.0.0.13'] });
  const key = await generateKey(dir, 'deploy_key');
  keyPath = key.path;
  await sshd.authorize([key.publicLine]);
  wsGood = await makeWorkstation(dir, sshd.endpoints[0]!);
  wsTarget = await makeWorkstation(dir, sshd.endpoints[1]!);
  await writeFile(join(dir, 'known_hosts'), `${sshd.endpoints.map((e) => sshd.knownHostsLine(e)).join('\n')}\n`);
  // The agent host's own allow-list: the stand-in needs each workstation's root.
  await writeFile(
    join(dir, 'apply-commands.yaml'),
    `stand-in-good: ${JSON.stringify(standIn(wsGood))}\nstand-in-target: ${JSON.stringify(standIn(wsTarget))}\n`,
  );
  await writeFile(join(dir, 'pin-secret'), `${randomBytes(32).toString('hex')}\n`);
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await sshd?.close();
  if (redis) {
    for (const prefix of prefixes) await deletePrefix(redis, prefix);
    redis.disconnect();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a Redis writer cannot make agents run commands', () => {
  it("rewriting a campaign's stored apply command runs nothing and fails its users with FR_ERR_APPLY_COMMAND_NOT_ALLOWED", async () => {
    const prefix = createTestPrefix('redis-writer');
    prefixes.push(prefix);
    await startTestAgent(prefix, {
      knownHosts: join(dir, 'known_hosts'),
      hostKeyPolicy: 'strict',
      allowApplyCommands: join(dir, 'apply-commands.yaml'),
    });
    const [good, target] = sshd.endpoints as [Sshd['endpoints'][number], Sshd['endpoints'][number]];

    // Legitimate: the campaign names a template of the agent's allow-list → applied.
    const legit = await seedCampaign(redis, prefix, 'legit', [makeSpec(1, good.host)], {
      ...deployTo(wsGood, good, 'stand-in-good'),
    });
    expect((await waitForFinal(legit.store, 'legit', 1)).applied).toBe(1);
    expect(existsSync(join(wsGood.root, 'registry', 'user00001', SETUP, 'ImportPRF'))).toBe(true);

    // The attacker edits the stored settings of a campaign before its users deploy (HSET on the campaign hash).
    const owned = join(dir, 'owned.txt');
    const payload = `id > '${owned}'; printf '{"status":"applied"}' # {user}`;
    const seeded = await seedCampaign(
      redis,
      prefix,
      'hijack',
      [makeSpec(2, target.host), makeSpec(3, target.host)],
      deployTo(wsTarget, target, 'stand-in-target'),
      { enqueue: false },
    );
    const campaignKey = createStoreKeys(prefix).campaign('hijack');
    const settings = JSON.parse((await redis.hget(campaignKey, 'settings')) ?? '{}');
    settings.deploy.ssh.apply_command = payload;
    // a per-site entry too, the other place an apply command lives
    settings.deploy.sites = { hq: { apply_command: `${payload} {script} {prf}` } };
    await redis.hset(campaignKey, 'settings', JSON.stringify(settings));
    await seeded.queues.enqueueGenerate('hijack', seeded.queued);

    const counts = await waitForFinal(seeded.store, 'hijack', 2);
    expect(counts.failed).toBe(2);
    for (const name of ['user00002', 'user00003']) {
      const user = await seeded.store.findUserByName('hijack', name);
      expect(user?.state).toBe('failed');
      expect(user?.lastError?.code).toBe('FR_ERR_APPLY_COMMAND_NOT_ALLOWED');
      expect(user?.lastError?.message).toMatch(/not on this agent's allow-list/);
      // the refused text is never echoed back (it is the attacker's)
      expect(user?.lastError?.message).not.toContain('owned');
    }
    expect(existsSync(owned)).toBe(false);
    // refused before connecting: nothing was uploaded or applied on the workstation
    expect(existsSync(join(wsTarget.staging, 'hijack'))).toBe(false);
    expect(existsSync(join(wsTarget.root, 'registry'))).toBe(false);
  });

  it('a host-key pin planted in Redis is not trusted: the user fails with FR_ERR_SSH_HOSTKEY_PIN_INVALID, nothing runs', async () => {
    const prefix = createTestPrefix('redis-writer-pin');
    prefixes.push(prefix);
    await startTestAgent(prefix, {
      hostKeyPolicy: 'accept-new',
      hostKeyPinSecretFile: join(dir, 'pin-secret'),
      allowApplyCommands: join(dir, 'apply-commands.yaml'),
    });
    const [good, target] = sshd.endpoints as [Sshd['endpoints'][number], Sshd['endpoints'][number]];
    const pins = `${prefix}:ssh-hostkeys`;

    // The attacker pins its own (man-in-the-middle) key for one host, with a made-up signature.
    const mitm = (await generateKey(dir, 'mitm_host_key')).publicLine.split(' ');
    await redis.hset(
      pins,
      `${target.host}:${target.port}`,
      `${mitm[0]} ${mitm[1]} v1:${randomBytes(32).toString('base64')}`,
    );

    const { store } = await seedCampaign(
      redis,
      prefix,
      'pinned',
      [makeSpec(4, good.host, { site: 'good' }), makeSpec(5, target.host, { site: 'target' })],
      {
        deploy: {
          transport: 'ssh',
          timeout_seconds: 60,
          ssh: { user: 'fleet-test', target_os: 'posix' },
          sites: {
            good: { port: good.port, staging_dir: wsGood.staging, apply_command: 'stand-in-good' },
            target: { port: target.port, staging_dir: wsTarget.staging, apply_command: 'stand-in-target' },
          },
        },
      },
    );
    await waitForFinal(store, 'pinned', 2);
    // An unpinned host is pinned on first use (signed) and deployed.
    expect((await store.findUserByName('pinned', 'user00004'))?.state).toBe('applied');
    expect(await redis.hget(pins, `${good.host}:${good.port}`)).toMatch(/^ssh-ed25519 \S+ v1:\S+$/);
    const victim = await store.findUserByName('pinned', 'user00005');
    expect(victim?.state).toBe('failed');
    expect(victim?.lastError?.code).toBe('FR_ERR_SSH_HOSTKEY_PIN_INVALID');
    expect(victim?.lastError?.message).toContain('not signed');
    expect(existsSync(join(wsTarget.staging, 'pinned'))).toBe(false);
    expect(existsSync(join(wsTarget.root, 'registry', 'user00005'))).toBe(false);
    // the planted pin is left for an admin to look at, not silently replaced
    expect(await redis.hget(pins, `${target.host}:${target.port}`)).toContain(mitm[1]);
    const secret = (await readFile(join(dir, 'pin-secret'), 'utf8')).trim();
    expect(JSON.stringify(await redis.hgetall(pins))).not.toContain(secret);
  });
});
