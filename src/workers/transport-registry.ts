import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CampaignFile } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';
import { createLocalTransport } from '../transport/local/local-transport.js';
import type { Transport } from '../transport/transport.js';

/** The shipped POSIX agent script (src/workers and dist/workers sit at the same depth). */
export const DEFAULT_SCRIPT_PATH = fileURLToPath(new URL('../../agent/posix/apply-profile.sh', import.meta.url));
export const DEFAULT_LOCAL_ROOT = '.fleet/hosts';

export interface TransportRegistryOptions {
  /** --local-root: wins over the campaign's `deploy.local_root`. */
  readonly localRoot?: string;
  readonly scriptPath?: string;
  /** `noop` for benchmarks. */
  readonly localApply?: 'script' | 'noop';
  /**
   * Hook for the SSH transport (src/transport/ssh): the agent command builds it from its --ssh-* flags.
   * Called once, on the first ssh campaign this agent serves.
   */
  readonly createSsh?: () => Promise<Transport>;
}

export interface TransportRegistry {
  readonly getTransport: (deploy: CampaignFile['deploy']) => Promise<Transport>;
  readonly closeAll: () => Promise<void>;
}

/** Transports are chosen per campaign (`deploy.transport`) and created lazily, once per kind (and local root). */
export function createTransportRegistry(options: TransportRegistryOptions = {}): TransportRegistry {
  const transports = new Map<string, Promise<Transport>>();
  return {
    getTransport(deploy) {
      if (deploy.transport === 'ssh') {
        let ssh = transports.get('ssh');
        if (!ssh) {
          const create = options.createSsh;
          if (!create) {
            return Promise.reject(
              new FleetError('FR_ERR_CONFIG_INVALID', 'this agent has no SSH transport configured'),
            );
          }
          ssh = create();
          transports.set('ssh', ssh);
          ssh.catch(() => transports.delete('ssh'));
        }
        return ssh;
      }
      const root = resolve(options.localRoot ?? deploy.local_root ?? DEFAULT_LOCAL_ROOT);
      const key = `local:${root}`;
      let local = transports.get(key);
      if (!local) {
        local = Promise.resolve(
          createLocalTransport({
            root,
            scriptPath: options.scriptPath ?? DEFAULT_SCRIPT_PATH,
            apply: options.localApply ?? 'script',
          }),
        );
        transports.set(key, local);
      }
      return local;
    },
    async closeAll() {
      await Promise.allSettled([...transports.values()].map(async (t) => (await t).close()));
      transports.clear();
    },
  };
}
