import { type ErrorCode, FleetError } from '../../errors/index.js';
import type { HostKeyVerdict } from './host-key-verifier.js';

const SOCKET_CODES: Readonly<Record<string, ErrorCode>> = {
  ECONNREFUSED: 'FR_ERR_SSH_CONNECT_REFUSED',
  ECONNRESET: 'FR_ERR_SSH_CONNECTION_RESET',
  EPIPE: 'FR_ERR_SSH_CONNECTION_RESET',
  ECONNABORTED: 'FR_ERR_SSH_CONNECTION_RESET',
  ETIMEDOUT: 'FR_ERR_SSH_CONNECT_TIMEOUT',
  EHOSTUNREACH: 'FR_ERR_SSH_HOST_UNREACHABLE',
  ENETUNREACH: 'FR_ERR_SSH_HOST_UNREACHABLE',
  EHOSTDOWN: 'FR_ERR_SSH_HOST_UNREACHABLE',
  ENETDOWN: 'FR_ERR_SSH_HOST_UNREACHABLE',
  EADDRNOTAVAIL: 'FR_ERR_SSH_HOST_UNREACHABLE',
  ENOTFOUND: 'FR_ERR_SSH_HOST_NOT_FOUND',
  EAI_AGAIN: 'FR_ERR_SSH_HOST_NOT_FOUND',
  EAI_NODATA: 'FR_ERR_SSH_HOST_NOT_FOUND',
};

const VERDICT_CODES: Partial<Record<HostKeyVerdict, ErrorCode>> = {
  unknown: 'FR_ERR_SSH_HOSTKEY_UNKNOWN',
  changed: 'FR_ERR_SSH_HOSTKEY_CHANGED',
  revoked: 'FR_ERR_SSH_HOSTKEY_CHANGED',
  forged: 'FR_ERR_SSH_HOSTKEY_PIN_INVALID',
};

const VERDICT_TEXTS: Readonly<Record<string, (where: string) => string>> = {
  FR_ERR_SSH_HOSTKEY_CHANGED: (where) => `host key changed for ${where} (possible man-in-the-middle); not accepted`,
  FR_ERR_SSH_HOSTKEY_UNKNOWN: (where) => `host key unknown for ${where} (not in known_hosts, policy strict)`,
  FR_ERR_SSH_HOSTKEY_PIN_INVALID: (where) =>
    `host key pin for ${where} in Redis is not signed with the agents' pin secret (written by someone else); not trusted`,
};

interface Ssh2ErrorShape {
  readonly code?: unknown;
  readonly level?: unknown;
}

export interface ConnectFailureContext {
  readonly host: string;
  readonly port: number;
  /** Set when the host key was refused during this handshake. */
  readonly verdict?: HostKeyVerdict;
}

/**
 * ssh2 / socket error → FleetError. Messages are built here from codes only: ssh2's texts are never copied,
 * so nothing a secret could hide in (key parse errors, server banners) reaches an error or a log.
 */
export function classifyConnectError(error: unknown, context: ConnectFailureContext): FleetError {
  if (error instanceof FleetError) return error;
  const { host, port } = context;
  const where = `${host}:${port}`;
  const verdictCode = context.verdict ? VERDICT_CODES[context.verdict] : undefined;
  if (verdictCode) {
    const text = VERDICT_TEXTS[verdictCode]?.(where) ?? verdictCode;
    return new FleetError(verdictCode, text, { host, port, step: 'connect' });
  }
  const shape = (error ?? {}) as Ssh2ErrorShape;
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const level = typeof shape.level === 'string' ? shape.level : undefined;
  if (level === 'client-authentication' || level === 'agent') {
    return new FleetError('FR_ERR_SSH_AUTH_FAILED', `authentication failed for ${where}`, {
      host,
      port,
      step: 'connect',
    });
  }
  if (level === 'client-timeout') {
    return new FleetError('FR_ERR_SSH_CONNECT_TIMEOUT', `connection to ${where} timed out`, { host, port });
  }
  const mapped = code ? SOCKET_CODES[code] : undefined;
  if (mapped) {
    return new FleetError(mapped, `${code} connecting to ${where}`, { host, port, step: 'connect', errno: code });
  }
  // Handshake cut, protocol error, server closed early: the connection broke (retry later).
  return new FleetError('FR_ERR_SSH_CONNECTION_RESET', `connection to ${where} broke (${level ?? 'ssh'})`, {
    host,
    port,
    step: 'connect',
  });
}

/**
 * Host busy (issue 10 §2): ssh2 reports a refused channel open (SSH_MSG_CHANNEL_OPEN_FAILURE) as an Error with a
 * numeric `reason`; sshd refuses a session channel when `MaxSessions` are open. Nothing ran: transient.
 */
function isChannelOpenRefused(error: unknown): boolean {
  return typeof (error as { reason?: unknown } | undefined)?.reason === 'number';
}

/** A failure on an open connection (channel open refused, connection lost mid-command). */
export function classifyChannelError(error: unknown, host: string, step: string): FleetError {
  if (error instanceof FleetError) return error;
  if (isChannelOpenRefused(error)) {
    const message = `${host} refused another session during ${step} (sshd MaxSessions reached)`;
    return new FleetError('FR_ERR_SSH_HOST_BUSY', message, { host, step });
  }
  const code = (error as Ssh2ErrorShape | undefined)?.code;
  const errno = typeof code === 'string' ? code : undefined;
  return new FleetError('FR_ERR_SSH_CONNECTION_RESET', `connection to ${host} broke during ${step}`, {
    host,
    step,
    errno,
  });
}
