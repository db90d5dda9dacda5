/**
 * SSH deploy benchmark (npm run bench:ssh): N users across M loopback sshd "workstations" (several daemons,
 * ≤ 16 ListenAddress each), at concurrency 10 and 50, on the same hosts in one run:
 *   - pipeline: fleet-rollout end to end — an in-process BullMQ agent (generate + deploy jobs, records in Redis)
 *               over a campaign whose sites point at the hosts, with the ssh transport (the headline ratio);
 *   - fleet:    the ssh transport alone (host-key check, SFTP .tmp + verify + rename, apply script, result parsing),
 *               connections shared per host as shipped;
 *   - fleet-1:  the transport with connection reuse off (one connection per user: the one-user-per-laptop case);
 *   - raw:      a plain node-ssh loop per user: connect + putFile + execCommand (same apply script) + dispose.
 * Prints users/s and writes bench/results/ssh.json. Env: BENCH_USERS (2000), BENCH_DAEMONS (3), BENCH_HOSTS_PER (16).
 */
import { createHash } from 'node:crypto';
import { chown, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeSSH } from 'node-ssh';
import { createLogger } from '../src/log/logger.js';
import { createHostKeyVerifier, loadSshCredentials, parseKnownHosts } from '../src/transport/ssh/index.js';
import { createSshTransport, type SshTransport } from '../src/transport/ssh/ssh-transport.js';
import type { DeployTarget } from '../src/transport/transport.js';
import { startAgent } from '../src/workers/start-agent.js';
import { makeSpec, seedCampaign, waitForFinal } from '../test/helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../test/helpers/redis.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type Workstation,
} from '../test/helpers/sshd.js';

const USERS = Number(process.env['BENCH_USERS'] ?? 2000);
const DAEMONS = Number(process.env['BENCH_DAEMONS'] ?? 3);
const HOSTS_PER_DAEMON = Math.min(16, Number(process.env['BENCH_HOSTS_PER'] ?? 16));
const CONCURRENCIES = [10, 50];

interface Host {
  readonly host: string;
  readonly port: number;
  readonly ws: Workstation;
}

interface ArmResult {
  readonly usersPerSecond: number;
  readonly seconds: number;
  readonly failures: number;
  readonly connections?: number;
}

async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failures = 0;
  const firstErrors: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        try {
          await work(item);
        } catch (error) {
          failures += 1;
          if (firstErrors.length < 3) firstErrors.push(String((error as Error).message));
        }
      }
    }),
  );
  if (firstErrors.length > 0) console.error('  first failures:', firstErrors);
  return failures;
}

function commandFor(host: Host, script: string): string {
  return `sh ${script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${host.ws.root}' {rollback}`;
}

async function main(): Promise<void> {
  const account = ensureTestAccount();
  const dir = await makeTempDir('fleet-bench-ssh-');
  const key = await generateKey(dir, 'bench_key');
  const daemons: Sshd[] = [];
  for (let d = 0; d < DAEMONS; d++) {
    const addresses = Array.from({ length: HOSTS_PER_DAEMON }, (_, i) => `127.0.${10 + d}.${i + 2}`);
    // Both arms dial many hosts of one daemon at once: raise MaxStartups so neither loses connections to it.
    const sshd = await Sshd.create({ addresses, extraConfig: ['MaxStartups 200:30:400'] });
    await sshd.authorize([key.publicLine]);
    daemons.push(sshd);
  }
  const hosts: Host[] = [];
  for (const sshd of daemons) {
    for (const e of sshd.endpoints) hosts.push({ ...e, ws: await makeWorkstation(dir, e) });
  }
  const knownHosts = parseKnownHosts(daemons.flatMap((s) => s.endpoints.map((e) => s.knownHostsLine(e))).join('\n'));
  const credentials = await loadSshCredentials({ keyPath: key.path });
  const hostKeys = createHostKeyVerifier({ knownHosts, policy: 'strict' });

  // The raw loop runs the same apply script, installed beforehand (the transport pushes its own copy).
  const agentScript = new URL('../agent/posix/apply-profile.sh', import.meta.url);
  const localPrfDir = join(dir, 'local-prf');
  await mkdir(localPrfDir);
  for (const h of hosts) await copyFile(agentScript, join(h.ws.root, 'apply-profile.sh'));
  const users = Array.from({ length: USERS }, (_, i) => {
    const name = `bench.user${String(i).padStart(5, '0')}`;
    const bytes = Buffer.from(`[General]\r\nProfileName=Outlook\r\nCustom=1\r\n[Service1]\r\nMailboxName=${name}\r\n`);
    return {
      name,
      host: hosts[i % hosts.length] as Host,
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  });
  for (const u of users) await writeFile(join(localPrfDir, `${u.name}.prf`), u.bytes);
  // The raw loop gets its staging folders made beforehand, so it is exactly connect + put + exec + dispose.
  for (const h of hosts) {
    for (const c of CONCURRENCIES) {
      const d = join(h.ws.staging, `bench-raw-c${c}`);
      await mkdir(d, { recursive: true });
      await chown(d, account.uid, account.gid);
    }
  }

  async function runFleet(campaign: string, concurrency: number, reuse: boolean): Promise<ArmResult> {
    const transport: SshTransport = await createSshTransport({ credentials, hostKeys, reuseConnections: reuse });
    const started = performance.now();
    const failures = await runPool(users, concurrency, async (u) => {
      const target: DeployTarget = {
        host: u.host.host,
        port: u.host.port,
        login: account.login,
        targetOs: 'posix',
        stagingDir: u.host.ws.staging,
        applyCommand: commandFor(u.host, '{script}'),
      };
      await transport.apply({
        campaign,
        user: u.name,
        office: '16.0',
        artifact: { fileName: `${u.name}.prf`, bytes: u.bytes, sha256: u.sha256 },
        target,
        signal: AbortSignal.timeout(120_000),
      });
    });
    const seconds = (performance.now() - started) / 1000;
    const connections = transport.stats.dials;
    await transport.close();
    return { usersPerSecond: USERS / seconds, seconds, failures, connections };
  }

  /** fleet-rollout end to end: a BullMQ agent (generate + deploy) over a campaign, ssh transport, records in Redis. */
  async function runPipeline(campaign: string, concurrency: number): Promise<ArmResult> {
    const redis = connectTestRedis();
    const prefix = createTestPrefix('bench-ssh');
    const sites = Object.fromEntries(
      hosts.map((h, i) => [
        `s${i}`,
        { port: h.port, staging_dir: h.ws.staging, apply_command: commandFor(h, '{script}') },
      ]),
    );
    const specs = users.map((u, i) =>
      makeSpec(i, u.host.host, { username: u.name, mailbox: u.name, site: `s${hosts.indexOf(u.host)}` }),
    );
    const { store, queues, queued } = await seedCampaign(
      redis,
      prefix,
      campaign,
      specs,
      {
        deploy: {
          transport: 'ssh',
          timeout_seconds: 120,
          ssh: { user: account.login, target_os: 'posix' },
          sites,
        },
      },
      { enqueue: false },
    );
    let transport: SshTransport | undefined;
    const agent = await startAgent({
      redisUrl: TEST_REDIS_URL,
      prefix,
      roles: ['generate', 'deploy'],
      concurrency,
      lockMs: 60_000,
      stalledMs: 30_000,
      maxStalls: 5,
      pollMs: 100,
      graceMs: 10_000,
      logger: createLogger({ level: 'warn' }),
      transportKinds: ['ssh'],
      createSsh: async () => {
        transport = await createSshTransport({ credentials, hostKeys });
        return transport;
      },
    });
    const started = performance.now();
    await queues.enqueueGenerate(campaign, queued);
    const counts = await waitForFinal(store, campaign, users.length);
    const seconds = (performance.now() - started) / 1000;
    const connections = transport?.stats.dials;
    await agent.stop();
    await queues.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
    const failures = users.length - (counts.applied ?? 0);
    return { usersPerSecond: USERS / seconds, seconds, failures, ...(connections !== undefined && { connections }) };
  }

  async function runRaw(campaign: string, concurrency: number): Promise<ArmResult> {
    const started = performance.now();
    const failures = await runPool(users, concurrency, async (u) => {
      const ssh = new NodeSSH();
      await ssh.connect({ host: u.host.host, port: u.host.port, username: account.login, privateKeyPath: key.path });
      try {
        const remoteDir = `${u.host.ws.staging}/${campaign}`;
        const remote = `${remoteDir}/${u.name}.prf`;
        await ssh.putFile(join(localPrfDir, `${u.name}.prf`), remote);
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const result = await ssh.execCommand(
          `sh ${q(`${u.host.ws.root}/apply-profile.sh`)} --campaign ${q(campaign)} --user ${q(u.name)} --prf ${q(remote)} --office 16.0 --checksum ${u.sha256} --root ${q(u.host.ws.root)}`,
        );
        if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
      } finally {
        ssh.dispose();
      }
    });
    const seconds = (performance.now() - started) / 1000;
    return { usersPerSecond: USERS / seconds, seconds, failures };
  }

  const results: Record<string, Record<string, ArmResult | number>> = {};
  try {
    for (const c of CONCURRENCIES) {
      console.log(`concurrency ${c}: ${USERS} users on ${hosts.length} hosts (${DAEMONS} sshd daemons)`);
      const raw = await runRaw(`bench-raw-c${c}`, c);
      console.log(`  raw node-ssh loop      ${raw.usersPerSecond.toFixed(1)} users/s (${raw.failures} failed)`);
      const fleet = await runFleet(`bench-fleet-c${c}`, c, true);
      console.log(
        `  fleet transport        ${fleet.usersPerSecond.toFixed(1)} users/s (${fleet.failures} failed, ${fleet.connections} connections)`,
      );
      const pipeline = await runPipeline(`bench-pipe-c${c}`, c);
      console.log(
        `  fleet pipeline (agent) ${pipeline.usersPerSecond.toFixed(1)} users/s (${pipeline.failures} not applied, ${pipeline.connections} connections)`,
      );
      const single = await runFleet(`bench-fleet1-c${c}`, c, false);
      console.log(
        `  fleet, no conn. reuse  ${single.usersPerSecond.toFixed(1)} users/s (${single.failures} failed, ${single.connections} connections)`,
      );
      results[`concurrency${c}`] = {
        raw,
        pipeline,
        fleet,
        fleetNoReuse: single,
        ratio: pipeline.usersPerSecond / raw.usersPerSecond,
        ratioTransportAlone: fleet.usersPerSecond / raw.usersPerSecond,
        ratioNoReuse: single.usersPerSecond / raw.usersPerSecond,
      };
      console.log(
        `  ratio pipeline/raw ${(pipeline.usersPerSecond / raw.usersPerSecond).toFixed(2)} · transport/raw ${(fleet.usersPerSecond / raw.usersPerSecond).toFixed(2)} · no reuse/raw ${(single.usersPerSecond / raw.usersPerSecond).toFixed(2)}`,
      );
    }
  } finally {
    for (const d of daemons) await d.close();
    // The folder holds the benchmark's private key: never leave it in /tmp.
    await rm(dir, { recursive: true, force: true });
  }
  const report = {
    benchmark: 'ssh',
    mode: 'ratio = fleet-rollout end to end (BullMQ agent: generate + deploy over ssh, records in Redis) / raw node-ssh loop',
    users: USERS,
    hosts: hosts.length,
    daemons: DAEMONS,
    cores: (await import('node:os')).cpus().length,
    date: new Date().toISOString(),
    results,
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/ssh.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log('wrote bench/results/ssh.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
