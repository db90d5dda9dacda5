import { type Command, InvalidArgumentError } from 'commander';
import { FleetError } from '../../errors/index.js';
import { addConnectionOptions, toConnectionFlags, withContext } from '../context.js';

interface DashboardFlags {
  readonly port: number;
  readonly bind: string;
  readonly tokenFile?: string;
  readonly readonlyTokenFile?: string;
  readonly metricsTokenFile?: string;
  readonly trustProxy?: boolean;
  readonly origin?: string[];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('expected a TCP port');
  return port;
}

/** A token from a file (first non-empty, non-comment line) or the environment; never printed. */
async function readToken(file: string | undefined, envValue: string | undefined): Promise<string | undefined> {
  if (file !== undefined) {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw new FleetError('FR_ERR_FILE_UNREADABLE', `cannot read the token file ${file}`, {}, { cause: error });
    });
    const line = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    return line?.trim();
  }
  const value = envValue?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function registerDashboard(program: Command): void {
  const command = program
    .command('dashboard')
    .description(
      'Serve the web dashboard (admin token: env FLEET_DASHBOARD_TOKEN or --token-file; optional read-only token: env FLEET_DASHBOARD_READONLY_TOKEN or --readonly-token-file)',
    )
    .option('--port <port>', 'TCP port', parsePort, 8080)
    .option('--bind <address>', 'address to listen on (non-loopback: put TLS or a reverse proxy in front)', '127.0.0.1')
    .option('--token-file <file>', 'file holding the admin token (instead of FLEET_DASHBOARD_TOKEN)')
    .option(
      '--readonly-token-file <file>',
      'file holding the read-only token (instead of FLEET_DASHBOARD_READONLY_TOKEN)',
    )
    .option(
      '--metrics-token-file <file>',
      'file holding a token that may only scrape /metrics (instead of FLEET_DASHBOARD_METRICS_TOKEN)',
    )
    .option('--trust-proxy', 'behind a reverse proxy: trust X-Forwarded-For/-Proto', false)
    .option('--origin <url...>', 'public origin(s) of the dashboard behind a proxy (e.g. https://fleet.example.com)');
  addConnectionOptions(command).action(async (flags: DashboardFlags, cmd: Command) => {
    const admin = await readToken(flags.tokenFile, process.env['FLEET_DASHBOARD_TOKEN']);
    const readOnly = await readToken(flags.readonlyTokenFile, process.env['FLEET_DASHBOARD_READONLY_TOKEN']);
    const metrics = await readToken(flags.metricsTokenFile, process.env['FLEET_DASHBOARD_METRICS_TOKEN']);
    if (admin === undefined) {
      throw new FleetError(
        'FR_ERR_USAGE',
        'set FLEET_DASHBOARD_TOKEN or --token-file: the dashboard needs an admin token',
      );
    }
    if ([admin, readOnly, metrics].some((token) => token !== undefined && token.length < 16)) {
      throw new FleetError(
        'FR_ERR_USAGE',
        'dashboard tokens must be at least 16 characters (e.g. openssl rand -hex 32)',
      );
    }
    const given = [admin, readOnly, metrics].filter((token) => token !== undefined);
    if (new Set(given).size !== given.length) throw new FleetError('FR_ERR_USAGE', 'the dashboard tokens must differ');
    const [{ createDashboardServer, isLoopback }, { createLogger }] = await Promise.all([
      import('../../dashboard/server.js'),
      import('../../log/logger.js'),
    ]);
    const log = createLogger({ level: process.env['LOG_LEVEL'] ?? 'info' });
    await withContext(
      toConnectionFlags(cmd.opts()),
      async (context) => {
        const app = await createDashboardServer(context.fleet, {
          tokens: [
            { name: 'admin', token: admin, role: 'admin' },
            ...(readOnly !== undefined ? [{ name: 'read-only', token: readOnly, role: 'read-only' as const }] : []),
            ...(metrics !== undefined ? [{ name: 'metrics', token: metrics, role: 'metrics' as const }] : []),
          ],
          trustProxy: flags.trustProxy === true,
          origins: flags.origin ?? [],
        });
        if (!isLoopback(flags.bind)) {
          log.warn(
            { bind: flags.bind },
            'the dashboard listens on a non-loopback address over plain HTTP: serve it behind TLS or a reverse proxy (tokens and session cookies would cross the network in clear)',
          );
        }
        const address = await app.listen({ host: flags.bind, port: flags.port });
        log.info({ address, readOnlyToken: readOnly !== undefined }, 'dashboard listening');
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        log.info('dashboard stopping');
        await app.close();
      },
      { role: 'worker', warn: (message) => log.warn(message) },
    );
  });
}
