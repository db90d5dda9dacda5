import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForConnectionToken } from '../../src/jobs/deploy-slot.js';
import { resolveRateScopes } from '../../src/rollout/deploy-caps.js';
import { createDeploySlots } from '../../src/store/deploy-slots.js';
import { createHostKeyVerifier, type HostKeyVerifier, parseKnownHosts } from '../../src/transport/ssh/index.js';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import type { SshCredentials } from '../../src/transport/ssh/options.js';
import { createSshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type SshdEndpoint,
  type Workstation,
} from '../helpers/sshd.js';

/** `caps.site_connections_per_second` through the real ssh transport: new connections wait for a token, reuses do not. */
const prefix = createTestPrefix('ssh-connect-rate');
const redis = connectTestRedis();
const slots = createDeploySlots(redis, prefix);
let sshd: Sshd;
let dir: string;
let credentials: SshCredentials;
let hostKeys: HostKeyVerifier;
const stations = new Map<SshdEndpoint, Workstation>();

function template(ws: Workstation): string {
  return `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
}

beforeAll(async () => {
  ensureTestAccount();
  sshd = await Sshd.create({ addresses: ['127.0.0.5', '127.0.0.6'] });
  dir = await makeTempDir('fleet-ssh-rate-');
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  for (const endpoint of sshd.endpoints) stations.set(endpoint, await makeWorkstation(dir, endpoint));
  credentials = await loadSshCredentials({ keyPath: key.path });
  hostKeys = createHostKeyVerifier({
    knownHosts: parseKnownHosts(sshd.endpoints.map((e) => sshd.knownHostsLine(e)).join('\n')),
    policy: 'strict',
  });
});

afterAll(async () => {
  await sshd?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

async function applyMany(reuse: boolean, site: string, users: number) {
  const transport = await createSshTransport({
    applyAllowList: new Map([...stations.values()].map((ws, i) => [`ws${i}`, template(ws)])),
    credentials,
    hostKeys,
    reuseConnections: reuse,
    timeouts: { commandMs: 20_000 },
  });
  const rates = resolveRateScopes({ perHost: 8, sites: {}, leaseMs: 60_000, siteConnectionsPerSecond: 4 }, site);
  const granted: number[] = [];
  const beforeConnect = async (signal: AbortSignal) => {
    await waitForConnectionToken(slots, rates, Math.random, signal);
    granted.push(Date.now());
  };
  try {
    await Promise.all(
      Array.from({ length: users }, (_, i) => {
        const endpoint = sshd.endpoints[i % sshd.endpoints.length]!;
        const ws = stations.get(endpoint)!;
        const bytes = Buffer.from(`[General]\r\nProfileName=u${i}\r\n`, 'latin1');
        return transport.apply({
          campaign: `rate-${site}`,
          user: `u${i}`,
          office: '11.0',
          artifact: { fileName: `u${i}.prf`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') },
          target: {
            host: endpoint.host,
            port: endpoint.port,
            login: 'fleet-test',
            targetOs: 'posix',
            stagingDir: ws.staging,
            applyCommand: template(ws),
          },
          signal: new AbortController().signal,
          beforeConnect,
        });
      }),
    );
  } finally {
    await transport.close();
  }
  return { granted, dials: transport.stats.dials };
}

describe('connection rate on the ssh transport', { timeout: 60_000 }, () => {
  it('a new connection per user: every dial waits for a token, 10 dials at 4/s spread over 1.5 s', async () => {
    const { granted, dials } = await applyMany(false, 'NEW', 10);
    expect(dials).toBe(10);
    expect(granted).toHaveLength(10);
    // A full bucket lets 4 go at once, then 6 more come at 4 a second: the 10th token 1.5 s after the first.
    granted.sort((a, b) => a - b);
    expect(granted[9]! - granted[0]!).toBeGreaterThanOrEqual(1400);
  });

  it('reused connections: only the dials take a token', async () => {
    const { granted, dials } = await applyMany(true, 'REUSE', 8);
    expect(dials).toBe(2);
    expect(granted).toHaveLength(2);
  });
});
