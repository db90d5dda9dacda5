/**
 * SSH deploy benchmark (npm run bench:ssh): N users across M loopback sshd "workstations" (several daemons,
 * ≤ 16 ListenAddress each), at concurrency 10 and 50, on the same hosts in one run:
 *   - pipeline: fleet-rollout end to end — an in-process BullMQ agent (generate + deploy jobs, records in Redis)
 *               over a campaign whose sites point at the hosts, with the ssh transport (the headline ratio);
 *   - fleet:    the ssh transport alone (host-key check, SFTP .tmp + verify + rename, apply script, result parsing),
 *               connections shared per host as shipped;
 *   - fleet-1:  the transport with connection reuse off (one connection per user: the one-user-per-laptop case);
 *   - raw:      a plain node-ssh loop per user (bench/lib/raw-node-ssh.ts): connect (TCP_NODELAY) + putFile +
 *               execCommand (same apply script) + dispose.
 * Many users share a host here; bench/realistic-ssh.bench.ts is the one-host-per-user case.
 * Prints users/s and writes bench/results/ssh.json. Env: BENCH_USERS (2000), BENCH_DAEMONS (3), BENCH_HOSTS_PER (16);
 * BENCH_SMOKE=1 runs 100 users on 8 hosts at concurrency 10 only, and writes to the smoke folder (bench/lib/bench-size.ts).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/log/logger.js';
import { createHostKeyVerifier, loadSshCredentials, parseKnownHosts } from '../src/transport/ssh/index.js';
import { createSshTransport, type SshTransport } from '../src/transport/ssh/ssh-transport.js';
import { startAgent } from '../src/workers/start-agent.js';
import { waitForFinal } from '../test/helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../test/helpers/redis.js';
import { benchSize, SMOKE, writeBenchResult } from './lib/bench-size.js';
import { type BenchUser, makeBenchUsers } from './lib/bench-users.js';
import { benchAllowList, benchApplyCommand, seedBenchCampaign } from './lib/fleet-campaign.js';
import { type LoopbackFleet, startLoopbackFleet } from './lib/loopback-hosts.js';
import { deployRaw } from './lib/raw-node-ssh.js';
import { runPool } from './lib/run-pool.js';

const USERS = benchSize('BENCH_USERS', { full: 2000, smoke: 100 });
const DAEMONS = benchSize('BENCH_DAEMONS', { full: 3, smoke: 1 });
const HOSTS_PER_DAEMON = Math.min(16, benchSize('BENCH_HOSTS_PER', { full: 16, smoke: 8 }));
// A smoke run proves the arms still work: one concurrency is enough for that, and halves its time.
const CONCURRENCIES = SMOKE ? [10] : [10, 50];
/** The transport's default cap, applied to the raw loop too. */
const PER_HOST = 10;

interface ArmResult {
  readonly usersPerSecond: number;
  readonly seconds: number;
  readonly failures: number;
  readonly connections?: number;
}

async function main(): Promise<void> {
  const fleetHosts: LoopbackFleet = await startLoopbackFleet({
    daemons: DAEMONS,
    hostsPerDaemon: HOSTS_PER_DAEMON,
    network: 10,
  });
  const { account, hosts } = fleetHosts;
  const users = await makeBenchUsers(hosts, USERS, fleetHosts.dir);
  const privateKey = await readFile(fleetHosts.key.path, 'utf8');
  const credentials = await loadSshCredentials({ keyPath: fleetHosts.key.path });
  const hostKeys = createHostKeyVerifier({ knownHosts: parseKnownHosts(fleetHosts.knownHostsText), policy: 'strict' });
  const hostOf = (u: BenchUser): string => `${u.host.host}:${u.host.port}`;
  const pool = (concurrency: number) => ({ concurrency, perHost: PER_HOST, hostOf });

  async function runFleet(campaign: string, concurrency: number, reuse: boolean): Promise<ArmResult> {
    const transport: SshTransport = await createSshTransport({
      credentials,
      hostKeys,
      reuseConnections: reuse,
      perHostConcurrency: PER_HOST,
      applyAllowList: benchAllowList(hosts),
    });
    const started = performance.now();
    const failures = await runPool(users, { concurrency }, async (u) => {
      await transport.apply({
        campaign,
        user: u.name,
        office: '16.0',
        artifact: { fileName: `${u.name}.prf`, bytes: u.bytes, sha256: u.sha256 },
        target: {
          host: u.host.host,
          port: u.host.port,
          login: account.login,
          targetOs: 'posix',
          stagingDir: u.host.ws.staging,
          applyCommand: benchApplyCommand(u.host),
        },
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
    const { store, queues, queued } = await seedBenchCampaign(redis, prefix, campaign, users, account.login);
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
        // The per-host cap is the agent's (--ssh-per-host), not the campaign's.
        transport = await createSshTransport({
          credentials,
          hostKeys,
          perHostConcurrency: PER_HOST,
          applyAllowList: benchAllowList(hosts),
        });
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
    await fleetHosts.makeCampaignDirs(campaign);
    const started = performance.now();
    const failures = await runPool(users, pool(concurrency), (u) =>
      deployRaw(u, { login: account.login, privateKey, campaign }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { usersPerSecond: USERS / seconds, seconds, failures };
  }

  const results: Record<string, Record<string, ArmResult | number>> = {};
  const broken: string[] = [];
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
      // The pipeline retries, so a user it leaves unapplied is a defect; the one-shot arms may lose a few users to
      // a loaded sshd (recorded), but an arm where every user failed is broken, not slow.
      if (pipeline.failures > 0) broken.push(`pipeline c${c}: ${pipeline.failures} users not applied`);
      for (const [arm, r] of Object.entries({ raw, fleet, single })) {
        if (r.failures === USERS) broken.push(`${arm} c${c}: every user failed`);
      }
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
    await fleetHosts.close();
  }
  await writeBenchResult(
    'ssh',
    { users: USERS, hosts: hosts.length, daemons: DAEMONS },
    {
      mode: 'ratio = fleet-rollout end to end (BullMQ agent: generate + deploy over ssh, records in Redis) / raw node-ssh loop',
      perHostConcurrency: PER_HOST,
      results,
    },
  );
  if (broken.length > 0) throw new Error(`benchmark broken: ${broken.join('; ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
