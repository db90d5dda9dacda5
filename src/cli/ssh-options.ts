import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import type { HostKeyPolicy, SshTransport, TransportLogger } from '../transport/ssh/index.js';
import { resolveCliConfig, toConnectionFlags } from './context.js';

/**
 * The agent's SSH credentials and policies (they never live in the campaign, the CSV or job data).
 * `addSshOptions(command)` adds the flags; `toSshTransportOptions(options)` reads them (flag > environment);
 * `createSshTransportFromOptions` builds the transport when the first ssh campaign needs it. Only types are imported
 * at the top: the SSH stack (ssh2, node-ssh) and ioredis load when a transport is really built.
 */
export interface SshAgentSettings {
  readonly keyPath?: string;
  readonly passphraseFile?: string;
  /** From FLEET_SSH_KEY_PASSPHRASE (never a flag: flags show in `ps`). */
  readonly passphrase?: string;
  readonly passwordFile?: string;
  readonly agentSocket?: string;
  readonly knownHostsPath?: string;
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly perHostConcurrency: number;
}

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100) throw new InvalidArgumentError('expected milliseconds ≥ 100');
  return n;
}

/** commander parser for counts (`--ssh-per-host`, `--concurrency`). */
export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1');
  return n;
}

export function addSshOptions(command: Command): Command {
  return command
    .option('--ssh-key <file>', 'ssh: private key file (env FLEET_SSH_KEY)')
    .option(
      '--ssh-key-passphrase-file <file>',
      'ssh: file holding the key passphrase (or env FLEET_SSH_KEY_PASSPHRASE)',
    )
    .option('--ssh-password-file <file>', 'ssh: file holding a login password (used after the key and ssh-agent)')
    .option('--no-ssh-agent', 'ssh: do not use the ssh-agent at SSH_AUTH_SOCK')
    .option('--known-hosts <file>', 'ssh: OpenSSH known_hosts file (env FLEET_KNOWN_HOSTS)')
    .addOption(
      new Option(
        '--host-key-policy <policy>',
        'ssh: strict (only known_hosts) or accept-new (pin on first use in Redis)',
      )
        .choices(['strict', 'accept-new'])
        .default('strict'),
    )
    .option('--connect-timeout-ms <ms>', 'ssh: TCP connect + handshake + auth', parseMs, 20_000)
    .option('--command-timeout-ms <ms>', 'ssh: one upload or apply command', parseMs, 120_000)
    .option(
      '--ssh-per-host <n>',
      'ssh: users deployed at once on one host (sshd MaxStartups/MaxSessions)',
      parsePositive,
      10,
    );
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Reads the flags; undefined when the agent has no SSH credential at all (it then serves local campaigns only). */
export function toSshTransportOptions(
  options: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SshAgentSettings | undefined {
  const keyPath = text(options['sshKey']) ?? text(env['FLEET_SSH_KEY']);
  const passwordFile = text(options['sshPasswordFile']);
  const agentSocket = options['sshAgent'] === false ? undefined : text(env['SSH_AUTH_SOCK']);
  if (!keyPath && !passwordFile && !agentSocket) return undefined;
  const policy = text(options['hostKeyPolicy']) ?? 'strict';
  if (policy !== 'strict' && policy !== 'accept-new') {
    throw new FleetError('FR_ERR_USAGE', `--host-key-policy ${policy}: use strict or accept-new`);
  }
  return {
    keyPath,
    passphraseFile: text(options['sshKeyPassphraseFile']),
    passphrase: text(env['FLEET_SSH_KEY_PASSPHRASE']),
    passwordFile,
    agentSocket,
    knownHostsPath: text(options['knownHosts']) ?? text(env['FLEET_KNOWN_HOSTS']),
    hostKeyPolicy: policy,
    connectTimeoutMs: Number(options['connectTimeoutMs'] ?? 20_000),
    commandTimeoutMs: Number(options['commandTimeoutMs'] ?? 120_000),
    perHostConcurrency: Number(options['sshPerHost'] ?? 10),
  };
}

export interface SshRuntime {
  /** Needed for accept-new only. */
  readonly redis?: Redis;
  /** The agent's key prefix: accept-new pins live in `<prefix>:ssh-hostkeys`. */
  readonly prefix: string;
  readonly logger?: TransportLogger;
}

export async function createSshTransportFromOptions(
  settings: SshAgentSettings,
  runtime: SshRuntime,
): Promise<SshTransport> {
  const { createHostKeyVerifier, createRedisHostKeyStore, createSshTransport, loadKnownHosts, loadSshCredentials } =
    await import('../transport/ssh/index.js');
  const [credentials, knownHosts] = await Promise.all([
    loadSshCredentials(settings),
    loadKnownHosts(settings.knownHostsPath),
  ]);
  if (settings.hostKeyPolicy === 'accept-new' && !runtime.redis) {
    throw new FleetError('FR_ERR_CONFIG_INVALID', 'host key policy accept-new needs Redis to pin keys');
  }
  const store =
    runtime.redis && settings.hostKeyPolicy === 'accept-new'
      ? createRedisHostKeyStore(runtime.redis, `${runtime.prefix}:ssh-hostkeys`)
      : undefined;
  return createSshTransport({
    credentials,
    hostKeys: createHostKeyVerifier({ knownHosts, policy: settings.hostKeyPolicy, ...(store && { store }) }),
    timeouts: { connectMs: settings.connectTimeoutMs, commandMs: settings.commandTimeoutMs },
    perHostConcurrency: settings.perHostConcurrency,
    ...(runtime.logger && { logger: runtime.logger }),
  });
}

/**
 * The `agent` command's hook: undefined without SSH credentials; otherwise a factory the transport registry calls on
 * the first ssh campaign. accept-new pins need Redis: the factory opens its own connection (same URL and prefix as
 * the agent) and closes it with the transport.
 */
export function createSshTransportHook(
  options: Record<string, unknown>,
  logger?: TransportLogger,
): (() => Promise<SshTransport>) | undefined {
  const settings = toSshTransportOptions(options);
  if (!settings) return undefined;
  return async () => {
    const config = await resolveCliConfig(toConnectionFlags(options));
    const { createRedisConnection } = await import('../queue/connection.js');
    const redis =
      settings.hostKeyPolicy === 'accept-new'
        ? await createRedisConnection(config.redisUrl, { role: 'worker' })
        : undefined;
    try {
      const transport = await createSshTransportFromOptions(settings, {
        ...(redis && { redis }),
        prefix: config.prefix,
        ...(logger && { logger }),
      });
      return {
        ...transport,
        close: async () => {
          await transport.close();
          redis?.disconnect();
        },
      };
    } catch (error) {
      redis?.disconnect();
      throw error;
    }
  };
}
