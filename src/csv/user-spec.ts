import type { ErrorCode } from '../errors/index.js';

/** Office versions as registry keys; 13.0 does not exist. */
export const OFFICE_VERSIONS = ['11.0', '12.0', '14.0', '15.0', '16.0'] as const;
export type OfficeVersion = (typeof OFFICE_VERSIONS)[number];

export type ProxyAuth = 'ntlm' | 'basic';

/**
 * One validated CSV row: everything needed to render a user's PRF and deploy it.
 * Every string here has passed the strict grammar of src/csv (no control characters, RFC 1123 hosts,
 * Windows user-name rules), so no value can open a PRF line, key, section or a path.
 */
export interface UserSpec {
  /** Windows logon name, as written in the CSV (case kept; duplicates are detected case-insensitively). */
  readonly username: string;
  readonly email?: string;
  /** Reports only, never written into a PRF. */
  readonly displayName?: string;
  /** PRF MailboxName; defaults to username. */
  readonly mailbox: string;
  /** PRF HomeServer: NetBIOS name or FQDN. */
  readonly exchangeServer: string;
  /** PRF RPCProxyServer: host name only (no scheme, no port). */
  readonly proxyHost: string;
  /** true for https:// or a bare host; false for http://. */
  readonly ssl: boolean;
  readonly auth: ProxyAuth;
  readonly mutualAuth: boolean;
  /** Full principal, `msstd:<fqdn>` or `msstd:*.<domain>`; present only when mutualAuth. */
  readonly principal?: string;
  readonly httpFirstFast: boolean;
  readonly httpFirstSlow: boolean;
  /** Workstation to deploy to (hostname or IP literal); required for deploy, optional for generate. */
  readonly host?: string;
  readonly site?: string;
  readonly office: OfficeVersion;
  readonly profileName: string;
}

/** A row that failed validation. `line` is the physical line where the record starts (header = 1). */
export interface Rejection {
  readonly line: number;
  /** Column name as in the contract (e.g. `proxy`), or `*` for a whole-row problem. */
  readonly column: string;
  /** Offending value, truncated and with control characters escaped (safe to print). */
  readonly value: string;
  readonly reason: string;
  readonly code: ErrorCode;
  /** Username of the row when it could be read (for `skipped` records); never set for duplicates. */
  readonly username?: string;
}

export interface AcceptedRow {
  readonly line: number;
  readonly spec: UserSpec;
}
