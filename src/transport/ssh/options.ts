import type { ParsedKey } from 'ssh2';
import type { ApplyAllowList } from '../../config/apply-command-rules.js';
import type { HostKeyVerifier } from './host-key-verifier.js';

/** What the agent process holds. Never logged, never copied into errors, records or job data. */
export interface SshCredentials {
  /** Decrypted once at start-up (a passphrase is not kept). */
  readonly privateKey?: ParsedKey;
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  readonly agentSocket?: string;
  readonly password?: string;
}

/** pino-compatible subset, so the transport logs through the project logger (with its redaction). */
export interface TransportLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SshTimeouts {
  /** TCP connect + SSH handshake + auth (ssh2 readyTimeout). */
  readonly connectMs: number;
  /** One remote command (the apply run, an upload). */
  readonly commandMs: number;
  /** SSH keepalive interval; the connection is dropped after `keepaliveCountMax` unanswered. */
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
  /** A connection nobody uses is closed after this long. */
  readonly idleCloseMs: number;
}

export interface SshTransportOptions {
  readonly credentials: SshCredentials;
  readonly hostKeys: HostKeyVerifier;
  readonly timeouts?: Partial<SshTimeouts>;
  /** Users deployed at once on one host:port:login (sshd MaxStartups/MaxSessions: default 10). */
  readonly perHostConcurrency?: number;
  /** Channels open at once on one connection (sshd MaxSessions, default 10). */
  readonly maxSessionsPerConnection?: number;
  /** false = a new connection per user (measurements only). */
  readonly reuseConnections?: boolean;
  readonly logger?: TransportLogger;
  /**
   * Templates this agent may run besides the shipped script's default, by name (the agent's own
   * --allow-apply-commands file). A campaign's apply command that is neither a name nor an exact text of this list is
   * refused (FR_ERR_APPLY_COMMAND_NOT_ALLOWED) before connecting. Default: none.
   */
  readonly applyAllowList?: ApplyAllowList;
  /** Directory holding posix/apply-profile.sh and windows/apply-profile.ps1 (default: the package's agent/). */
  readonly agentDir?: string;
}

export const DEFAULT_TIMEOUTS: SshTimeouts = {
  connectMs: 20_000,
  commandMs: 120_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  idleCloseMs: 5_000,
};
