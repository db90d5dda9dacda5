import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { RecordStore } from '../../src/store/types.js';
import { makeSpec, seedCampaign } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';
import { type RunningTestAgent, startSshAgent } from '../helpers/ssh-agent.js';
import { generateKey, makeTempDir, makeWorkstation, Sshd, type Workstation } from '../helpers/sshd.js';

/**
 * A workstation re-installed mid-campaign presents a new host key to an agent that keeps running: refused as
 * "host key changed" until the admin forgets the pin (`hostkeys forget`) or edits known_hosts — then the same agent,
 * never restarted, accepts it (issue 10 §2.1).
 */
const CAMPAIGN = 'rekey';
let redis: Redis;
let prefix: string;
let dir: string;
let sshd: Sshd;
const ws: Workstation[] = [];
let store: RecordStore;
const logLines: string[] = [];
let agent: RunningTestAgent | undefined;

const template = (w: Workstation) =>
  `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${w.root}' {rollback}`;
const cli = (...args: string[]) => runCli(dir, prefix, args);

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

async function states(): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const name of ['user00000', 'user00001']) {
    const user = await store.findUserByName(CAMPAIGN, name);
    out[name] = user
      ? `${user.state}${user.lastError && user.state === 'failed' ? ` ${user.lastError.code}` : ''}`
      : undefined;
  }
  return out;
}

async function writeKnownHosts(lines: readonly string[]): Promise<void> {
  // As ssh-keygen -R does: a new file renamed over the old one.
  await writeFile(join(dir, 'known_hosts.tmp'), `${lines.join('\n')}\n`);
  await rename(join(dir, 'known_hosts.tmp'), join(dir, 'known_hosts'));
}

beforeAll(async () => {
  redis = connectTestRedis();
  prefix = createTestPrefix('rekey');
  dir = await makeTempDir('fleet-rekey-');
  sshd = await Sshd.create({ addresses: ['127.0.0.21', '127.0.0.22'] });
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  for (const endpoint of sshd.endpoints) ws.push(await makeWorkstation(dir, endpoint));
  await writeFile(
    join(dir, 'apply-commands.yaml'),
    ws.map((w, i) => `site-${i}: ${JSON.stringify(template(w))}`).join('\n'),
  );
  await writeFile(join(dir, 'pin-secret'), randomBytes(32).toString('hex'));
  // Host 0 is pinned on first use; host 1 is listed in known_hosts.
  await writeKnownHosts([sshd.knownHostsLine(sshd.endpoints[1]!)]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  agent = (
    await startSshAgent({
      prefix,
      logger,
      ssh: {
        sshKey: key.path,
        knownHosts: join(dir, 'known_hosts'),
        hostKeyPolicy: 'accept-new',
        hostKeyPinSecretFile: join(dir, 'pin-secret'),
        allowApplyCommands: join(dir, 'apply-commands.yaml'),
      },
    })
  ).agent;
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

describe('host keys changed under a running agent', () => {
  it('refuses the new key, then accepts it after hostkeys forget / a known_hosts edit, without a restart', async () => {
    const [pinned, listed] = sshd.endpoints as [(typeof sshd.endpoints)[0], (typeof sshd.endpoints)[0]];
    const specs = [0, 1].map((i) => makeSpec(i, sshd.endpoints[i]!.host, { site: `s${i}` }));
    const sites = Object.fromEntries(
      [0, 1].map((i) => [
        `s${i}`,
        { port: sshd.endpoints[i]!.port, staging_dir: ws[i]!.staging, apply_command: template(ws[i]!) },
      ]),
    );
    ({ store } = await seedCampaign(redis, prefix, CAMPAIGN, specs, {
      deploy: { transport: 'ssh', timeout_seconds: 60, ssh: { user: 'fleet-test', target_os: 'posix' }, sites },
    }));
    await waitFor(async () => Object.values(await states()).every((s) => s === 'applied'));

    const before = JSON.parse(cli('hostkeys', 'list', '--json', '--host-key-pin-secret-file', 'pin-secret').stdout);
    expect(before).toEqual([
      expect.objectContaining({ host: pinned.host, port: pinned.port, keyType: 'ssh-ed25519', signature: 'valid' }),
    ]);

    // Both machines re-installed: new host key (and their old sessions gone).
    sshd.killSessions();
    await sshd.stop();
    await sshd.replaceHostKey();
    await sshd.start();
    expect(cli('retry', CAMPAIGN, '--state', 'applied').code).toBe(0);
    await waitFor(async () => Object.values(await states()).every((s) => s?.startsWith('failed')));
    expect(await states()).toEqual({
      user00000: 'failed FR_ERR_SSH_HOSTKEY_CHANGED',
      user00001: 'failed FR_ERR_SSH_HOSTKEY_CHANGED',
    });

    // The admin forgets the pin of one and fixes known_hosts for the other; the agent keeps running.
    const forget = cli('hostkeys', 'forget', `${pinned.host}:${pinned.port}`);
    expect(forget.stdout).toContain(`forgot the pinned host key of ${pinned.host}:${pinned.port}`);
    expect(JSON.parse(cli('hostkeys', 'list', '--json').stdout)).toEqual([]);
    await writeKnownHosts([sshd.knownHostsLine(listed)]);
    expect(cli('retry', CAMPAIGN).code).toBe(0);
    await waitFor(async () => Object.values(await states()).every((s) => s === 'applied' || s?.startsWith('failed')));
    expect(await states()).toEqual({ user00000: 'applied', user00001: 'applied' });

    const after = JSON.parse(cli('hostkeys', 'list', '--json').stdout) as { fingerprint: string }[];
    expect(after).toHaveLength(1);
    expect(after[0]?.fingerprint).not.toBe(before[0].fingerprint);
    const audit = JSON.parse(cli('hostkeys', 'forget', 'nowhere.example', '--json').stdout);
    expect(audit).toEqual({ host: 'nowhere.example', port: 22, forgotten: false });
    const trail = await redis.xrevrange(`${prefix}:fr:audit`, '+', '-', 'COUNT', 5);
    expect(trail.map(([, fields]) => JSON.parse(fields[1] ?? '{}').action)).toEqual([
      'hostkeys-forget',
      'hostkeys-forget',
    ]);
  }, 90_000);
});
