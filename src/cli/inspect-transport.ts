import type { Redis } from 'ioredis';
import type { CampaignFile } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';
import type { Transport } from '../transport/transport.js';
import { createSshTransportFromOptions, toSshTransportOptions } from './ssh-options.js';

/**
 * The transport `probe` and `verify` use: the campaign's own (`deploy.transport`), with the agent's SSH flags
 * (credentials, known_hosts, host-key policy, per-host cap) exactly as a deploy would. Loaded on use only.
 */
export async function openInspectTransport(
  file: CampaignFile,
  flags: Record<string, unknown>,
  runtime: { readonly redis?: Redis; readonly prefix: string },
): Promise<Transport> {
  if (file.deploy.transport === 'ssh') {
    const settings = toSshTransportOptions(flags);
    if (!settings) {
      throw new FleetError(
        'FR_ERR_CONFIG_INVALID',
        'ssh campaign: give --ssh-key, --ssh-password-file or an ssh-agent',
      );
    }
    return createSshTransportFromOptions(settings, runtime);
  }
  const { createTransportRegistry } = await import('../workers/transport-registry.js');
  const localRoot = typeof flags['localRoot'] === 'string' ? flags['localRoot'] : undefined;
  return createTransportRegistry(localRoot !== undefined ? { localRoot } : {}).getTransport(file.deploy);
}

/** Whether a probe/verify needs Redis even for a CSV: host keys pinned on first use live there. */
export function needsRedisForHostKeys(flags: Record<string, unknown>): boolean {
  return flags['hostKeyPolicy'] === 'accept-new';
}
