import { type Command, InvalidArgumentError, Option } from 'commander';
import { FleetError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import { AGENT_DEFAULTS } from '../../workers/agent-defaults.js';
import type { TransportKind } from '../../workers/agent-runner.js';
import type { AgentRole } from '../../workers/campaign-workers.js';
import type { TransportRegistryOptions } from '../../workers/transport-registry.js';
import { addConnectionOptions, resolveCliConfig, toConnectionFlags, withContext } from '../context.js';
import { addSshOptions, createSshTransportHook } from '../ssh-options.js';

function parseCount(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return n;
  };
}

function parseList<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((i) => !(allowed as readonly string[]).includes(i));
    if (items.length === 0 || bad.length > 0)
      throw new InvalidArgumentError(`expected a list of ${allowed.join(', ')}`);
    return items as T[];
  };
}

/**
 * The SSH hook: returns the factory the registry calls on the first ssh campaign (credentials stay in this
 * process: --ssh-key, --known-hosts, --host-key-policy…). Without SSH credentials, this agent serves local campaigns only.
 */
function createSshHook(options: Record<string, unknown>, logger: Logger): TransportRegistryOptions['createSsh'] {
  return createSshTransportHook(options, logger);
}

/** While Redis is away the agent says so every few seconds (not on every reconnect attempt). */
function throttledRedisErrorLog(logger: Logger): (error: Error) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < 5_000) return;
    last = Date.now();
    logger.warn({ err: error.message }, 'waiting for Redis: connection error, reconnecting');
  };
}

export function registerAgent(program: Command): void {
  const command = program
    .command('agent')
    .description('Run generate and deploy workers until SIGTERM/SIGINT (any number of agents may share one Redis)')
    .option('--concurrency <n>', 'deploy jobs in flight per campaign', parseCount(1), AGENT_DEFAULTS.concurrency)
    .option('--role <roles>', 'generate,deploy', parseList<AgentRole>(['generate', 'deploy']), [
      ...AGENT_DEFAULTS.roles,
    ])
    .option(
      '--transport <kinds>',
      'serve only campaigns using these transports (local,ssh)',
      parseList<TransportKind>(['local', 'ssh']),
    )
    .option(
      '--local-root <dir>',
      "local transport: simulated workstations (default: the campaign's deploy.local_root, else .fleet/hosts)",
    )
    .option(
      '--lock-ms <ms>',
      "job lock (renewed while running; bounds how fast a dead agent's job is taken over)",
      parseCount(500),
      AGENT_DEFAULTS.lockMs,
    )
    .option('--stalled-ms <ms>', 'how often to look for jobs of dead agents', parseCount(200), AGENT_DEFAULTS.stalledMs)
    .option(
      '--max-stalls <n>',
      'fail a user (FR_ERR_JOB_STALLED) whose job stalled more often than this',
      parseCount(1),
      AGENT_DEFAULTS.maxStalls,
    )
    .option(
      '--grace-ms <ms>',
      'on SIGTERM, how long in-flight jobs may take to finish',
      parseCount(0),
      AGENT_DEFAULTS.graceMs,
    )
    .option('--poll-ms <ms>', 'how often to look for campaigns to serve', parseCount(50), AGENT_DEFAULTS.pollMs)
    .option(
      '--heartbeat-ms <ms>',
      'how often the agent says it is alive (status lists it; gone 3 beats after it died)',
      parseCount(100),
      AGENT_DEFAULTS.heartbeatMs,
    )
    .option('--log-level <level>', 'pino level (env LOG_LEVEL; default info)')
    .addOption(
      new Option('--local-apply <mode>', 'script | noop (benchmarks)')
        .choices(['script', 'noop'])
        .default('script')
        .hideHelp(),
    );
  addConnectionOptions(addSshOptions(command)).action(async (options: Record<string, unknown>) => {
    const [{ createLogger }, { waitForStopSignal }, { startAgent }] = await Promise.all([
      import('../../log/logger.js'),
      import('../../workers/shutdown-signal.js'),
      import('../../workers/start-agent.js'),
    ]);
    const config = await resolveCliConfig({
      ...toConnectionFlags(options),
      ...(typeof options['logLevel'] === 'string' && { logLevel: options['logLevel'] }),
    });
    const logger = createLogger({ level: config.logLevel });
    const sshHook = createSshHook(options, logger);
    const kinds = (options['transport'] as TransportKind[] | undefined) ?? (sshHook ? ['local', 'ssh'] : ['local']);
    if (kinds.includes('ssh') && !sshHook) {
      throw new FleetError(
        'FR_ERR_USAGE',
        '--transport ssh needs SSH credentials: --ssh-key, --ssh-password-file or an ssh-agent (SSH_AUTH_SOCK)',
      );
    }
    // Built now, not on the first job: a bad key, passphrase or known_hosts file stops the agent with one line
    // instead of failing users one by one.
    const sshTransport = sshHook && kinds.includes('ssh') ? await sshHook() : undefined;
    const createSsh = sshTransport ? async () => sshTransport : undefined;
    try {
      await withContext(
        toConnectionFlags(options),
        async (context) => {
          const agent = await startAgent({
            connection: context.redis,
            prefix: context.config.prefix,
            roles: options['role'] as AgentRole[],
            concurrency: options['concurrency'] as number,
            lockMs: options['lockMs'] as number,
            stalledMs: options['stalledMs'] as number,
            maxStalls: options['maxStalls'] as number,
            graceMs: options['graceMs'] as number,
            pollMs: options['pollMs'] as number,
            heartbeatMs: options['heartbeatMs'] as number,
            transportKinds: kinds,
            localApply: options['localApply'] as 'script' | 'noop',
            ...(typeof options['localRoot'] === 'string' ? { localRoot: options['localRoot'] } : {}),
            ...(createSsh ? { createSsh } : {}),
            logger,
          });
          logger.info({ pid: process.pid, roles: options['role'], transports: kinds }, 'agent started');
          const signal = await waitForStopSignal();
          logger.info({ signal }, 'stopping: no new jobs, finishing in-flight ones');
          const drained = await agent.stop();
          logger.info({ drained }, 'agent stopped');
        },
        { role: 'worker', warn: (message) => logger.warn(message), onError: throttledRedisErrorLog(logger) },
      );
    } finally {
      // Idempotent: the registry closed it already when the agent started; not when start-up failed.
      await sshTransport?.close();
    }
    logger.flush();
  });
}
