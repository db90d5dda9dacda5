import type { Redis } from 'ioredis';
import { FleetError } from '../errors/index.js';
import { describePin, type HostKeyPin, hostKeyPinsKey, parseHostPort, pinId } from '../transport/ssh/host-key-pin.js';
import { createRedisHostKeyPinAdmin } from '../transport/ssh/host-key-store.js';

export type { HostKeyPin };

export interface ForgetHostKeyResult {
  readonly host: string;
  readonly port: number;
  /** False when the host had no pin (nothing changed). */
  readonly forgotten: boolean;
}

/** The accept-new pins seen from the admin's side (`hostkeys list|forget`, the dashboard later). */
export interface HostKeyFacade {
  /** Every pin, by host; with the agents' pin secret each signature is checked (`valid`/`invalid`). */
  hostKeys(pinSecret?: Buffer): Promise<HostKeyPin[]>;
  /**
   * Forgets the pin of `HOST[:PORT]` (port 22 by default, `[host]:port` accepted): running agents read pins at each
   * handshake, so the next deploy to that host pins the key it presents (a re-installed machine), no restart.
   */
  forgetHostKey(hostPort: string): Promise<ForgetHostKeyResult>;
}

export function createHostKeyFacade(redis: Redis, prefix: string): HostKeyFacade {
  const pins = createRedisHostKeyPinAdmin(redis, hostKeyPinsKey(prefix));
  return {
    async hostKeys(pinSecret) {
      return (await pins.list()).map(({ id, value }) => describePin(id, value, pinSecret));
    },
    async forgetHostKey(hostPort) {
      const target = parseHostPort(hostPort);
      if (!target) {
        throw new FleetError('FR_ERR_USAGE', `${JSON.stringify(hostPort)}: give HOST, HOST:PORT or [HOST]:PORT`);
      }
      return { ...target, forgotten: await pins.forget(pinId(target.host, target.port)) };
    },
  };
}
