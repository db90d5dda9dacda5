import type { ColumnDefaults } from '../config/campaign-schema.js';
import type { ErrorCode } from '../errors/index.js';
import type { Column, HeaderMap } from './columns.js';
import {
  type FieldResult,
  parseAccountName,
  parseAuth,
  parseEmail,
  parseFreeText,
  parseOfficeVersion,
  parsePrincipal,
  parseSite,
  parseYesNo,
} from './field-rules.js';
import { checkHostName, checkServerName, checkWorkstation } from './host-rules.js';
import { type ProxyParse, parseProxyUrl } from './proxy-url.js';
import { describeValue } from './text-rules.js';
import type { AcceptedRow, Rejection, UserSpec } from './user-spec.js';

/** Campaign defaults as CSV cell text (booleans → yes/no, `office: 16` → `16.0`). */
export type DefaultCells = Readonly<Partial<Record<Column, string>>>;

export function toDefaultCells(defaults: ColumnDefaults): DefaultCells {
  const cells: Partial<Record<Column, string>> = {};
  for (const [key, value] of Object.entries(defaults) as [Column, string | number | boolean | undefined][]) {
    if (value === undefined) continue;
    cells[key] = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  }
  return cells;
}

/** Returns the line of an earlier row with the same username, or null after recording this one. */
export type ClaimUsername = (username: string, line: number) => number | null;

export type RowResult = { ok: true; row: AcceptedRow } | { ok: false; rejection: Rejection };

/**
 * Per-roster memo of the checks whose values repeat on most rows (one proxy, a few Exchange servers).
 * Bounded: cleared when it grows past MEMO_LIMIT distinct values.
 */
export interface RowMemo {
  readonly proxies: Map<string, ProxyParse>;
  readonly servers: Map<string, string | null>;
  readonly domains: Map<string, string | null>;
  readonly sites: Map<string, FieldResult<string>>;
}

const MEMO_LIMIT = 1024;

export function createRowMemo(): RowMemo {
  return { proxies: new Map(), servers: new Map(), domains: new Map(), sites: new Map() };
}

function remember<V>(map: Map<string, V>, key: string, compute: (key: string) => V): V {
  const known = map.get(key);
  if (known !== undefined || map.has(key)) return known as V;
  if (map.size >= MEMO_LIMIT) map.clear();
  const value = compute(key);
  map.set(key, value);
  return value;
}

class RowRejected extends Error {
  constructor(
    readonly column: Column | '*',
    readonly value: string,
    readonly reason: string,
    readonly code: ErrorCode,
  ) {
    super(reason);
  }
}

function need<T>(result: FieldResult<T>, column: Column, value: string): T {
  if (result.ok) return result.value;
  throw new RowRejected(column, value, result.reason, 'FR_ERR_ROW_FIELD_INVALID');
}

const isPrintableAscii = (code: number): boolean => code > 32 && code < 127;

/** The cell of `column`, or the campaign default when the column is absent or the cell blank. */
function readCell(
  cells: readonly string[],
  header: HeaderMap,
  defaults: DefaultCells,
  column: Column,
): string | undefined {
  const index = header.indexes.get(column);
  const cell = index === undefined ? undefined : cells[index];
  // Most cells start with a printable character: skip trim() (an allocation) for them.
  if (cell !== undefined && cell !== '' && (isPrintableAscii(cell.charCodeAt(0)) || cell.trim() !== '')) return cell;
  return defaults[column];
}

function requireCell(cells: readonly string[], header: HeaderMap, defaults: DefaultCells, column: Column): string {
  const value = readCell(cells, header, defaults, column);
  if (value === undefined) throw new RowRejected(column, '', `${column} is required`, 'FR_ERR_ROW_FIELD_REQUIRED');
  return value;
}

const checkEmailDomain = (domain: string): string | null => checkHostName(domain, 2);
const parseDisplayName = (value: string): FieldResult<string> => parseFreeText(value.trim(), 256);
const parseProfileName = (value: string): FieldResult<string> => parseFreeText(value, 64);
const parseWorkstation = (value: string): FieldResult<string> => {
  const host = value.trim();
  const reason = checkWorkstation(host);
  return reason ? { ok: false, reason } : { ok: true, value: host.toLowerCase() };
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Validates one record against the column contract; the first problem found is reported. */
export function validateRow(
  cells: readonly string[],
  line: number,
  header: HeaderMap,
  defaults: DefaultCells,
  claimUsername: ClaimUsername,
  memo: RowMemo = createRowMemo(),
): RowResult {
  let username: string | undefined;
  const optional = <T>(column: Column, parse: (value: string) => FieldResult<T>): T | undefined => {
    const value = readCell(cells, header, defaults, column);
    return value === undefined ? undefined : need(parse(value), column, value);
  };
  try {
    if (cells.length !== header.width) {
      const reason = `the row has ${cells.length} field(s), the header has ${header.width}`;
      throw new RowRejected('*', describeValue(cells.join(',')), reason, 'FR_ERR_ROW_FIELD_COUNT');
    }
    const rawName = requireCell(cells, header, defaults, 'username');
    const name = need(parseAccountName(rawName), 'username', rawName);
    const firstLine = claimUsername(name, line);
    if (firstLine !== null) {
      const reason = `duplicate username (first seen on line ${firstLine})`;
      throw new RowRejected('username', name, reason, 'FR_ERR_ROW_DUPLICATE');
    }
    username = name;

    const email = optional('email', (value) =>
      parseEmail(value.trim(), (domain) => remember(memo.domains, domain, checkEmailDomain)),
    );
    const displayName = optional('display_name', parseDisplayName);
    const mailbox = optional('mailbox', parseAccountName) ?? name;
    const exchangeRaw = requireCell(cells, header, defaults, 'exchange_server');
    const exchangeServer = exchangeRaw.trim().toLowerCase();
    const serverReason = remember(memo.servers, exchangeServer, checkServerName);
    if (serverReason) throw new RowRejected('exchange_server', exchangeRaw, serverReason, 'FR_ERR_ROW_FIELD_INVALID');

    const proxyRaw = requireCell(cells, header, defaults, 'proxy');
    const proxy = remember(memo.proxies, proxyRaw, parseProxyUrl);
    if (!proxy.ok) throw new RowRejected('proxy', proxyRaw, proxy.reason, 'FR_ERR_ROW_FIELD_INVALID');

    const auth = optional('auth', parseAuth) ?? 'ntlm';
    if (auth === 'basic' && !proxy.ssl) {
      const reason = `Basic authentication needs SSL but the proxy is http://${proxy.host}; use https://`;
      throw new RowRejected(
        'auth',
        readCell(cells, header, defaults, 'auth') ?? 'basic',
        reason,
        'FR_ERR_ROW_FIELD_INVALID',
      );
    }
    const mutualAuth = optional('mutual_auth', parseYesNo) ?? false;
    if (mutualAuth && !proxy.ssl) {
      const reason = `mutual authentication needs SSL but the proxy is http://${proxy.host}; use https://`;
      const value = readCell(cells, header, defaults, 'mutual_auth') ?? 'yes';
      throw new RowRejected('mutual_auth', value, reason, 'FR_ERR_ROW_FIELD_INVALID');
    }
    // A principal without mutual auth is not written to the PRF, so a campaign-wide default does not reject rows.
    const principal = mutualAuth ? (optional('principal', parsePrincipal) ?? `msstd:${proxy.host}`) : undefined;
    const httpFirstFast = optional('http_first_fast', parseYesNo) ?? false;
    const httpFirstSlow = optional('http_first_slow', parseYesNo) ?? true;
    const host = optional('host', parseWorkstation);
    const site = optional('site', (value) => remember(memo.sites, value.trim(), parseSite));
    const office = optional('office', parseOfficeVersion) ?? '11.0';
    const profileName = optional('profile_name', parseProfileName) ?? 'Outlook';

    // Built imperatively (no spreads): this runs 100k times a file.
    const spec: Mutable<UserSpec> = {
      username: name,
      mailbox,
      exchangeServer,
      proxyHost: proxy.host,
      ssl: proxy.ssl,
      auth,
      mutualAuth,
      httpFirstFast,
      httpFirstSlow,
      office,
      profileName,
    };
    if (email !== undefined) spec.email = email;
    if (displayName !== undefined) spec.displayName = displayName;
    if (principal !== undefined) spec.principal = principal;
    if (host !== undefined) spec.host = host;
    if (site !== undefined) spec.site = site;
    return { ok: true, row: { line, spec } };
  } catch (error) {
    if (!(error instanceof RowRejected)) throw error;
    const rejection: Mutable<Rejection> = {
      line,
      column: error.column,
      value: describeValue(error.value),
      reason: error.reason,
      code: error.code,
    };
    if (username !== undefined) rejection.username = username;
    return { ok: false, rejection };
  }
}
