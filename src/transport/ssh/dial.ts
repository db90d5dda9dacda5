import { connect as connectTcp, type Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { AuthenticationType, ConnectConfig } from 'ssh2';
import { FleetError } from '../../errors/index.js';
import { classifyConnectError } from './classify-error.js';
import type { HostKeyVerdict, HostKeyVerifier } from './host-key-verifier.js';
import type { SshCredentials, SshTimeouts } from './options.js';
import { abortError } from './semaphore.js';

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

/**
 * ssh2 writes each SSH packet with its own socket write. Packets made in the same turn of the event loop (the SFTP
 * requests sent together, a channel's EOF and CLOSE, NEWKEYS and the service request) leave in one writev instead:
 * fewer system calls and loopback wake-ups on both ends. TCP_NODELAY still holds: nothing waits past this turn.
 */
export function coalesceWrites(socket: Socket): Socket {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Socket['write'];
  return socket;
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
 * TCP (TCP_NODELAY: halves handshake latency, DESIGN §6) + SSH handshake with host key verification + auth, through
 * node-ssh's `connect` with its `sock` option. Resolves with a ready NodeSSH; rejects with a classified FleetError
 * (never ssh2's own text).
 *
 * node-ssh defect worked around here: its `connect` rejects a connection the server closes before the handshake
 * ends (MaxStartups drop, sshd killed, a non-SSH listener) with "No response from server", code ETIMEDOUT — a
 * timeout that never happened. We listen on the raw ssh2 client (`.connection`, set synchronously by `connect`)
 * and classify that close as a broken connection (test/integration/node-ssh-defects.test.ts).
 */
export async function dialSsh(params: DialParams): Promise<NodeSSH> {
  const { host, port, login, credentials, hostKeys, timeouts, signal } = params;
  if (signal.aborted) throw abortError(signal, host);
  const knownTypes = await hostKeys.knownKeyTypes(host, port);
  return new Promise<NodeSSH>((resolve, reject) => {
    const ssh = new NodeSSH();
    const socket = coalesceWrites(connectTcp({ host, port, noDelay: true }));
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const settle = (error?: FleetError): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) {
        ssh.connection?.end();
        ssh.dispose();
        socket.destroy();
        reject(error);
      } else {
        resolve(ssh);
      }
    };
    const onAbort = (): void => settle(abortError(signal, host));
    signal.addEventListener('abort', onAbort, { once: true });
    let connecting: Promise<NodeSSH>;
    try {
      connecting = ssh.connect({
        sock: socket,
        username: login,
        readyTimeout: timeouts.connectMs,
        keepaliveInterval: timeouts.keepaliveIntervalMs,
        keepaliveCountMax: timeouts.keepaliveCountMax,
        authHandler: buildAuthMethods(login, credentials),
        ...(knownTypes.length > 0 && { algorithms: { serverHostKey: orderHostKeyAlgorithms(knownTypes) as never } }),
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
    } catch (error) {
      settle(classifyConnectError(error, { host, port }));
      return;
    }
    // The raw client exists as soon as connect() returns (no await comes before it in node-ssh): our listeners see
    // the real cause. One stays for late errors on a failed dial (ssh2 re-emits socket errors).
    const client = ssh.connection;
    client?.on('error', (error: unknown) => settle(classifyConnectError(error, { host, port, verdict })));
    client?.once('close', () => settle(classifyConnectError(undefined, { host, port, verdict })));
    connecting.then(
      () => settle(),
      (error: unknown) => settle(classifyConnectError(error, { host, port, verdict })),
    );
  });
}
