import { connect as connectTcp } from 'node:net';
import ssh2, { type AuthenticationType, type ConnectConfig } from 'ssh2';
import { FleetError } from '../../errors/index.js';
import { classifyConnectError } from './classify-error.js';
import type { HostKeyVerdict, HostKeyVerifier } from './host-key-verifier.js';
import type { SshCredentials, SshTimeouts } from './options.js';
import { abortError } from './semaphore.js';

type Client = InstanceType<typeof ssh2.Client>;

export interface DialParams {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly credentials: SshCredentials;
  readonly hostKeys: HostKeyVerifier;
  readonly timeouts: SshTimeouts;
  readonly signal: AbortSignal;
}

/** ssh2's default host key algorithms, strongest first. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Ask first for the key types we already know for the host (as OpenSSH does), so a known host is not "changed". */
export function orderHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const known = preferred.filter((a) => HOST_KEY_ALGORITHMS.includes(a));
  return [...new Set([...known, ...HOST_KEY_ALGORITHMS])];
}

function buildAuthMethods(login: string, credentials: SshCredentials): ConnectConfig['authHandler'] {
  const methods: Array<Record<string, unknown> & { type: AuthenticationType; username: string }> = [];
  if (credentials.privateKey) methods.push({ type: 'publickey', username: login, key: credentials.privateKey });
  if (credentials.agentSocket) methods.push({ type: 'agent', username: login, agent: credentials.agentSocket });
  if (credentials.password !== undefined) {
    methods.push({ type: 'password', username: login, password: credentials.password });
  }
  return methods as unknown as ConnectConfig['authHandler'];
}

/**
 * TCP (TCP_NODELAY: halves handshake latency, DESIGN §6) + SSH handshake with host key verification + auth.
 * Resolves with a ready client; rejects with a classified FleetError (never ssh2's own text).
 */
export async function dialSsh(params: DialParams): Promise<Client> {
  const { host, port, login, credentials, hostKeys, timeouts, signal } = params;
  if (signal.aborted) throw abortError(signal, host);
  const knownTypes = await hostKeys.knownKeyTypes(host, port);
  return new Promise<Client>((resolve, reject) => {
    const client = new ssh2.Client();
    const socket = connectTcp({ host, port, noDelay: true });
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const settle = (error?: FleetError): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) {
        client.end();
        socket.destroy();
        reject(error);
      } else {
        resolve(client);
      }
    };
    const onAbort = (): void => settle(abortError(signal, host));
    signal.addEventListener('abort', onAbort, { once: true });
    // Keep a listener for late errors on a failed dial (ssh2 re-emits socket errors).
    client.on('error', (error: unknown) => settle(classifyConnectError(error, { host, port, verdict })));
    client.once('close', () => settle(classifyConnectError(undefined, { host, port, verdict })));
    client.once('ready', () => settle());
    try {
      connectClient();
    } catch (error) {
      settle(classifyConnectError(error, { host, port }));
    }
    function connectClient(): void {
      client.connect({
        sock: socket,
        username: login,
        readyTimeout: timeouts.connectMs,
        keepaliveInterval: timeouts.keepaliveIntervalMs,
        keepaliveCountMax: timeouts.keepaliveCountMax,
        authHandler: buildAuthMethods(login, credentials),
        algorithms: knownTypes.length > 0 ? { serverHostKey: orderHostKeyAlgorithms(knownTypes) as never } : undefined,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
          hostKeys.verify(host, port, key).then(
            (result) => {
              verdict = result;
              verify(result === 'trusted' || result === 'pinned');
            },
            () => {
              // The pin store (Redis) failed: not the host's fault, so retry later rather than refuse for good.
              settle(
                new FleetError('FR_ERR_REDIS_UNREACHABLE', `host key store unavailable for ${host}:${port}`, { host }),
              );
              verify(false);
            },
          );
        },
      });
    }
  });
}
