import type { Command } from 'commander';
import { addConnectionOptions, cliActor, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

interface ListFlags {
  readonly json?: boolean;
  readonly hostKeyPinSecretFile?: string;
}

/**
 * `hostkeys list|forget`: the host keys agents pinned under `--host-key-policy accept-new` (Redis hash
 * `<prefix>:ssh-hostkeys`). Forgetting a pin takes effect at the running agents' next handshake to that host.
 */
export function registerHostKeys(program: Command): void {
  const hostkeys = program
    .command('hostkeys')
    .description('host keys pinned by agents under --host-key-policy accept-new: list, forget');
  addConnectionOptions(
    hostkeys
      .command('list')
      .description('every pinned host key: host, port, key type, SHA256 fingerprint (and its signature)')
      .option(
        '--host-key-pin-secret-file <file>',
        "the agents' pin secret: check each pin's signature (valid/invalid) (env FLEET_HOST_KEY_PIN_SECRET_FILE)",
      )
      .option('--json', 'print JSON', false),
  ).action(async (flags: ListFlags & Record<string, unknown>) => {
    const secretFile = flags.hostKeyPinSecretFile ?? process.env['FLEET_HOST_KEY_PIN_SECRET_FILE'];
    const { loadPinSecret } = await import('../../transport/ssh/load-pin-secret.js');
    const secret = secretFile ? await loadPinSecret(secretFile) : undefined;
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const pins = await fleet.hostKeys(secret);
      if (flags.json) {
        await writeJson(pins);
        return;
      }
      const lines = pins.map((pin) => {
        const signature = pin.signature === 'unchecked' ? '' : `  signature ${pin.signature}`;
        return `${pin.host}:${pin.port}  ${pin.keyType}  ${pin.fingerprint}${signature}`;
      });
      await writeOut(lines.length > 0 ? `${lines.join('\n')}\n` : 'no pinned host keys\n');
    });
  });
  addConnectionOptions(
    hostkeys
      .command('forget')
      .description("forget a host's pinned key (a re-installed machine): the next connection pins the key it finds")
      .argument('<host>', 'HOST, HOST:PORT or [HOST]:PORT (port 22 by default)')
      .option('--json', 'print JSON', false),
  ).action(async (hostPort: string, flags: { json?: boolean } & Record<string, unknown>) => {
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const result = await fleet.forgetHostKey(hostPort);
      const id = `${result.host}:${result.port}`;
      await fleet.audit({
        who: cliActor(),
        action: 'hostkeys-forget',
        filter: { host: result.host, port: result.port },
        outcome: result.forgotten ? 'forgotten' : 'no pin',
      });
      if (flags.json) await writeJson(result);
      else
        await writeOut(
          result.forgotten
            ? `forgot the pinned host key of ${id}: the next connection to it pins the key it presents\n`
            : `no pinned host key for ${id} (nothing changed)\n`,
        );
    });
  });
}
