import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CampaignStatus } from '../../campaign/campaign-status.js';
import { DEFAULT_PREFIX } from '../../config/defaults.js';
import { FleetError } from '../../errors/index.js';
import type { EmbeddedRedis } from '../../workers/embedded-redis.js';
import { withContext, writeOut } from '../context.js';
import { followCampaign } from './status.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
/** The demo ends in seconds; past this something is wrong and it says so rather than hang. */
const DEMO_DEADLINE_MS = 120_000;

interface DemoFlags {
  readonly redisUrl?: string;
  readonly prefix: string;
  readonly dir: string;
}

/** Port of the local Redis the demo looks for before starting its own (tests point it at a closed port). */
const LOCAL_PORT_ENV = 'FLEET_DEMO_REDIS_PORT';

export function demoLocalRedisPort(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const text = env[LOCAL_PORT_ENV];
  if (text === undefined || text === '') return 6379;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new FleetError(
      'FR_ERR_USAGE',
      `${LOCAL_PORT_ENV} ${JSON.stringify(text)}: expected a port number (1 to 65535)`,
    );
  }
  return port;
}

/**
 * REDIS_URL / --redis-url, else a Redis on 127.0.0.1:6379 (FLEET_DEMO_REDIS_PORT), else a private redis-server
 * under <dir>/redis.
 */
async function chooseRedis(flags: DemoFlags): Promise<{ url: string; embedded?: EmbeddedRedis }> {
  const given = flags.redisUrl ?? process.env['REDIS_URL'];
  if (given) return { url: given };
  const port = demoLocalRedisPort();
  const { findRedisServer, probeRedis, REDIS_INSTALL_HINT, startEmbeddedRedis } = await import(
    '../../workers/embedded-redis.js'
  );
  if (await probeRedis('127.0.0.1', port)) return { url: `redis://127.0.0.1:${port}` };
  const binary = findRedisServer();
  if (!binary) throw new FleetError('FR_ERR_REDIS_UNREACHABLE', REDIS_INSTALL_HINT);
  const embedded = await startEmbeddedRedis(binary, join(flags.dir, 'redis'));
  await writeOut(
    `demo: started a private redis-server at ${embedded.url} (AOF, data in ${join(flags.dir, 'redis')})\n`,
  );
  return { url: embedded.url, embedded };
}

function timestamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The demo's whole module graph (agent, BullMQ, pino), loaded when `demo` runs, never at start-up. */
async function loadDemoModules() {
  const [format, report, campaignFile, logger, demoHosts, agent] = await Promise.all([
    import('../../campaign/format-status.js'),
    import('../../campaign/stream-report.js'),
    import('../../config/load-campaign-file.js'),
    import('../../log/logger.js'),
    import('../../workers/demo-hosts.js'),
    import('../../workers/start-agent.js'),
  ]);
  return { ...format, ...report, ...campaignFile, ...logger, ...demoHosts, ...agent };
}

async function runDemo(flags: DemoFlags): Promise<void> {
  const {
    createLogger,
    formatReportCsv,
    formatStatusText,
    loadCampaignFile,
    prepareDemoHosts,
    startAgent,
    toDemoSettings,
  } = await loadDemoModules();
  const { url, embedded } = await chooseRedis(flags);
  const hostsRoot = resolve(flags.dir, 'hosts');
  const logger = createLogger({ level: 'error', destination: undefined });
  try {
    await withContext({ redisUrl: url, prefix: flags.prefix, allowEviction: false }, async (context) => {
      const name = `demo-${timestamp(context.now())}`;
      const settings = toDemoSettings(await loadCampaignFile(join(EXAMPLES, 'campaign.yaml')), hostsRoot);
      const imported = await context.fleet.importCsv({
        campaign: name,
        source: { path: join(EXAMPLES, 'users.csv') },
        settings,
        allowRejects: true,
        reportDir: 'reports',
      });
      const hosts: string[] = [];
      for await (const row of context.fleet.report(name)) if (row.host) hosts.push(row.host);
      const faults = prepareDemoHosts(hostsRoot, hosts);
      await writeOut(
        `demo: campaign ${name}: ${imported.valid} users imported, ${imported.rejected} rows rejected` +
          (imported.reportPath ? ` (${imported.reportPath})` : '') +
          `\ndemo: simulated workstations in ${hostsRoot}; busy twice then fine: ${faults.transient.join(', ')}; ` +
          `permission denied: ${faults.permanent}\n`,
      );
      const agent = await startAgent({
        redisUrl: url,
        prefix: flags.prefix,
        roles: ['generate', 'deploy'],
        concurrency: 16,
        lockMs: 10_000,
        stalledMs: 5_000,
        maxStalls: 5,
        pollMs: 200,
        graceMs: 5_000,
        localRoot: hostsRoot,
        logger,
      });
      try {
        await context.fleet.start(name);
        let deadline: NodeJS.Timeout | undefined;
        const status = await Promise.race([
          followCampaign(context, name, 300),
          new Promise<CampaignStatus>((_, fail) => {
            deadline = setTimeout(
              () => fail(new FleetError('FR_ERR_INTERNAL', `the demo did not finish in ${DEMO_DEADLINE_MS / 1000} s`)),
              DEMO_DEADLINE_MS,
            );
          }),
        ]).finally(() => clearTimeout(deadline));
        mkdirSync('reports', { recursive: true });
        const reportPath = join('reports', `${name}.csv`);
        await pipeline(Readable.from(formatReportCsv(context.fleet.report(name))), createWriteStream(reportPath));
        await writeOut(`\n${formatStatusText(status)}report: ${reportPath}\n`);
        await writeOut(`more: fleet-rollout status ${name} · fleet-rollout report ${name} --state failed\n`);
      } finally {
        await agent.stop();
      }
    });
  } finally {
    await embedded?.stop();
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Import examples/users.csv and deploy it to simulated workstations with in-process agents, showing progress (uses REDIS_URL, else 127.0.0.1:6379, else starts a private redis-server)',
    )
    .option('--redis-url <url>', 'Redis URL (default: REDIS_URL, else 127.0.0.1:6379, else a private redis-server)')
    .option('--prefix <prefix>', 'key prefix of queues and records', process.env['FLEET_PREFIX'] ?? DEFAULT_PREFIX)
    .option('--dir <dir>', 'where the demo keeps its Redis data and simulated workstations', '.fleet')
    .addHelpText(
      'after',
      `\nEnvironment: REDIS_URL (as --redis-url); FLEET_PREFIX (as --prefix); ${LOCAL_PORT_ENV}: port of the local\n` +
        'Redis looked for on 127.0.0.1 before a private redis-server is started (default 6379).\n' +
        'The examples and the agent script are read from the installed package, whatever the working directory;\n' +
        'the report and --dir are written under the working directory.',
    )
    .action(async (flags: DemoFlags) => {
      await runDemo(flags);
    });
}
