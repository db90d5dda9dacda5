import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackUsers } from '../../src/campaign/act-on-users.js';
import { createLogger } from '../../src/log/logger.js';
import type { RecordStore } from '../../src/store/types.js';
import { makeSpec, seedCampaign, waitForFinal } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { type RunningTestAgent, startSshAgent } from '../helpers/ssh-agent.js';
import { generateKey, makeTempDir, makeWorkstation, Sshd, type Workstation } from '../helpers/sshd.js';

/** The real pipeline (BullMQ agent, records in Redis) deploying over the ssh transport to real sshd daemons. */
const PASSPHRASE = `pp-${randomBytes(8).toString('hex')}`;
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const SETUP = 'Software/Microsoft/Office/16.0/Outlook/Setup';
const CAMPAIGN = 'ssh-pipeline';

let redis: Redis;
let prefix: string;
let dir: string;
let siteA: Sshd;
let siteB: Sshd;
let wsA: Workstation;
let wsB: Workstation;
const logLines: string[] = [];
let agent: RunningTestAgent | undefined;

function siteSettings(sshd: Sshd, ws: Workstation) {
  return {
    port: sshd.endpoints[0]!.port,
    staging_dir: ws.staging,
    apply_command: `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`,
  };
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

/** Every value stored under the test prefix, whatever its Redis type. */
async function dumpRecords(client: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', '500');
    cursor = next;
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'string') parts.push(String(await client.get(key)));
      else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await client.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await client.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await client.zrange(key, '0', '-1')));
      else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

beforeAll(async () => {
  redis = connectTestRedis();
  prefix = createTestPrefix('ssh-pipeline');
  dir = await makeTempDir('fleet-ssh-pipeline-');
  siteA = await Sshd.create({ addresses: ['127.0.0.8'] });
  siteB = await Sshd.create({ addresses: ['127.0.0.9'] });
  const key = await generateKey(dir, 'deploy_key', PASSPHRASE);
  await siteA.authorize([key.publicLine]);
  await siteB.authorize([key.publicLine]);
  wsA = await makeWorkstation(dir, siteA.endpoints[0]!);
  wsB = await makeWorkstation(dir, siteB.endpoints[0]!);
  await writeFile(join(dir, 'passphrase'), PASSPHRASE);
  // The stand-in needs each workstation's root: the agents' own allow-list names the two templates.
  await writeFile(
    join(dir, 'apply-commands.yaml'),
    `site-a: ${JSON.stringify(siteSettings(siteA, wsA).apply_command)}\nsite-b: ${JSON.stringify(siteSettings(siteB, wsB).apply_command)}\n`,
  );
  await writeFile(join(dir, 'password'), PASSWORD);
  await writeFile(
    join(dir, 'known_hosts'),
    `${siteA.knownHostsLine(siteA.endpoints[0]!)}\n${siteB.knownHostsLine(siteB.endpoints[0]!)}\n`,
  );
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  // The agent command's parsed flags, turned into the registry hook by the helper the `agent` command uses.
  agent = (
    await startSshAgent({
      prefix,
      logger,
      ssh: {
        sshKey: key.path,
        sshKeyPassphraseFile: join(dir, 'passphrase'),
        sshPasswordFile: join(dir, 'password'),
        knownHosts: join(dir, 'known_hosts'),
        hostKeyPolicy: 'strict',
        allowApplyCommands: join(dir, 'apply-commands.yaml'),
      },
      concurrency: 8,
    })
  ).agent;
});

afterAll(async () => {
  await agent?.stop();
  await siteA?.close();
  await siteB?.close();
  if (redis) {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pipeline over ssh', () => {
  it('applies through a real agent, retries while a site is down and after exit 75, rolls back, leaks no secret', async () => {
    await siteB.stop();
    await writeFile(join(wsA.root, 'fault'), 'exit=75\ntimes=1\nuser=user00000\n');
    const specs = Array.from({ length: 8 }, (_, i) =>
      makeSpec(i, i % 2 === 0 ? '127.0.0.8' : '127.0.0.9', { site: i % 2 === 0 ? 'a' : 'b' }),
    );
    const { store, queues } = await seedCampaign(redis, prefix, CAMPAIGN, specs, {
      retry: { max_attempts: 1000, base_delay_seconds: 0.1, max_delay_seconds: 0.3, jitter: 0, horizon_hours: 1 },
      deploy: {
        transport: 'ssh',
        timeout_seconds: 60,
        ssh: { user: 'fleet-test', target_os: 'posix' },
        sites: { a: siteSettings(siteA, wsA), b: siteSettings(siteB, wsB) },
      },
    });
    const stateOf = async (s: RecordStore, name: string) => (await s.findUserByName(CAMPAIGN, name))?.state;

    // Site b refuses connections: its users wait in `retrying` with the transient code, none fails.
    await waitFor(async () => {
      const user = await store.findUserByName(CAMPAIGN, 'user00001');
      return user?.state === 'retrying' && user.lastError?.code === 'FR_ERR_SSH_CONNECT_REFUSED' && user.attempts >= 2;
    });
    expect((await store.countByState(CAMPAIGN)).failed ?? 0).toBe(0);
    await siteB.start();

    const counts = await waitForFinal(store, CAMPAIGN, specs.length);
    expect(counts.applied).toBe(specs.length);
    const busy = await store.getAttempts(CAMPAIGN, (await store.findUserByName(CAMPAIGN, 'user00000'))!.userKey);
    expect(busy.map((a) => a.code ?? a.outcome).sort()).toEqual(['FR_ERR_REMOTE_TEMPORARY', 'applied']);
    const importPrf = join(wsB.root, 'registry', 'user00003', SETUP, 'ImportPRF');
    expect(await readFile(importPrf, 'utf8')).toBe(`${join(wsB.staging, CAMPAIGN, 'user00003.prf')}\n`);

    const rolled = await rollbackUsers(store, queues, CAMPAIGN, { user: 'user00003' }, Date.now());
    // the campaign had finished (every user applied): the rollback reopens it
    expect(rolled).toEqual({ moved: 1, refused: {}, campaignState: 'running' });
    await waitFor(async () => (await stateOf(store, 'user00003')) === 'rolled-back');
    expect(existsSync(importPrf)).toBe(false);
    expect(await stateOf(store, 'user00005')).toBe('applied');

    const everything = `${logLines.join('')}\n${await dumpRecords(redis)}`;
    expect(everything).toContain('user00003');
    expect(everything).not.toContain(PASSPHRASE);
    expect(everything).not.toContain(PASSWORD);
  });
});
