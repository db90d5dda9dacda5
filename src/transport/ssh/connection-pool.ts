import type { DeployTarget } from '../transport.js';
import { dialSsh } from './dial.js';
import type { HostKeyVerifier } from './host-key-verifier.js';
import type { SshCredentials, SshTimeouts, TransportLogger } from './options.js';
import { abortError, raceAbort, Semaphore } from './semaphore.js';
import { SshConnection } from './ssh-connection.js';

export interface PoolOptions {
  readonly credentials: SshCredentials;
  readonly hostKeys: HostKeyVerifier;
  readonly timeouts: SshTimeouts;
  readonly perHostConcurrency: number;
  readonly maxSessionsPerConnection: number;
  readonly reuseConnections: boolean;
  readonly logger?: TransportLogger;
}

interface HostEntry {
  readonly slots: Semaphore;
  connection?: SshConnection;
  dialing?: Promise<SshConnection>;
  /** A dial started by warm(): its failure is kept for the next user of the host, so it is not dialled twice. */
  warmed?: Promise<SshConnection>;
  idleTimer?: NodeJS.Timeout;
}

/** Waits until a new connection may be dialled (connection rate shared by agents). */
export type ConnectGate = (signal: AbortSignal) => Promise<void>;

const keyOf = (target: DeployTarget): string => `${target.login}@${target.host}:${target.port}`;

/** Counters a test or benchmark can read. */
export interface PoolStats {
  dials: number;
  reused: number;
}

/**
 * One connection per host:port:login, shared by the users deployed on that host (terminal servers), at most
 * `perHostConcurrency` of them at once; closed after `idleCloseMs` unused; dropped and re-dialled when broken.
 */
export class ConnectionPool {
  readonly stats: PoolStats = { dials: 0, reused: 0 };
  private readonly hosts = new Map<string, HostEntry>();
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  private entryOf(key: string): HostEntry {
    let entry = this.hosts.get(key);
    if (!entry) {
      entry = { slots: new Semaphore(this.options.perHostConcurrency) };
      this.hosts.set(key, entry);
    }
    return entry;
  }

  /**
   * Starts the host's connection before its user's step asks for it (shared like any dial), so the step's
   * bookkeeping overlaps the handshake. Unused, it is closed like an idle one; a failure waits for the step.
   */
  warm(target: DeployTarget, beforeConnect?: ConnectGate): void {
    if (!this.options.reuseConnections || this.closed) return;
    const key = keyOf(target);
    const entry = this.entryOf(key);
    if ((entry.connection && !entry.connection.broken) || entry.dialing || entry.warmed) return;
    const dialing = this.startDial(entry, target, beforeConnect);
    entry.warmed = dialing;
    dialing.then(
      (connection) => {
        if (entry.warmed === dialing) entry.warmed = undefined;
        if (connection.leases === 0) this.scheduleIdleClose(key, entry, connection);
      },
      () => {
        // Nobody came for the failure (the step was not started): forget it after the idle delay.
        setTimeout(() => {
          if (entry.warmed !== dialing) return;
          entry.warmed = undefined;
          if (!entry.connection && !entry.dialing && entry.slots.inUse === 0) this.hosts.delete(key);
        }, this.options.timeouts.idleCloseMs).unref();
      },
    );
  }

  /** `beforeConnect` runs before a new connection is dialled (the shared connection rate), not on a reuse. */
  async withConnection<T>(
    target: DeployTarget,
    signal: AbortSignal,
    work: (c: SshConnection) => Promise<T>,
    beforeConnect?: ConnectGate,
  ) {
    const key = keyOf(target);
    const held = this.entryOf(key);
    await held.slots.acquire(signal);
    let connection: SshConnection | undefined;
    try {
      connection = this.options.reuseConnections
        ? await this.obtain(held, target, signal, beforeConnect)
        : await this.dial(target, signal, beforeConnect);
      connection.leases += 1;
      clearTimeout(held.idleTimer);
      return await work(connection);
    } finally {
      if (connection) {
        connection.leases -= 1;
        if (!this.options.reuseConnections) connection.end();
        else if (connection.leases === 0) this.scheduleIdleClose(key, held, connection);
      }
      held.slots.release();
      if (!held.connection && !held.dialing && !held.warmed && held.slots.inUse === 0) this.hosts.delete(key);
    }
  }

  private async obtain(
    entry: HostEntry,
    target: DeployTarget,
    signal: AbortSignal,
    beforeConnect?: ConnectGate,
  ): Promise<SshConnection> {
    if (entry.connection && !entry.connection.broken) {
      this.stats.reused += 1;
      return entry.connection;
    }
    entry.connection = undefined;
    const pending = entry.dialing ?? entry.warmed ?? this.startDial(entry, target, beforeConnect);
    entry.warmed = undefined;
    // A waiter that gives up does not cancel the dial others share.
    return raceAbort(pending, signal, target.host);
  }

  private startDial(entry: HostEntry, target: DeployTarget, beforeConnect?: ConnectGate): Promise<SshConnection> {
    const dialing = this.dial(target, new AbortController().signal, beforeConnect);
    entry.dialing = dialing;
    dialing.then(
      (c) => {
        entry.connection = c;
        entry.dialing = undefined;
      },
      () => {
        entry.dialing = undefined;
      },
    );
    return dialing;
  }

  private async dial(target: DeployTarget, signal: AbortSignal, beforeConnect?: ConnectGate): Promise<SshConnection> {
    if (this.closed) throw abortError(signal, target.host);
    if (beforeConnect) await beforeConnect(signal);
    const { credentials, hostKeys, timeouts, logger } = this.options;
    this.stats.dials += 1;
    logger?.debug({ host: target.host, port: target.port, login: target.login }, 'ssh connect');
    const ssh = await dialSsh({ ...target, credentials, hostKeys, timeouts, signal });
    return new SshConnection(ssh, target.host, this.options.maxSessionsPerConnection);
  }

  private scheduleIdleClose(key: string, entry: HostEntry, connection: SshConnection): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => {
      if (connection.leases > 0) return;
      connection.end();
      if (entry.connection === connection) entry.connection = undefined;
      if (!entry.dialing && entry.slots.inUse === 0) this.hosts.delete(key);
    }, this.options.timeouts.idleCloseMs);
    entry.idleTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending: Promise<unknown>[] = [];
    for (const entry of this.hosts.values()) {
      clearTimeout(entry.idleTimer);
      entry.connection?.end();
      if (entry.dialing)
        pending.push(
          entry.dialing.then(
            (c) => c.end(),
            () => undefined,
          ),
        );
    }
    this.hosts.clear();
    await Promise.all(pending);
  }
}
