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
  /** The agent's own allow-list of apply-command templates (name: template); none = only the shipped script. */
  readonly applyCommandsPath?: string;
  /** File holding the secret that signs accept-new pins (never in Redis). */
  readonly pinSecretFile?: string;
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
    .option(
      '--allow-apply-commands <file>',
      'ssh: YAML/JSON "name: template" list of apply commands campaigns may use besides the shipped script (env FLEET_ALLOW_APPLY_COMMANDS)',
    )
    .option(
      '--host-key-pin-secret-file <file>',
      'ssh: secret (≥ 16 bytes) signing accept-new pins, the same on every agent (env FLEET_HOST_KEY_PIN_SECRET_FILE)',
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
    applyCommandsPath: text(options['allowApplyCommands']) ?? text(env['FLEET_ALLOW_APPLY_COMMANDS']),
    pinSecretFile: text(options['hostKeyPinSecretFile']) ?? text(env['FLEET_HOST_KEY_PIN_SECRET_FILE']),
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
  const [
    { createHostKeyVerifier, createRedisHostKeyStore, createSshTransport, loadSshCredentials },
    { loadApplyAllowList },
    { loadPinSecret },
    { fixedKnownHosts, openKnownHostsFile },
    { hostKeyPinsKey },
  ] = await Promise.all([
    import('../transport/ssh/index.js'),
    import('../config/load-apply-allow-list.js'),
    import('../transport/ssh/load-pin-secret.js'),
    import('../transport/ssh/load-known-hosts.js'),
    import('../transport/ssh/host-key-pin.js'),
  ]);
  checkHostKeySettings(settings);
  const warn = (message: string) => runtime.logger?.warn({ knownHosts: settings.knownHostsPath }, message);
  const [credentials, knownHosts, applyAllowList, pinSecret] = await Promise.all([
    loadSshCredentials(settings),
    // Read again whenever it changes: an admin's edit reaches running agents at their next handshake.
    settings.knownHostsPath ? openKnownHostsFile(settings.knownHostsPath, warn) : fixedKnownHosts([]),
    loadApplyAllowList(settings.applyCommandsPath),
    settings.hostKeyPolicy === 'accept-new' ? loadPinSecret(settings.pinSecretFile) : undefined,
  ]);
  if (settings.hostKeyPolicy === 'strict' && knownHosts.entries().length === 0) {
    throw new FleetError(
      'FR_ERR_CONFIG_INVALID',
      `--known-hosts ${settings.knownHostsPath}: no host key in it; with --host-key-policy strict every host would be refused`,
    );
  }
  if (settings.hostKeyPolicy === 'accept-new' && !runtime.redis) {
    throw new FleetError('FR_ERR_CONFIG_INVALID', 'host key policy accept-new needs Redis to pin keys');
  }
  const store =
    runtime.redis && settings.hostKeyPolicy === 'accept-new'
      ? createRedisHostKeyStore(runtime.redis, hostKeyPinsKey(runtime.prefix))
      : undefined;
  return createSshTransport({
    credentials,
    applyAllowList,
    hostKeys: createHostKeyVerifier({
      knownHosts,
      policy: settings.hostKeyPolicy,
      ...(store && { store }),
      ...(pinSecret && { pinSecret }),
    }),
    timeouts: { connectMs: settings.connectTimeoutMs, commandMs: settings.commandTimeoutMs },
    perHostConcurrency: settings.perHostConcurrency,
    ...(runtime.logger && { logger: runtime.logger }),
  });
}

/** Host-key settings that would fail every user (refused before anything is read or opened). */
function checkHostKeySettings(settings: SshAgentSettings): void {
  if (settings.hostKeyPolicy === 'strict' && !settings.knownHostsPath) {
    throw new FleetError(
      'FR_ERR_CONFIG_INVALID',
      '--host-key-policy strict needs --known-hosts FILE (or FLEET_KNOWN_HOSTS): without it every host would be refused as unknown',
    );
  }
  if (settings.hostKeyPolicy === 'accept-new' && !settings.pinSecretFile) {
    throw new FleetError(
      'FR_ERR_CONFIG_INVALID',
      '--host-key-policy accept-new needs --host-key-pin-secret-file FILE (or FLEET_HOST_KEY_PIN_SECRET_FILE): pins in Redis are signed so that whoever can write to Redis cannot plant one',
    );
  }
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
