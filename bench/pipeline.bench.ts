/**
 * `npm run bench:pipeline` (`npx tsx bench/pipeline.bench.ts`): 100k users through import + generate + deploy on
 * the local transport with the apply step a no-op (`agent --local-apply noop`: no staging, no script), against a
 * private redis-server (AOF everysec, noeviction) so the memory figure is ours alone. Agents are real
 * `fleet-rollout agent` processes (build first). Prints and writes bench/results/pipeline.json:
 * end-to-end users/s, import rows/s, Redis used_memory per retained user, agent peak RSS (VmHWM), and the raw
 * BullMQ no-op throughput measured in the same run. Env: BENCH_USERS, BENCH_AGENTS, BENCH_CONCURRENCY.
 * Import and start run as `fleet-rollout run` does (agents work while the import writes the users);
 * BENCH_SEQUENTIAL=1 imports first and starts after, as `import` + `start` do.
 * BENCH_SMOKE=1 runs 300 users and writes to the smoke folder (bench/lib/bench-size.ts).
 * BENCH_CAPS=1 gives the campaign `caps:` above the concurrency in use (every deploy takes and frees its shared
 * slots, none waits): the cost of the caps themselves. bench/pipeline-caps.bench.ts runs both and compares them.
 * BENCH_SCHEDULE=1 runs a second campaign of the same users in the same run with an always-open maintenance
 * window (00:00-24:00 daily) and waves (canary 1%, waves of 25%, max_fail_percent 5): the gate's window and wave
 * answers, the per-wave counters and the halt rule in the Lua enforcer; both figures and their ratio are written
 * to bench/results/pipeline-schedule.json. With BENCH_SCHEDULE_WAVES=0 the variant has the window alone
 * (bench/results/pipeline-window.json): waves drain the pipeline at each boundary by design, a window does not;
 * BENCH_SCHEDULE_CAPS=1 adds the shared caps to the variant (bench/results/pipeline-window-caps.json with waves off).
 * BENCH_SCHEDULE_NULL=1 runs the same settings twice: the ratio then is the cost of running second (same Redis,
 * twice the data), to read the variants' ratios against.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { importCampaign } from '../src/campaign/import-campaign.js';
import { startCampaign } from '../src/campaign/start-campaign.js';
import { type CampaignFile, campaignFileSchema } from '../src/config/campaign-schema.js';
import { defaultCampaignFile } from '../src/config/load-campaign-file.js';
import { createPipelineQueues } from '../src/queue/pipeline-queues.js';
import { createRecordStore } from '../src/store/record-store.js';
import { findRedisServer, startEmbeddedRedis } from '../src/workers/embedded-redis.js';
import { benchSize, writeBenchResult } from './lib/bench-size.js';
import { cpuSeconds, peakRss } from './lib/proc-cpu.js';

const USERS = benchSize('BENCH_USERS', { full: 100_000, smoke: 300 });
const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 1);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 100);
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const PREFIX = `bench-${process.pid}`;
const CAMPAIGN = 'bench';
const SEQUENTIAL = process.env['BENCH_SEQUENTIAL'] === '1';
const CAPS = process.env['BENCH_CAPS'] === '1';
/** Above anything this run reaches: 10 sites, 5,000 hosts, CONCURRENCY × AGENTS deploys at once. */
const BENCH_CAPS_SETTINGS = { max_in_flight: 100_000, per_site: 100_000, per_host: 8, sites: {}, lease_seconds: 60 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Raw BullMQ: add 100k no-op jobs, process them with one Worker. */
async function measureRawBullmq(url: string): Promise<{ addPerS: number; processPerS: number }> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-noop', { connection, prefix: PREFIX });
  const opts = { removeOnComplete: true, removeOnFail: true };
  const t0 = performance.now();
  for (let i = 0; i < USERS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, USERS - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts })),
    );
  }
  const added = performance.now();
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker('raw-noop', async () => {}, { connection, prefix: PREFIX, concurrency: CONCURRENCY });
    worker.on('completed', () => {
      done += 1;
      if (done === USERS) void worker.close().then(() => resolve());
    });
  });
  const t1 = performance.now();
  await finished;
  const t2 = performance.now();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return { addPerS: round(USERS / ((added - t0) / 1000)), processPerS: round(USERS / ((t2 - t1) / 1000)) };
}

function writeRoster(path: string): void {
  const out = [
    'username,host,site,office',
    ...Array.from({ length: USERS }, (_, i) => `user${i},ws-${i % 5000}.bench.lan,site${i % 10},2010`),
  ];
  writeFileSync(path, `${out.join('\n')}\n`);
}

/** Import (+ start, overlapped as `run` does) and wait for `done`; the instants the import began and ended. */
async function runCampaign(
  store: ReturnType<typeof createRecordStore>,
  queues: ReturnType<typeof createPipelineQueues>,
  name: string,
  csv: string,
  dir: string,
  settings: CampaignFile,
): Promise<{ t0: number; t1: number }> {
  const t0 = performance.now();
  const imported = await importCampaign(store, queues, {
    campaign: name,
    csvPath: csv,
    settings,
    allowRejects: false,
    reportDir: dir,
    start: !SEQUENTIAL,
    now: Date.now(),
  });
  const t1 = performance.now();
  if (!imported.imported) throw new Error(`import refused: ${JSON.stringify(imported)}`);
  if (SEQUENTIAL) await startCampaign(store, queues, name, Date.now());
  let last = 0;
  for (;;) {
    const campaign = await store.getCampaign(name);
    if (campaign?.state === 'done') break;
    if (campaign?.state === 'halted') throw new Error(`${name} halted: ${campaign.stateReason}`);
    if (performance.now() - last > 5000) {
      last = performance.now();
      const counts = await store.countByState(name);
      console.log(
        `  ${name} ${Math.round((last - t1) / 1000)} s: applied ${counts.applied}, generated ${counts.generated}, queued ${counts.queued}`,
      );
    }
    await sleep(100);
  }
  return { t0, t1 };
}

/** BENCH_SCHEDULE_WAVES=0: the schedule variant has the window alone (the gate's window answer, no wave drain). */
const SCHEDULE_WAVES = process.env['BENCH_SCHEDULE_WAVES'] !== '0';

/** BENCH_SCHEDULE_CAPS=1: the schedule variant also has the shared caps (issue 11: "with caps and windows on"). */
const SCHEDULE_CAPS = process.env['BENCH_SCHEDULE_CAPS'] === '1';

/** The schedule variant: an always-open window and (unless BENCH_SCHEDULE_WAVES=0) waves on, everything else equal. */
function withSchedule(settings: CampaignFile): CampaignFile {
  // BENCH_SCHEDULE_NULL=1: the second campaign is the first one again, to measure what running second costs.
  if (process.env['BENCH_SCHEDULE_NULL'] === '1') return settings;
  return campaignFileSchema.parse({
    ...settings,
    ...(SCHEDULE_CAPS && { caps: BENCH_CAPS_SETTINGS }),
    schedule: { timezone: 'UTC', windows: [{ days: ['daily'], hours: '00:00-24:00' }], min_deploy_minutes: 1 },
    ...(SCHEDULE_WAVES && { waves: { canary: '1%', size: '25%', max_fail_percent: 5 } }),
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  // The same private AOF redis-server the demo starts, so the memory figure is ours alone.
  const embedded = await startEmbeddedRedis(findRedisServer() ?? 'redis-server', join(dir, 'redis'));
  const { url } = embedded;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const agents: ChildProcess[] = [];
  try {
    const raw = await measureRawBullmq(url);
    console.log(
      `raw BullMQ no-op: add ${raw.addPerS} jobs/s, process ${raw.processPerS} jobs/s (1 worker, concurrency ${CONCURRENCY})`,
    );

    const csv = join(dir, 'users.csv');
    writeRoster(csv);
    const base = defaultCampaignFile();
    const settings: CampaignFile = {
      ...base,
      defaults: { exchange_server: 'exch01.contoso.fr', proxy: 'https://mail.contoso.fr' },
      deploy: { ...base.deploy, transport: 'local' as const, local_root: join(dir, 'hosts') },
      ...(CAPS && { caps: BENCH_CAPS_SETTINGS }),
    };
    const memoryBefore = await usedMemory(redis);
    for (let i = 0; i < AGENTS; i++) {
      const agent = spawn(
        process.execPath,
        [
          ...(process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : []),
          CLI,
          'agent',
          '--redis-url',
          url,
          '--prefix',
          PREFIX,
          '--local-apply',
          'noop',
          '--concurrency',
          String(CONCURRENCY),
        ].concat(['--poll-ms', '100', '--log-level', 'warn']),
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      agents.push(agent);
    }
    const store = createRecordStore(redis, PREFIX);
    const queues = createPipelineQueues(redis, PREFIX);
    const redisCpuStart = cpuSeconds(embedded.pid ?? 0);
    const agentCpuStart = agents.map((a) => cpuSeconds(a.pid ?? 0));
    const importCpuStart = process.cpuUsage();
    const load = loadavg()[0];
    const { t0, t1 } = await runCampaign(store, queues, CAMPAIGN, csv, dir, settings);
    const importCpu = process.cpuUsage(importCpuStart);
    const t2 = performance.now();
    const redisCpuMsPerUser = ((cpuSeconds(embedded.pid ?? 0) - redisCpuStart) * 1000) / USERS;
    const agentCpuMsPerUser =
      (agents.reduce((sum, a, i) => sum + cpuSeconds(a.pid ?? 0) - (agentCpuStart[i] ?? 0), 0) * 1000) / USERS;
    const counts = await store.countByState(CAMPAIGN);
    let scheduled: Record<string, number> | undefined;
    if (process.env['BENCH_SCHEDULE'] === '1') {
      const memory = await usedMemory(redis);
      const runs = await runCampaign(store, queues, `${CAMPAIGN}-sched`, csv, dir, withSchedule(settings));
      const end = performance.now();
      const counts = await store.countByState(`${CAMPAIGN}-sched`);
      if (counts.applied !== USERS) throw new Error(`schedule variant: ${USERS - counts.applied} users not applied`);
      scheduled = {
        endToEndSeconds: round((end - runs.t0) / 1000, 2),
        endToEndUsersPerSecond: round(USERS / ((end - runs.t0) / 1000)),
        redisBytesPerUser: round(((await usedMemory(redis)) - memory) / USERS),
        loadAverageAtStart: round(loadavg()[0] ?? 0, 2),
      };
      console.log(
        `with ${SCHEDULE_WAVES ? 'windows and waves' : 'a window'}${SCHEDULE_CAPS ? ' and caps' : ''}: ${JSON.stringify(scheduled)}`,
      );
    }
    const rss = agents.map((a) => peakRss(a.pid ?? 0));
    await Promise.all(
      agents.map(async (a) => {
        a.kill('SIGTERM');
        await once(a, 'exit');
      }),
    );
    await sleep(200);
    const memoryAfter = await usedMemory(redis);
    if (process.env['BENCH_COMMANDS']) {
      // Redis commands per user over the whole run (raw BullMQ part included): where the round trips go.
      const stats = await redis.info('commandstats');
      for (const m of stats.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)) {
        if (Number(m[2]) > USERS / 10)
          console.log(`  ${m[1]}: ${round(Number(m[2]) / USERS, 2)}/user, ${round(Number(m[3]) / USERS, 1)} µs/user`);
      }
    }
    const keysAfter = await redis.dbsize();
    await queues.close();

    const results = {
      applied: counts.applied,
      mode: SEQUENTIAL ? 'import then start' : 'run (agents work while the import writes)',
      caps: CAPS ? BENCH_CAPS_SETTINGS : 'none',
      // With `run`, agents are already busy during the import: its rows/s is the importer's pace under that load.
      importSeconds: round((t1 - t0) / 1000, 2),
      importRowsPerSecond: round(USERS / ((t1 - t0) / 1000)),
      // From the end of the import to the campaign `done`.
      pipelineSeconds: round((t2 - t1) / 1000, 2),
      pipelineUsersPerSecond: round(USERS / ((t2 - t1) / 1000)),
      endToEndSeconds: round((t2 - t0) / 1000, 2),
      endToEndUsersPerSecond: round(USERS / ((t2 - t0) / 1000)),
      redisBytesPerUser: round((memoryAfter - memoryBefore) / USERS),
      // CPU spent per user over the whole run (import included): on 2 cores, their sum bounds the throughput.
      redisCpuMsPerUser: round(redisCpuMsPerUser, 3),
      agentCpuMsPerUser: round(agentCpuMsPerUser, 3),
      importerCpuMsPerUser: round((importCpu.user + importCpu.system) / 1000 / USERS, 3),
      redisKeysAfter: keysAfter,
      agentPeakRssMB: rss.map((b) => round(b / 1048576, 1)),
      rawBullmq: raw,
      loadAverageAtStart: round(load ?? 0, 2),
      ...(scheduled && {
        scheduleVariant: `${SCHEDULE_WAVES ? 'window and waves' : 'window alone'}${SCHEDULE_CAPS ? ', caps' : ''}`,
        withWindowsAndWaves: scheduled,
        // > 0.9: windows and waves cost less than 10% of the throughput
        scheduleThroughputRatio: round((scheduled['endToEndUsersPerSecond'] ?? 0) / (USERS / ((t2 - t0) / 1000)), 3),
      }),
      targets: { endToEndUsersPerSecond: 1500, redisBytesPerUser: 2048, agentPeakRssMB: 250 },
    };
    console.log(JSON.stringify(results, null, 2));
    // The schedule variant's run is its own result file: the plain figures stay comparable run to run.
    const variantName = SCHEDULE_WAVES
      ? 'pipeline-schedule'
      : SCHEDULE_CAPS
        ? 'pipeline-window-caps'
        : 'pipeline-window';
    const resultName = scheduled ? variantName : 'pipeline';
    await writeBenchResult(resultName, { users: USERS, agents: AGENTS, concurrencyPerAgent: CONCURRENCY }, results);
    if (counts.applied !== USERS) throw new Error(`${USERS - (counts.applied ?? 0)} users not applied`);
  } finally {
    for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
    // Delete everything we wrote, then stop our Redis.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await embedded.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
